from app.events import EventLog, Output, TaskCreated


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
