"""The narrator rests while nobody reads it and catches up from the log's ring."""

import asyncio

from coroscope.loop.events import EventLog, TaskCreated, TaskEnded, TaskStep
from coroscope.loop.traced_loop import HeadlessLoop
from coroscope.models.narration import Narrator


async def _story() -> None:
    loop = asyncio.get_running_loop()

    async def napper(n: int) -> int:
        for _ in range(n):
            await asyncio.sleep(0.1)
        await asyncio.sleep(0)  # a bare yield: packed in the ring, not a tuple
        return n

    async def sleeper() -> None:
        await asyncio.sleep(60)

    def callback() -> None:
        pass

    doomed = asyncio.create_task(sleeper(), name="doomed")
    loop.call_later(0.05, callback)
    results = await asyncio.gather(*(napper(n) for n in range(1, 4)))
    doomed.cancel()
    await asyncio.sleep(0)
    assert results == [1, 2, 3]


def _narrators(log: EventLog) -> tuple[Narrator, Narrator]:
    live, resting = Narrator(runs_only=False), Narrator(runs_only=False)
    live.listen_to(log)
    resting.listen_to(log)
    resting.rest()
    return live, resting


def test_a_resting_narrator_reads_back_what_a_listening_one_heard(headless):
    live, resting = _narrators(headless.events)
    headless.run_until_complete(_story())
    assert resting.resting
    texts = live.texts()
    assert len(texts) > 25
    assert any("yielded to the loop" in text for text in texts)
    assert any("timer fired: " in text and "runs next" in text for text in texts)
    assert any("was cancelled" in text for text in texts)
    assert resting.texts() == texts
    assert resting.resting  # reading catches up without listening again
    assert [line.seq for line in resting.lines()] == [line.seq for line in live.lines()]


def test_resting_and_waking_between_runs_misses_nothing(headless):
    live, narrator = _narrators(headless.events)
    narrator.wake()
    headless.run_until_complete(_story())
    narrator.rest()
    headless.run_until_complete(_story())
    narrator.wake()
    assert not narrator.resting
    headless.run_until_complete(_story())
    assert narrator.texts() == live.texts()
    assert len(live.texts()) > 75
    # A clear while resting forgets what came before it, as a listening one does.
    narrator.rest()
    headless.run_until_complete(_story())
    live.clear()
    narrator.clear()
    headless.run_until_complete(_story())
    assert narrator.texts() == live.texts()
    assert live.texts() and narrator.version == narrator.last_seq


def test_a_narrator_resting_past_the_ring_says_so_and_names_tasks_it_was_told():
    log = EventLog(capacity=10)
    narrator = Narrator(runs_only=False)
    narrator.listen_to(log)
    narrator.rest()
    for task in range(1, 21):
        log.emit(TaskCreated(task, task, f"t{task}", None, "work", ()))
    for task in range(1, 21):  # only the last ten survive in the ring
        log.emit(TaskStep(30 + task, task, 30, 0.1, "future", "a future", None, ()))
    narrator.known_names = lambda: {task: f"t{task}" for task in range(1, 21)}
    assert len(narrator) == 11  # a read catches up as a wake does
    narrator.wake()
    texts = narrator.texts()
    assert texts[0] == "… 30 events went by unnarrated (the Narration panel was hidden)"
    assert texts[1:] == [f"t{task} awaits a future" for task in range(11, 21)]
    log.emit(TaskEnded(60, 20, "done", "None", None, None))
    assert narrator.texts()[-1] == "t20 finished and returned None"


def test_replay_counts_what_the_ring_dropped():
    log = EventLog(capacity=4)
    heard = []
    log.subscribe(heard.append)
    for task in range(10):
        log.emit(TaskCreated(task, task, f"t{task}", None, "work", ()))
    assert log.delivered == 10
    lost, events = log.replay(3, 8)
    assert lost == 3 and [e.task for e in events] == [6, 7]
    assert log.replay(8, 8) == (0, [])
    assert log.replay(0, 3) == (3, [])
    with log.hold:
        log.emit(TaskCreated(10, 10, "t10", None, "work", ()))
        assert log.delivered == 10  # held back from listeners: not delivered yet
    assert log.delivered == 11 and len(heard) == 11


