"""The loop reports its I/O, threads and children, on both the headless and qasync loops."""

import asyncio
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from coroscope.control.run import Target
from coroscope.loop.events import ExecutorJob, IoChannel, IoData, IoWatch, SessionEvent, Subprocess

pytestmark = pytest.mark.timeout(30)


async def echo_once(payload: bytes) -> tuple[bytes, int]:
    async def handle(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    echoed = await reader.readline()
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return echoed, port


def crunch(n):
    time.sleep(0.05)
    return n * n


async def in_thread(loop):
    with ThreadPoolExecutor(1, thread_name_prefix="crunch") as pool:
        return await loop.run_in_executor(pool, crunch, 7)


CHILD = "import sys; print('one', flush=True); print('two', flush=True); sys.exit(3)"


async def child_output():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, stdout=asyncio.subprocess.PIPE
    )
    out = await proc.stdout.read()
    return out, await proc.wait(), proc.pid


def of(loop, kind):
    return [e for e in loop.events if isinstance(e, kind)]


async def until(condition, timeout=5.0):
    """Let the loop run until ``condition()`` holds; fail after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the loop never got there"
        await asyncio.sleep(0.01)


def job_states(loop, function):
    return [e.state for e in of(loop, ExecutorJob) if e.function == function]


def check_echo_events(loop, payload, port):
    listening = [e for e in of(loop, IoWatch) if e.added and e.label.startswith("listening")]
    assert listening and listening[0].label == f"listening on 127.0.0.1:{port}"
    channels = {e.channel: e.label for e in of(loop, IoChannel) if e.state == "open"}
    server = next(c for c, label in channels.items() if label.startswith("server"))
    client = next(c for c, label in channels.items() if label.startswith("client"))
    moved = {}
    for e in of(loop, IoData):
        moved[(e.channel, e.direction)] = moved.get((e.channel, e.direction), 0) + e.nbytes
    n = len(payload)
    assert moved == {(client, "out"): n, (server, "in"): n, (server, "out"): n, (client, "in"): n}
    assert {e.channel for e in of(loop, IoChannel) if e.state == "closed"} == {server, client}
    # every fd the echo used is no longer watched: only the self-pipe remains
    watched = {}
    for e in of(loop, IoWatch):
        watched[(e.fd, e.kind)] = e.added
    assert [key for key, on in watched.items() if on] == [(of(loop, IoWatch)[0].fd, "read")]


def check_job_events(loop):
    jobs = of(loop, ExecutorJob)
    assert [e.state for e in jobs] == ["submitted", "running", "done"]
    assert jobs[0].function == "crunch(7)"
    assert jobs[1].thread.startswith("crunch")
    assert jobs[2].detail == "49"


def check_child_events(loop, pid):
    procs = of(loop, Subprocess)
    assert [(e.state, e.pid, e.returncode) for e in procs] == [
        ("running", pid, None),
        ("exited", pid, 3),
    ]
    assert procs[0].command.startswith("python") and "-c" in procs[0].command
    channel = next(e.channel for e in of(loop, IoChannel) if e.label == f"pid {pid} stdout")
    stdout = [e for e in of(loop, IoData) if e.channel == channel]
    assert sum(e.nbytes for e in stdout) == len(b"one\ntwo\n")
    assert {e.direction for e in stdout} == {"in"}


def test_headless_tcp_echo_reports_watches_channels_and_bytes(headless):
    payload = b"hello over loopback\n"
    echoed, port = headless.run_until_complete(echo_once(payload))
    assert echoed == payload
    check_echo_events(headless, payload, port)


def test_headless_executor_job_reports_its_worker_and_result(headless):
    assert headless.run_until_complete(in_thread(headless)) == 49
    check_job_events(headless)


def test_headless_child_process_reports_pid_and_exit_code(headless):
    out, code, pid = headless.run_until_complete(child_output())
    assert (out, code) == (b"one\ntwo\n", 3)
    check_child_events(headless, pid)


def test_qasync_loop_reports_the_same(qtbot, qloop):
    payload = b"qt says hi\n"
    echo = qloop.create_task(echo_once(payload))
    qtbot.waitUntil(echo.done, timeout=5000)
    assert echo.result()[0] == payload
    check_echo_events(qloop, payload, echo.result()[1])
    job = qloop.create_task(in_thread(qloop))
    qtbot.waitUntil(job.done, timeout=5000)
    assert job.result() == 49
    check_job_events(qloop)
    child = qloop.create_task(child_output())
    qtbot.waitUntil(child.done, timeout=10000)
    out, code, pid = child.result()
    assert (out, code) == (b"one\ntwo\n", 3)
    check_child_events(qloop, pid)


def test_buffered_protocols_are_tapped_too(headless):
    class Sink(asyncio.BufferedProtocol):
        def __init__(self):
            self.buffer = bytearray(64)
            self.got = b""
            self.closed = headless.create_future()

        def get_buffer(self, sizehint):
            return self.buffer

        def buffer_updated(self, nbytes):
            self.got += bytes(self.buffer[:nbytes])

        def connection_lost(self, exc):
            self.closed.set_result(None)

    sink = Sink()

    async def main():
        server = await headless.create_server(lambda: sink, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"buffered bytes")
        writer.close()
        await sink.closed
        server.close()
        await server.wait_closed()

    headless.run_until_complete(main())
    assert sink.got == b"buffered bytes"
    received = [e for e in of(headless, IoData) if e.direction == "in"]
    assert sum(e.nbytes for e in received) == 14 and received[0].preview == "buffered bytes"


def test_to_thread_jobs_are_named_after_the_function(headless):
    async def main():
        return await asyncio.to_thread(crunch, 3)

    assert headless.run_until_complete(main()) == 9
    assert of(headless, ExecutorJob)[0].function == "crunch(3)"


def test_cancelling_the_awaiter_abandons_a_running_job_and_drops_a_queued_one(headless):
    gate = threading.Event()
    ran = []

    def hold(name):
        ran.append(name)
        gate.wait(5)
        return name

    async def main():
        pool = ThreadPoolExecutor(1, thread_name_prefix="solo")
        first = asyncio.ensure_future(headless.run_in_executor(pool, hold, "first"))
        second = asyncio.ensure_future(headless.run_in_executor(pool, hold, "second"))
        while not ran:
            await asyncio.sleep(0.01)
        first.cancel()
        second.cancel()
        await until(
            lambda: (
                job_states(headless, "hold('first')")[-1] == "abandoned"
                and job_states(headless, "hold('second')")[-1] == "cancelled"
            )
        )
        gate.set()
        pool.shutdown(wait=True)
        await until(lambda: job_states(headless, "hold('first')")[-1] == "done")

    headless.run_until_complete(main())
    assert ran == ["first"]
    states = {}
    for e in of(headless, ExecutorJob):
        states.setdefault(e.function, []).append(e.state)
    assert states["hold('first')"] == ["submitted", "running", "abandoned", "done"]
    assert states["hold('second')"] == ["submitted", "cancelled"]
    assert headless._external_jobs == 0


def test_stop_terminates_a_child_and_joins_a_thread_the_run_left(headless_controller):
    c = headless_controller
    loop = c.loop
    pool = ThreadPoolExecutor(1, thread_name_prefix="leftover")
    started = threading.Event()

    def busy():
        started.set()
        time.sleep(0.3)
        return "finished anyway"

    async def careless():
        # Starts a child and a thread job, never cleans either up, and is cancelled.
        await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(30)")
        loop.run_in_executor(pool, busy)
        await asyncio.sleep(3600)

    run = c.start(Target("careless", "Careless", __file__, careless))

    async def stop_when_busy():
        while not started.is_set() or not loop.outside.processes:
            await asyncio.sleep(0.01)
        await c.stop()

    loop.run_until_complete(asyncio.wait_for(stop_when_busy(), 10))
    pool.shutdown()
    exits = [e for e in of(loop, Subprocess) if e.state == "exited"]
    assert len(exits) == 1 and exits[0].returncode == -15  # SIGTERM: it went cleanly
    notes = [e.text for e in of(loop, SessionEvent)]
    assert any("terminated pid" in n and "exit code -15" in n for n in notes), notes
    assert any(n.startswith("■ joined leftover") for n in notes), notes
    assert [e.state for e in of(loop, ExecutorJob)][-1] == "done"
    assert run.main.cancelled()
    assert loop.outside.processes == {} and loop.outside.jobs == {}


def test_stop_closes_connections_the_run_left_open(headless_controller):
    c = headless_controller
    loop = c.loop

    async def handle(reader, writer):
        await reader.read()  # until the other end closes

    async def leaky():
        # Connects and never closes; Stop cancels the task but the socket stays.
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"left open")
        await asyncio.sleep(3600)

    c.start(Target("leaky", "Leaky", __file__, leaky))

    async def stop_when_connected():
        while not [e for e in of(loop, IoData) if e.direction == "in"]:
            await asyncio.sleep(0.01)
        await c.stop()
        # until the closed transports have reported connection_lost
        await until(
            lambda: (
                {e.channel for e in of(loop, IoChannel) if e.state == "open"}
                == {e.channel for e in of(loop, IoChannel) if e.state == "closed"}
            )
        )

    loop.run_until_complete(asyncio.wait_for(stop_when_connected(), 10))
    notes = [e.text for e in of(loop, SessionEvent) if "left open at Stop" in e.text]
    assert any(n.startswith("■ closed client :") for n in notes), notes
    assert any(n.startswith("■ stopped listening on 127.0.0.1:") for n in notes), notes
    watched = {}
    for e in of(loop, IoWatch):
        watched[(e.fd, e.kind)] = e.added
    assert sum(watched.values()) == 1  # only the loop's self-pipe is still watched
    opened = {e.channel for e in of(loop, IoChannel) if e.state == "open"}
    closed = {e.channel for e in of(loop, IoChannel) if e.state == "closed"}
    assert opened == closed  # both ends of the connection are closed now


def test_process_pool_jobs_run_unwrapped_and_are_still_reported(headless):
    from concurrent.futures import ProcessPoolExecutor

    async def main():
        with ProcessPoolExecutor(1) as pool:
            return await headless.run_in_executor(pool, pow, 2, 10)

    assert headless.run_until_complete(main()) == 1024  # a closure would not pickle
    jobs = of(headless, ExecutorJob)
    assert [(e.function, e.state) for e in jobs] == [
        ("pow(2, 10)", "submitted"),
        ("pow(2, 10)", "done"),
    ]
    assert jobs[-1].thread == "process pool" and jobs[-1].detail == "1024"
    assert headless._external_jobs == 0


def test_stop_kills_a_child_that_ignores_sigterm(headless_controller):
    c = headless_controller
    loop = c.loop
    stubborn = (
        "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(30)"
    )

    async def careless():
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", stubborn, stdout=asyncio.subprocess.PIPE
        )
        await proc.stdout.readline()  # SIGTERM is ignored from here on
        await asyncio.sleep(3600)

    c.start(Target("stubborn", "Stubborn child", __file__, careless))

    async def stop_when_ready():
        # "ready\n" may arrive in more than one chunk
        while sum(e.nbytes for e in of(loop, IoData)) < len(b"ready\n"):
            await asyncio.sleep(0.01)
        await c.stop()

    loop.run_until_complete(asyncio.wait_for(stop_when_ready(), 10))
    exits = [e.returncode for e in of(loop, Subprocess) if e.state == "exited"]
    assert exits == [-9]
    notes = [e.text for e in of(loop, SessionEvent)]
    assert any(n.startswith("■ killed pid") and "exit code -9" in n for n in notes), notes
