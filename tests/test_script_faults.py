"""Scripts that misbehave never take Coroscope down.

Headless: each misbehaviour ends in the expected task state with a readable
message, and the same controller then runs a demo normally. The watchdog tests
run a real blocking step on the main thread (the signal it uses only reaches
the main thread) with a short limit so they stay fast.
"""

import asyncio
import textwrap
import time
from pathlib import Path

import pytest
from coroscope.control.controller import Controller
from coroscope.control.targets import demo_target
from coroscope.loop.events import LoopBlocked
from coroscope.scripts.loader import resolve, script_of
from coroscope.scripts.runtime import NO_STDIN_MESSAGE
from coroscope.scripts.watchdog import Watchdog

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"

pytestmark = [
    pytest.mark.timeout(30),
    # The tutorial's asyncio.wait([hello()]) leaves hello() unawaited, as it does with python.
    pytest.mark.filterwarnings("ignore:coroutine 'hello' was never awaited:RuntimeWarning"),
]


@pytest.fixture
def capturing(headless):
    controller = Controller(headless, capture_output=True)
    yield controller
    controller.close()


@pytest.fixture
def watchdog(headless):
    dog = Watchdog(headless.tracer, interrupt_after=0.3, poll=0.02)
    dog.start()
    yield dog
    dog.stop()


def run(controller, path):
    target = resolve(str(path))
    task = controller.start(target).main
    controller.loop.run_until_complete(asyncio.wait([task]))
    return task


