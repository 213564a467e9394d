import asyncio
import contextlib
import gc

from coroscope.loop.events import EventLog, Output, TaskCreated


def test_ring_is_bounded_and_counts_drops_but_listeners_see_everything():
    log = EventLog(capacity=3)
    seen = []
    log.subscribe(seen.append)
    for i in range(5):
        log.emit(Output(float(i), None, f"line {i}", "stdout"))
    assert len(log) == 3
    assert log.dropped == 2
    assert [e.text for e in log] == ["line 2", "line 3", "line 4"]
    assert len(seen) == 5


def test_unsubscribe_and_of_type():
    log = EventLog()
    seen = []
    unsubscribe = log.subscribe(seen.append)
    log.emit(TaskCreated(0.0, 1, "a", None, "a", ()))
    unsubscribe()
    log.emit(Output(0.0, 1, "x", "stdout"))
    assert len(seen) == 1
    assert [type(e) for e in log.of_type(Output)] == [Output]


def test_events_are_immutable():
    event = Output(0.0, 1, "x", "stdout")
    try:
        event.text = "y"  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("events must be immutable")


def test_a_hold_delivers_after_the_outermost_hold_in_emission_order():
    log = EventLog()
    seen = []

    def listener(event):
        seen.append(event.text)
        if event.text == "b":  # a listener's own event queues behind the rest
            log.emit(Output(0.0, None, "from listener", "stdout"))

    log.subscribe(listener)
    with log.hold:
        log.emit(Output(0.0, None, "a", "stdout"))
        with log.hold:
            log.emit(Output(0.0, None, "b", "stdout"))
        assert seen == []  # an inner hold ending delivers nothing yet
        log.emit(Output(0.0, None, "c", "stdout"))
    assert seen == ["a", "b", "c", "from listener"]
    log.emit(Output(0.0, None, "d", "stdout"))
    assert seen[-1] == "d"  # outside a hold, at once


def test_a_timer_batch_fires_every_due_timer_before_listeners_run():
    from coroscope.loop.traced_loop import HeadlessLoop

    loop = HeadlessLoop(autojump=True)
    order = []

    # All due at one loop time: timers a hair apart may fall due in two batches when
    # a slow moment (a garbage collection, say) spreads the steps that set them.
    async def sleeper(i, when):
        woken = loop.create_future()
        loop.call_at(when, woken.set_result, None)
        await woken
        order.append(("woke", i))

    async def main():
        when = loop.time() + 1
        await asyncio.gather(*(sleeper(i, when) for i in range(5)))

    loop.events.subscribe(lambda e: order.append(type(e).__name__))
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    woke = [i for i, item in enumerate(order) if item[0] == "woke"]
    ended = [i for i, item in enumerate(order) if item == "TaskEnded"]
    assert len(woke) == 5 and len(ended) == 6
    # the five wake-ups ran back to back; the models heard of them after the batch
    assert woke == list(range(woke[0], woke[0] + 5))
    assert sorted(ended)[-6] > woke[-1]


def test_a_listener_that_raises_does_not_stop_later_deliveries():
    log = EventLog()
    seen = []

    def fussy(event):
        if event.text == "bad":
            raise ValueError("model bug")
        seen.append(event.text)

    def held(*texts: str) -> None:
        with contextlib.suppress(ValueError), log.hold:
            for text in texts:
                log.emit(Output(0.0, None, text, "stdout"))

    log.subscribe(fussy)
    held("bad", "kept")
    with log.hold:
        log.emit(Output(0.0, None, "later", "stdout"))
    assert seen == ["kept", "later"]
    log.emit(Output(0.0, None, "outside", "stdout"))
    assert seen[-1] == "outside"
    # Left over after a raise, outside any hold: what comes next waits its turn.
    held("bad", "first")
    log.emit(Output(0.0, None, "second", "stdout"))
    assert seen[-2:] == ["first", "second"]
    assert log.delivered == 7


def test_a_listener_hears_only_the_kinds_it_names_in_subscription_order():
    log = EventLog()
    heard = []
    log.subscribe(lambda e: heard.append(("all", type(e).__name__)))
    stop = log.subscribe(lambda e: heard.append(("output", e.text)), kinds=(Output,))
    log.subscribe(lambda e: heard.append(("created", e.name)), kinds=[TaskCreated])
    log.emit(Output(0.0, None, "hi", "stdout"))
    log.emit(TaskCreated(0.0, 1, "a", None, "a", ()))
    stop()
    with log.hold:
        log.emit(Output(1.0, None, "later", "stdout"))
    assert heard == [
        ("all", "Output"),
        ("output", "hi"),
        ("all", "TaskCreated"),
        ("created", "a"),
        ("all", "Output"),  # the Output listener was gone by then
    ]


def test_kept_events_drop_out_of_the_garbage_collectors_sight(headless):
    from coroscope.loop.events import TimerFired
    from coroscope.models.loop_model import LoopModel
    from coroscope.models.narration import Narrator
    from coroscope.models.trace_collector import TraceCollector

    collector = TraceCollector()
    collector.listen_to(headless.events)
    loop_model = LoopModel()
    loop_model.listen_to(headless.events)
    narrator = Narrator(runs_only=False)
    narrator.listen_to(headless.events)

    async def napper():
        for _ in range(5):
            await asyncio.sleep(0.1)

    async def naps():
        await asyncio.gather(*(napper() for _ in range(3)))

    headless.run_until_complete(naps())
    for _ in range(3):  # one look per level of nesting (event, its frames, a frame)
        gc.collect()
    # A long run keeps a hundred thousand events in the ring and up to a million
    # steps for Export Trace; the collector must not walk them all each time it runs.
    kept = list(headless.events._ring)
    assert len(kept) > 40
    assert not [item for item in kept if gc.is_tracked(item)]
    assert len(collector._steps) == 3 * 6 + 2  # each napper: 6 steps; naps: 2
    assert not [step for step in collector._steps if gc.is_tracked(step)]
    assert len(loop_model.lag) == 15
    assert not [sample for sample in loop_model.lag if gc.is_tracked(sample)]
    assert len(narrator) > 30
    assert not [record for record in narrator._records if gc.is_tracked(record)]
    assert sum("awaits sleep(0.1)" in text for text in narrator.texts()) == 15
    # ... and they still read back as the events they were
    fired = headless.events.of_type(TimerFired)
    assert len(fired) == 15 and all(type(e) is TimerFired for e in fired)
