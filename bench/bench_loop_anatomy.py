"""What the loop anatomy costs, measured side by side in one run.

    python -m bench.bench_loop_anatomy

1. I/O taps: echo 8 MiB through a loopback stream on a traced HeadlessLoop
   (taps on), the same loop with trace=False (no taps) and a plain asyncio loop.
2. Executor jobs: 2,000 no-op run_in_executor calls, traced vs untraced vs plain.
3. The Loop panel's frame: window.tick() and the repaint it causes, with the
   panel hidden (tab behind Code) and shown, with 10 and 500 live timers.
4. How late a 50 ms ticker fires in the running app, panel hidden vs shown.

Prints times and ratios; nothing here asserts, because timings belong in a
benchmark, not in a test.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from coroscope.loop.traced_loop import HeadlessLoop

PAYLOAD = 8 * 1024 * 1024
FRAME = 0.033
CHUNK = 16 * 1024


async def echo_bytes(total: int) -> float:
    async def handle(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    chunk = b"x" * CHUNK
    started = time.perf_counter()

    async def pump():
        for _ in range(total // CHUNK):
            writer.write(chunk)
            await writer.drain()
        writer.write_eof()

    sender = asyncio.create_task(pump())
    received = 0
    while received < total:
        data = await reader.read(65536)
        if not data:
            break
        received += len(data)
    elapsed = time.perf_counter() - started
    await sender
    writer.close()
    server.close()
    await server.wait_closed()
    assert received == total
    return elapsed


async def executor_jobs(count: int) -> float:
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(4) as pool:
        started = time.perf_counter()
        for _ in range(count // 100):
            await asyncio.gather(*(loop.run_in_executor(pool, int) for _ in range(100)))
        return time.perf_counter() - started


def timed(make_loop, coro_fn, *args, repeat=5) -> float:
    best = []
    for _ in range(repeat):
        loop = make_loop()
        try:
            best.append(loop.run_until_complete(coro_fn(*args)))
        finally:
            loop.close()
    return min(best)


def loops():
    return {
        "traced (taps on)": lambda: HeadlessLoop(),
        "trace=False": lambda: HeadlessLoop(trace=False),
        "plain asyncio": asyncio.SelectorEventLoop,
    }


def bench_io() -> None:
    print(f"1) echo {PAYLOAD // 1048576} MiB over loopback in {CHUNK // 1024} KiB writes")
    results = {name: timed(make, echo_bytes, PAYLOAD) for name, make in loops().items()}
    base = results["plain asyncio"]
    for name, seconds in results.items():
        rate = PAYLOAD / seconds / 1048576
        print(f"   {name:<18} {seconds * 1000:7.1f} ms  {rate:7.0f} MiB/s  x{seconds / base:.2f}")


def bench_jobs() -> None:
    count = 2000
    print(f"2) {count} no-op run_in_executor jobs (4 workers)")
    results = {name: timed(make, executor_jobs, count) for name, make in loops().items()}
    base = results["plain asyncio"]
    for name, seconds in results.items():
        per = seconds / count * 1e6
        print(f"   {name:<18} {seconds * 1000:7.1f} ms  {per:6.1f} us/job  x{seconds / base:.2f}")


def bench_panel() -> None:
    from coroscope.control.controller import Controller
    from coroscope.control.run import Target
    from coroscope.widgets.features.loop_anatomy import LoopAnatomyPanel
    from coroscope.widgets.shell.gui import make_application
    from coroscope.widgets.shell.main_window import MainWindow
    from coroscope.widgets.shell.qt_loop import TracingLoop
    from PySide6.QtWidgets import QDockWidget

    app = make_application()
    print("3) one frame: window.tick() + the repaint it causes, Loop panel hidden vs shown")
    for count in (10, 500):
        loop = TracingLoop(app, already_running=True)
        asyncio.set_event_loop(loop)
        controller = Controller(loop, capture_output=False)
        window = MainWindow(controller, None)
        window.resize(1500, 950)
        window.show()
        window.frame_timer.stop()

        async def main(n=count):
            loop = asyncio.get_running_loop()
            for i in range(n):
                loop.call_later(30 + i * 0.01, int)
            await asyncio.sleep(60)

        run = controller.start(Target("bench", "bench", __file__, main))
        for _ in range(20):
            app.processEvents()
        panel = window.findChild(LoopAnatomyPanel)
        costs = {}
        for shown in (False, True):
            dock = window.findChild(QDockWidget, "loop_dock" if shown else "code_dock")
            dock.raise_()
            app.processEvents()
            samples = []
            for frame in range(70):
                started = time.perf_counter()
                window.tick()
                app.processEvents()  # paints what tick() marked dirty, as Qt would
                spent = time.perf_counter() - started
                if frame >= 10:  # the first frames lay out and warm caches
                    samples.append(spent)
                time.sleep(max(0.0, FRAME - spent))  # frames come 33 ms apart in the app
            costs[shown] = statistics.fmean(samples)
        assert panel.showing()
        print(
            f"   {count:4d} timers: hidden {costs[False] * 1000:5.1f} ms, "
            f"shown {costs[True] * 1000:5.1f} ms per frame on average "
            f"(x{costs[True] / costs[False]:.2f}; a frame every 33 ms)"
        )
        run.main.cancel()
        for _ in range(20):
            app.processEvents()
        window.close()
        loop._QEventLoop__is_running = False
        asyncio.events._set_running_loop(None)
        loop.close()


def bench_lag(seconds: float = 3.0) -> None:
    """How late a 50 ms ticker fires in the real app loop, panel hidden vs shown."""
    from coroscope.control.controller import Controller
    from coroscope.control.run import Target
    from coroscope.control.shutdown import close_loop
    from coroscope.widgets.shell.gui import make_application
    from coroscope.widgets.shell.main_window import MainWindow
    from coroscope.widgets.shell.qt_loop import TracingLoop
    from PySide6.QtWidgets import QDockWidget

    app = make_application()
    print(f"4) a 50 ms ticker for {seconds:g} s in the running app (qasync), lateness")
    results = {}
    for shown in (False, True):
        loop = TracingLoop(app)
        asyncio.set_event_loop(loop)
        controller = Controller(loop, capture_output=False)
        window = MainWindow(controller, None)
        window.resize(1500, 950)
        window.show()
        window.findChild(QDockWidget, "loop_dock" if shown else "code_dock").raise_()
        late: list[float] = []

        async def main(late=late):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            while loop.time() < deadline:
                due = loop.time() + 0.05
                await asyncio.sleep(0.05)
                late.append(loop.time() - due)

        run = controller.start(Target("ticker", "Ticker", __file__, main))
        loop.run_until_complete(run.main)
        window.close()
        close_loop(loop, controller)
        late.sort()
        results[shown] = (late[len(late) // 2], late[int(len(late) * 0.99)])
    for shown, (p50, p99) in results.items():
        name = "shown " if shown else "hidden"
        print(f"   panel {name}  p50 {p50 * 1000:5.1f} ms   p99 {p99 * 1000:5.1f} ms")
    ratio = results[True][1] / max(results[False][1], 1e-6)
    print(f"   p99 shown / hidden: x{ratio:.2f}")


if __name__ == "__main__":
    bench_io()
    bench_jobs()
    if "--no-gui" not in sys.argv:
        bench_panel()
        bench_lag()