def write(tmp_path, text, name="script.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def row(controller, name):
    return controller.tasks.by_name(name)


def texts(controller, kind=None):
    return [line.text for line in controller.console.lines() if kind in (None, line.kind)]


def still_responds(controller):
    """The controller and loop still run a demo to the end afterwards."""
    controller.tasks.clear()
    task = controller.start(demo_target("hello")).main
    controller.loop.run_until_complete(task)
    assert "hello world!" in texts(controller, "stdout")
    assert row(controller, "main").state == "done"


# -- exceptions -------------------------------------------------------------------


def test_exception_in_a_task_fails_only_that_task(capturing):
    run(capturing, SAMPLES / "task_exception.py")
    divide = row(capturing, "divide")
    assert divide.state == "failed"
    assert divide.exception == "ZeroDivisionError: division by zero"
    assert divide.finished - row(capturing, "main").created == pytest.approx(1.0, abs=0.05)
    assert 'task_exception.py", line 9, in divide' in divide.traceback
    errors = [line for line in capturing.console.lines() if line.kind == "error"]
    assert errors and all(line.task == divide.id for line in errors)
    assert errors[-1].text == "ZeroDivisionError: division by zero"
    assert row(capturing, "steady").state == "done"
    assert "main saw: ZeroDivisionError('division by zero')" in texts(capturing)
    still_responds(capturing)


def test_crash_at_the_top_level_points_at_the_line(capturing, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio

        settings = {"delay": 1}
        print(settings["dealy"])
        """,
    )
    task = run(capturing, path)
    assert row(capturing, "main").exception == "KeyError: 'dealy'"
    problem = script_of(capturing.target).outcome
    assert (problem.line, problem.title) == (4, "KeyError: 'dealy'")
    assert problem.source_line[problem.column - 1 : problem.end_column - 1] == ('settings["dealy"]')
    # the traceback starts in the script, as with python, not in Coroscope
    assert task.exception().__traceback__.tb_frame.f_code.co_filename == str(path)
    assert any("stopped with an error at line 4" in t for t in texts(capturing, "error"))
    still_responds(capturing)


def test_old_tutorial_code_gets_a_hint(capturing, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio

        async def hello():
            print("hello")

        loop = asyncio.get_event_loop()
        loop.run_until_complete(asyncio.wait([hello()]))
        """,
    )
    run(capturing, path)
    problem = script_of(capturing.target).outcome
    assert problem.line == 7
    assert "Passing coroutines is forbidden" in problem.title
    assert "asyncio.create_task" in problem.hint
    assert any(t.startswith("Hint: Since Python 3.11") for t in texts(capturing))


def test_asyncio_run_inside_a_method_is_explained(capturing, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio

        async def main():
            pass

        class App:
            def start(self):
                asyncio.run(main())

        App().start()
        """,
    )
    run(capturing, path)
    problem = script_of(capturing.target).outcome
    assert problem.line == 8
    assert "cannot be called from a running event loop" in problem.title
    assert "top level" in problem.hint


# -- sys.exit, KeyboardInterrupt, input ------------------------------------------------


def test_sys_exit_ends_the_script_not_the_app(capturing):
    run(capturing, SAMPLES / "sys_exit.py")
    main = row(capturing, "main")
    assert main.state == "done"
    assert main.finished - main.created == pytest.approx(1.0, abs=0.05)
    problem = script_of(capturing.target).outcome
    assert problem.kind == "info"
    assert problem.headline == (
        "sys_exit.py called sys.exit(0) at line 11, so the script ended there. "
        "Coroscope keeps running."
    )
    assert problem.headline in texts(capturing, "session")
    still_responds(capturing)


def test_sys_exit_and_keyboard_interrupt_in_other_tasks_end_only_those(capturing, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio, sys

        async def quitter():
            await asyncio.sleep(0.5)
            sys.exit(3)

        async def interrupted():
            await asyncio.sleep(0.7)
            raise KeyboardInterrupt

        async def main():
            asyncio.get_running_loop().call_later(0.2, sys.exit, 4)
            quitting = asyncio.create_task(quitter(), name="quitter")
            stopping = asyncio.create_task(interrupted(), name="interrupted")
            await asyncio.sleep(1)
            print("main still running", quitting.done(), stopping.done())

        asyncio.run(main())
        """,
    )
    run(capturing, path)
    assert row(capturing, "quitter").state == "failed"
    assert row(capturing, "quitter").exception == "SystemExit: 3"
    assert row(capturing, "interrupted").exception == "KeyboardInterrupt: "
    assert row(capturing, "main").state == "done"
    assert "main still running True True" in texts(capturing, "stdout")
    stderr = texts(capturing, "stderr")
    assert "sys.exit() in quitter ended only that task" in stderr
    assert "KeyboardInterrupt in interrupted ended only that task" in stderr
    assert "sys.exit() in exit ended only that callback" in stderr
    still_responds(capturing)


def test_input_fails_at_once_with_a_clear_message(capturing):
    started = time.monotonic()
    run(capturing, SAMPLES / "input_call.py")
    assert time.monotonic() - started < 5  # never waits on a terminal
    main = row(capturing, "main")
    assert main.state == "failed"
    assert main.exception == f"StdinUnavailableError: {NO_STDIN_MESSAGE}"
    problem = script_of(capturing.target).outcome
    assert problem.line == 8 and "input(" in problem.source_line
    still_responds(capturing)


# -- the loop belongs to the app ---------------------------------------------------------


def test_script_cannot_close_or_stop_the_apps_loop(capturing, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio

        async def main():
            loop = asyncio.get_event_loop()
            loop.close()
            loop.stop()
            print("still running:", asyncio.get_running_loop().is_running())

        asyncio.run(main())
        loop = asyncio.new_event_loop()
        loop.close()
        """,
    )
    run(capturing, path)
    assert texts(capturing, "stdout") == ["still running: True"]
    assert not capturing.loop.is_closed()
    still_responds(capturing)


# -- floods ----------------------------------------------------------------------------------


def test_print_flood_keeps_the_console_bounded(capturing):
    run(capturing, SAMPLES / "print_flood.py")
    console = capturing.console
    assert len(console.lines()) == console.capacity
    assert console.dropped >= 100_001 - console.capacity
    assert texts(capturing, "stdout")[-2:] == ["line 99999", "flood over"]
    assert len(capturing.events) <= capturing.events.capacity
    still_responds(capturing)


# -- blocking ------------------------------------------------------------------------------


def test_time_sleep_is_interrupted_and_its_line_reported(capturing, watchdog):
    started = time.monotonic()
    run(capturing, SAMPLES / "blocking_sleep.py")
    assert time.monotonic() - started < 10  # not the 30 s it asked for
    sleeper = row(capturing, "sleeper")
    assert sleeper.state == "failed"
    assert sleeper.exception.startswith("BlockingInterrupted: sleeper blocked the loop for 0.")
    assert sleeper.exception.endswith("s at blocking_sleep.py:20; interrupted")
    # the other task went on ticking once the loop was free again
    assert "tick 4" in texts(capturing, "stdout")
    blocked = [e for e in capturing.events.of_type(LoopBlocked) if e.task == sleeper.id]
    assert [(Path(e.file).name, e.line) for e in blocked] == [("blocking_sleep.py", 20)]
    assert 0.25 < blocked[0].wall < 2.0
    (interruption,) = watchdog.interruptions
    assert (interruption.what, interruption.line) == ("sleeper", 20)
    still_responds(capturing)


def test_busy_loop_is_interrupted(capturing, watchdog):
    run(capturing, SAMPLES / "busy_loop.py")
    main = row(capturing, "main")
    assert main.state == "failed"
    assert "main blocked the loop for" in main.exception
    assert watchdog.interruptions[-1].line in (12, 13)  # the while loop's lines
    still_responds(capturing)


def test_busy_loop_that_swallows_everything_is_still_interrupted(capturing, watchdog, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio, time

        async def stubborn():
            while True:
                try:
                    time.sleep(0.05)
                except:
                    pass

        asyncio.run(stubborn())
        """,
    )
    run(capturing, path)
    main = row(capturing, "main")
    assert main.state == "failed"
    assert main.exception.startswith("BlockingInterrupted: main blocked the loop")
    still_responds(capturing)


def test_print_flood_without_await_is_interrupted_safely(capturing, watchdog, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio

        async def main():
            await asyncio.sleep(0.1)
            number = 0
            while True:
                print("flood", number)
                number += 1

        asyncio.run(main())
        """,
    )
    run(capturing, path)
    main = row(capturing, "main")
    assert main.state == "failed"
    assert main.exception.startswith("BlockingInterrupted: main blocked the loop")
    # the interrupt landed in the script, never inside the console capture
    assert main.traceback.count("script.py") >= 1
    assert "control/output.py" not in main.traceback
    still_responds(capturing)


def test_stop_interrupts_a_task_that_blocks_while_unwinding(capturing, watchdog, tmp_path):
    watchdog.interrupt_after = None  # only a Stop may interrupt here
    watchdog.hurry = lambda: capturing.run is not None and capturing.run.stopped
    path = write(
        tmp_path,
        """\
        import asyncio, time

        async def main():
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                time.sleep(30)
                raise

        asyncio.run(main())
        """,
    )
    task = capturing.start(resolve(str(path))).main

    async def parked():  # until main waits in its sleep(60), where Stop will find it
        while (main := row(capturing, "main")) is None or main.state != "sleep":
            await asyncio.sleep(0.01)

    capturing.loop.run_until_complete(asyncio.wait_for(parked(), 10))
    started = time.monotonic()
    stubborn = capturing.loop.run_until_complete(capturing.stop())
    assert time.monotonic() - started < 10
    assert stubborn == []
    assert task.done()
    assert "blocked the loop" in row(capturing, "main").exception
    still_responds(capturing)


def test_short_blocks_are_reported_but_not_interrupted(capturing, watchdog, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio, time

        async def main():
            for _ in range(2):
                time.sleep(0.15)
                await asyncio.sleep(0)
            print("finished")

        asyncio.run(main())
        """,
    )
    run(capturing, path)
    assert row(capturing, "main").state == "done"
    blocked = capturing.events.of_type(LoopBlocked)
    assert [e.line for e in blocked] == [5, 5]
    assert not watchdog.interruptions


def test_stopped_watchdog_leaves_no_thread_or_handler(headless):
    import signal
    import threading

    before = signal.getsignal(signal.SIGUSR2)
    dog = Watchdog(headless.tracer)
    dog.start()
    assert dog.can_interrupt
    assert any(t.name == "coroscope-watchdog" for t in threading.enumerate())
    dog.stop()
    assert not any(t.name == "coroscope-watchdog" for t in threading.enumerate())
    assert signal.getsignal(signal.SIGUSR2) == before
