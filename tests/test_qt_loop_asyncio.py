"""The Qt loop behaves as asyncio's own loop where qasync does not.

Each test here failed on ``TracingLoop`` over plain qasync 0.28 (CPython's asyncio
tests found them; docs/CONFORMANCE.md, "What changed since the first run"):
thread-safe calls, the executor, ``run_until_complete`` and ``run_forever``, errors,
async generators, stepping by hand and a loop run on a worker thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(30)

var: contextvars.ContextVar[str] = contextvars.ContextVar("coroscope_test_var", default="unset")


@pytest.fixture
def loop(qapp):
    """A Qt loop that is not running: the tests run it with run_until_complete()."""
    from coroscope.widgets.shell.qt_loop import TracingLoop

    loop = TracingLoop(qapp)
    asyncio.set_event_loop(None)  # no current loop, as asyncio's own tests run
    yield loop
    if not loop.is_closed():
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=5))
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
    asyncio.set_event_loop(None)


def _in_thread(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name="test-worker")
    thread.start()
    return thread


# -- call_soon_threadsafe ---------------------------------------------------------


def test_call_soon_threadsafe_from_a_thread_keeps_order_with_a_later_call_soon(qtbot, qloop):
    seen: list[str] = []
    called = threading.Event()

    def worker():
        qloop.call_soon_threadsafe(seen.append, "hello")
        called.set()

    thread = _in_thread(worker)
    assert called.wait(5)
    qloop.call_soon(seen.append, "world")
    qtbot.waitUntil(lambda: len(seen) == 2)
    thread.join()
    assert seen == ["hello", "world"]


def test_call_soon_threadsafe_returns_a_handle_that_cancels(qtbot, qloop):
    seen: list[str] = []
    handles: list[object] = []

    def worker():
        handles.append(qloop.call_soon_threadsafe(seen.append, "cancelled"))
        handles[0].cancel()
        handles.append(qloop.call_soon_threadsafe(seen.append, "ran"))

    _in_thread(worker).join()
    assert all(isinstance(h, asyncio.Handle) for h in handles)
    assert len(handles) == 2
    qtbot.waitUntil(lambda: seen == ["ran"])
    assert handles[0].cancelled()


def test_call_soon_threadsafe_runs_the_callback_in_the_given_context(qtbot, qloop):
    context = contextvars.copy_context()
    context.run(var.set, "given")
    seen: list[str] = []
    handle = qloop.call_soon_threadsafe(lambda: seen.append(var.get()), context=context)
    assert isinstance(handle, asyncio.Handle)
    qtbot.waitUntil(lambda: seen == ["given"])


def test_run_coroutine_threadsafe_keeps_the_worker_threads_contextvars(qtbot, qloop):
    results: list[str] = []

    async def read():
        await asyncio.sleep(0)
        return var.get()

    def worker():
        var.set("worker")
        results.append(asyncio.run_coroutine_threadsafe(read(), qloop).result(10))

    thread = _in_thread(worker)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    thread.join()
    assert results == ["worker"]


def test_call_soon_threadsafe_wakes_a_loop_that_waits_for_nothing_else(loop):
    # run_forever with nothing ready and no timer: only the thread's call wakes it.
    handles: list[object] = []
    threads: list[threading.Thread] = []

    def start():
        threads.append(_in_thread(lambda: handles.append(loop.call_soon_threadsafe(loop.stop))))

    loop.call_soon(start)
    started = time.monotonic()
    loop.run_forever()
    threads[0].join()
    assert time.monotonic() - started < 5
    assert isinstance(handles[0], asyncio.Handle)


# -- errors go where asyncio sends them -------------------------------------------


def test_errors_reach_asyncios_logger(qtbot, qloop, caplog):
    def broken():
        raise ValueError("broken on purpose")

    caplog.set_level(logging.ERROR)
    qloop.call_soon(broken)

    def logged():
        return [r for r in caplog.records if r.exc_info and r.exc_info[0] is ValueError]

    qtbot.waitUntil(lambda: bool(logged()))
    (record,) = logged()
    assert record.name == "asyncio"
    assert "Exception in callback" in record.getMessage()


def test_get_exception_handler_returns_the_one_set(qloop):
    def handler(loop, context):
        pass

    assert qloop.get_exception_handler() is None
    qloop.set_exception_handler(handler)
    assert qloop.get_exception_handler() is handler
    with pytest.raises(TypeError):
        qloop.set_exception_handler("not callable")


def _steps_during_run_briefly(loop: asyncio.AbstractEventLoop) -> int:
    steps = 0

    async def counter():
        nonlocal steps
        while True:
            steps += 1
            await asyncio.sleep(0)

    task = loop.create_task(counter())
    loop.run_until_complete(asyncio.sleep(0))  # test_utils.run_briefly, near enough
    counted = steps
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        loop.run_until_complete(task)
    return counted


def test_run_until_complete_stops_as_soon_as_asyncio_does(loop):
    reference = asyncio.new_event_loop()
    try:
        expected = _steps_during_run_briefly(reference)
    finally:
        reference.close()
    assert expected == 3
    assert _steps_during_run_briefly(loop) == expected


def test_no_callback_runs_after_run_until_complete_returns(qapp, loop):
    seen: list[str] = []

    async def main():
        loop.call_later(0.001, seen.append, "too late")
        return "done"

    assert loop.run_until_complete(main()) == "done"
    deadline = time.monotonic() + 0.05
    while time.monotonic() < deadline:
        qapp.processEvents()  # Qt runs on, but the asyncio loop is not running
    assert seen == []
    loop.run_until_complete(asyncio.sleep(0.01))
    assert seen == ["too late"]


def test_loop_time_stays_put_once_run_until_complete_returns(qapp):
    # With autojump, idle time is skipped; once stopped, nothing is idle time:
    # the clock must not leap on to a timer that no run is waiting for.
    from coroscope.widgets.shell.qt_loop import TracingLoop

    loop = TracingLoop(qapp, autojump=True)
    try:
        later = loop.create_task(asyncio.sleep(10))
        start = loop.time()
        loop.run_until_complete(asyncio.sleep(0.1))
        assert 0.1 <= loop.time() - start < 2  # (loop time follows real time)
        deadline = time.monotonic() + 0.05
        while time.monotonic() < deadline:
            qapp.processEvents()
        loop.call_soon(lambda: None)  # a wake-up while stopped must not jump either
        assert loop.time() - start < 2
        later.cancel()
        with pytest.raises(asyncio.CancelledError):
            loop.run_until_complete(later)
    finally:
        loop.close()


def test_run_forever_on_a_closed_loop_raises_runtime_error(loop):
    loop.close()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.run_forever()
    future = loop.create_future()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.run_until_complete(future)


def test_a_loop_cannot_run_inside_another_running_loop(qapp, qloop):
    from coroscope.widgets.shell.qt_loop import TracingLoop

    other = TracingLoop(qapp)
    coro = asyncio.sleep(0)
    try:
        with pytest.raises(RuntimeError, match="while another loop is running"):
            other.run_until_complete(coro)
        with pytest.raises(RuntimeError, match="while another loop is running"):
            other.run_forever()
    finally:
        coro.close()
        other.close()


def test_nested_run_until_complete_from_a_task_is_refused(loop):
    inner = asyncio.sleep(0)

    async def outer():
        with pytest.raises(RuntimeError, match="This event loop is already running"):
            loop.run_until_complete(inner)
        return "refused"

    try:
        assert loop.run_until_complete(outer()) == "refused"
    finally:
        inner.close()


def test_stop_before_run_forever_runs_one_iteration(loop):
    seen: list[int] = []

    def again(n):
        seen.append(n)
        if n < 100:
            loop.call_soon(again, n + 1)
        else:
            loop.stop()  # (before: stop() then run_forever() ran until this one)

    loop.call_soon(again, 0)
    loop.stop()
    loop.run_forever()
    assert seen == [0]


SYSTEM_EXIT = """
import asyncio, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
from coroscope.widgets.shell.qt_loop import TracingLoop