def test_reading_a_resting_narrator_from_inside_a_step_matches_a_listening_one(headless):
    live, resting = _narrators(headless.events)
    seen = []

    async def reader() -> None:
        for _ in range(3):
            await asyncio.sleep(0)  # bare yields: the tracer packs them mid-batch
            # Inside a step the log holds this batch's events back from listeners.
            seen.append((resting.texts(), live.texts()))

    async def both() -> None:
        await asyncio.gather(reader(), reader())

    headless.run_until_complete(both())
    assert len(seen) == 6
    for read, heard in seen:
        assert read == heard


def test_a_cleared_ring_and_a_long_rest_leave_a_note_on_top():
    log = EventLog()
    narrator = Narrator(runs_only=False, capacity=5)
    narrator.listen_to(log)
    log.emit(TaskCreated(0.0, 1, "t1", None, "work", ()))
    narrator.rest()
    log.emit(TaskStep(1.0, 1, 0.5, 0.1, "future", "a future", None, ()))
    log.clear()  # what the resting narrator had not read yet goes with the ring
    for n in range(8):
        log.emit(TaskStep(2.0 + n, 1, 1.5 + n, 0.1, "future", f"future {n}", None, ()))
    texts = narrator.texts()
    assert texts[0] == "… 1 event went by unnarrated (the Narration panel was hidden)"
    assert texts[1:] == [f"t1 awaits future {n}" for n in range(4, 8)]
    assert log.dropped == 0 and len(log) == 8


def test_the_panel_shows_a_trickle_at_once_and_a_flood_a_few_times_a_second(qtbot):
    from coroscope.models.task_model import TaskModel
    from coroscope.widgets.views.narration_view import NarrationView

    log = EventLog()
    narrator = Narrator(runs_only=False)
    narrator.listen_to(log)
    view = NarrationView(narrator, TaskModel())
    qtbot.addWidget(view)
    view.resize(420, 200)
    view.show()
    view.set_on_screen(True)
    log.emit(TaskCreated(0.0, 1, "t1", None, "work", ()))
    view.refresh()
    assert view._version == narrator.version  # one new line: shown on this frame
    log.emit(TaskStep(0.1, 1, 0.0, 0.1, "future", "a future", None, ()))
    view.refresh()
    assert view._version == narrator.version
    for n in range(40):  # more than a screenful since the last look
        log.emit(TaskStep(0.2 + n, 1, 0.1 + n, 0.1, "future", f"future {n}", None, ()))
    view.flood_interval = 3600  # however slow this machine: the last look was just now
    view.refresh()
    assert view._version != narrator.version  # this frame is left alone
    view.flood_interval = 0.0  # the interval has passed
    view.refresh()
    assert view._version == narrator.version and view._count == 42


def test_catching_up_on_a_wrapped_ring_of_bare_yields_tells_the_last_of_them():
    # Bare yields stay packed through the catch-up and are unpacked only when shown.
    loop = HeadlessLoop(events=EventLog(capacity=60))
    try:
        live, resting = _narrators(loop.events)
        names: dict[int, str] = {}  # as the controller's task model knows them
        loop.events.subscribe(lambda e: names.update({e.task: e.name}), kinds=(TaskCreated,))
        resting.known_names = lambda: names

        async def spinner() -> None:
            for _ in range(30):
                await asyncio.sleep(0)

        async def spin() -> None:
            for number in range(4):
                await asyncio.create_task(spinner(), name=f"spinner{number}")

        loop.run_until_complete(spin())
        assert loop.events.dropped > 0
        shown = resting.lines()
        assert shown[0].text.startswith("… ") and shown[0].text.endswith(
            "unnarrated (the Narration panel was hidden)"
        )
        told = [(line.t, line.text, line.task) for line in shown[1:]]
        heard = [(line.t, line.text, line.task) for line in live.lines()[-len(told) :]]
        assert told == heard
        assert 0 < shown[0].t <= told[0][0]  # the note is dated by the first event it kept
        assert sum("spinner3 yielded to the loop" in text for _, text, _ in told) > 20
    finally:
        loop.close()
