"""The no-leaks fixture can actually see leaks (a check that never fires is no check)."""

import subprocess
import sys
import threading

import pytest
from PySide6.QtCore import QTimer

from tests.conftest import _child_pids, _running_timers


@pytest.mark.allow_leaks
def test_running_timers_are_seen(qapp):
    timer = QTimer()
    timer.start(10_000)
    try:
        assert timer in _running_timers()
    finally:
        timer.stop()
    assert timer not in _running_timers()


@pytest.mark.allow_leaks
def test_child_processes_are_seen():
    before = _child_pids()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in _child_pids() - before
    finally:
        child.kill()
        child.wait()
    assert child.pid not in _child_pids()


@pytest.mark.allow_leaks
def test_threads_are_seen():
    stop = threading.Event()
    before = set(threading.enumerate())
    worker = threading.Thread(target=stop.wait, name="leaky")
    worker.start()
    try:
        assert [t.name for t in threading.enumerate() if t not in before] == ["leaky"]
    finally:
        stop.set()
        worker.join()