app = QApplication([])
loop = TracingLoop(app)

async def leaves():
    await asyncio.sleep(0)
    raise SystemExit(7)

try:
    loop.run_until_complete(leaves())
except SystemExit as exc:
    print("caught SystemExit", exc.code, flush=True)

def interrupt():
    raise KeyboardInterrupt

loop.call_soon(interrupt)
try:
    loop.run_forever()
except KeyboardInterrupt:
    print("caught KeyboardInterrupt", flush=True)
print("still runs:", loop.run_until_complete(asyncio.sleep(0.01, "yes")), flush=True)
loop.close()
"""


def test_system_exit_and_keyboard_interrupt_come_out_of_the_run():
    # In a child: before, SystemExit escaped into Qt and ended the whole process.
    out = subprocess.run(
        [sys.executable, "-c", SYSTEM_EXIT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=25,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "caught SystemExit 7",
        "caught KeyboardInterrupt",
        "still runs: yes",
    ], out.stderr
    assert "Traceback" not in out.stderr


# -- the executor ---------------------------------------------------------------


def test_run_in_executor_needs_no_current_loop_and_close_does_not_wait(loop):
    assert loop.run_until_complete(loop.run_in_executor(None, sum, [1, 2, 3])) == 6

    release = threading.Event()
    busy = loop.run_in_executor(None, release.wait, 20)
    assert busy.get_loop() is loop
    try:
        started = time.monotonic()
        loop.close()  # asyncio's close() shuts the default executor down without waiting
        assert time.monotonic() - started < 2
    finally:
        release.set()


def test_shutdown_default_executor_ends_its_threads(loop):
    def where():
        return threading.current_thread()

    worker = loop.run_until_complete(loop.run_in_executor(None, where))
    assert worker is not threading.main_thread()
    loop.run_until_complete(loop.shutdown_default_executor())
    assert not worker.is_alive()
    with pytest.raises(RuntimeError, match="shutdown"):
        loop.run_in_executor(None, where)


def test_run_in_executor_on_the_running_qt_loop_uses_asyncios_default_executor(qtbot, qloop):
    future = qloop.run_in_executor(None, threading.current_thread)
    qtbot.waitUntil(future.done)
    worker = future.result()
    assert worker.name.startswith("asyncio")  # a ThreadPoolExecutor's, as asyncio names them
    done = qloop.create_task(qloop.shutdown_default_executor())
    qtbot.waitUntil(done.done)
    assert done.exception() is None
    assert not worker.is_alive()


# -- async generators ----------------------------------------------------------------


def test_an_async_generator_left_by_break_is_finalized_at_once(qtbot, qloop):
    said: list[str] = []

    async def ticks():
        try:
            yield 1
            yield 2
        finally:
            await asyncio.sleep(0)  # needs the loop: only aclose() in a task can do it
            said.append("closed")

    async def use():
        async for _ in ticks():
            break
        said.append("left")

    qloop.create_task(use())
    qtbot.waitUntil(lambda: said == ["left", "closed"])


def test_shutdown_asyncgens_closes_an_abandoned_generator(loop):
    said: list[str] = []
    kept: list[object] = []

    async def ticks():
        try:
            yield 1
            yield 2
        finally:
            await asyncio.sleep(0)
            said.append("closed")

    async def use():
        gen = ticks()
        kept.append(gen)  # still referenced: only shutdown_asyncgens() can close it
        async for _ in gen:
            break

    loop.run_until_complete(use())
    assert said == []
    loop.run_until_complete(loop.shutdown_asyncgens())
    assert said == ["closed"]


def test_asyncgen_hooks_are_the_loops_only_while_it_runs(loop):
    before = sys.get_asyncgen_hooks()
    during: list[object] = []

    async def look():
        during.append(sys.get_asyncgen_hooks())

    loop.run_until_complete(look())
    assert during[0].firstiter == loop._asyncgen_firstiter_hook
    assert during[0].finalizer == loop._asyncgen_finalizer_hook
    assert sys.get_asyncgen_hooks() == before


# -- stepping by hand ------------------------------------------------------------------


def test_run_once_steps_the_loop_by_hand(loop):
    seen: list[str] = []
    loop.call_soon(seen.append, "soon")
    loop.call_later(0.02, seen.append, "later")
    loop._run_once()
    assert seen == ["soon"]
    assert len(loop._ready) == 0
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        loop._run_once()
    assert seen == ["soon", "later"]


def test_run_until_complete_from_a_qt_slot_while_qt_runs_its_own_loop(qapp, loop):
    # QApplication.exec() refuses to start inside another Qt loop (here, as in a
    # modal dialog's slot, or a child forked from a running loop): run a local one.
    from PySide6.QtCore import QEventLoop, QTimer

    results: list[object] = []
    outer = QEventLoop()

    def slot():
        try:
            results.append(loop.run_until_complete(asyncio.sleep(0.05, "slept")))
        finally:
            outer.exit()

    QTimer.singleShot(0, slot)
    outer.exec()
    assert results == ["slept"]
    assert not loop.is_running()


def test_a_loop_made_and_run_on_a_worker_thread_runs_there(qapp, loop):
    # Only the main thread may run QApplication.exec(): asyncio.run() on a worker
    # thread (as asyncio.to_thread(asyncio.run, ...) does) runs a local Qt loop
    # there, with its timers, file descriptors and executor.
    import os

    from coroscope.widgets.shell.qt_loop import TracingLoop

    async def work() -> tuple[str, bytes, int]:
        await asyncio.sleep(0.01)
        running = asyncio.get_running_loop()
        read, write = os.pipe()
        got = running.create_future()
        running.add_reader(read, lambda: got.set_result(os.read(read, 10)))
        threading.Timer(0.02, os.write, (write, b"hi")).start()
        try:
            data = await got
        finally:
            running.remove_reader(read)
            os.close(read)
            os.close(write)
        answer = await running.run_in_executor(None, lambda: 42)
        return threading.current_thread().name, data, answer

    def in_thread() -> tuple[str, bytes, int]:
        with asyncio.Runner(loop_factory=lambda: TracingLoop(qapp)) as runner:
            return runner.run(work())

    async def main() -> tuple[str, bytes, int]:
        return await asyncio.to_thread(in_thread)

    name, data, answer = loop.run_until_complete(main())
    assert name != threading.current_thread().name
    assert (data, answer) == (b"hi", 42)
