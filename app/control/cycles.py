"""Cancelling tasks that await each other, without a RecursionError.

``Task.cancel()`` first cancels the future the task awaits (``task._fut_waiter``),
and only if that fails marks the task itself; ``gather()``'s future cancels its
children the same way. Both are real nested calls, one per link. So when two tasks
await each other, ``first.cancel()`` calls ``second.cancel()``, which calls
``first.cancel()`` again, and so on until Python raises RecursionError. By then
nothing is cancelled (only ``cancelling()`` has gone up once per call). A long
enough chain of tasks, each awaiting the next, fails in the same way (about 1,000
links on 3.11). Asking the deepest task first does not help, because a task that
has been asked to cancel still passes the next request on to what it awaits until
it takes its next step.

``cancel_tasks`` therefore looks first at what each task awaits. A task whose
cancel() would recurse too far (forever, in a cycle) is not asked. Instead it gets
the ``CancelledError`` directly:

* a task awaiting a task: its wake-up callback is moved off the awaited task and
  run soon, with an already-cancelled future. This is how asyncio wakes a task
  whose awaited future was cancelled, so the exception is raised at its
  ``await`` in a normal step of its own, in its own context. Its ``finally:``
  blocks run, and may await. The awaited task never wakes it a second time;
* a ``gather()`` future: it is cancelled as a plain Future
  (``asyncio.Future.cancel``), which wakes whatever awaits it with
  ``CancelledError`` without going on to its children.

Everything else is cancelled as usual, deepest first. That includes what those
tasks await, whenever it leads to no cycle, so a sleep or a child of the gather
still gets cancelled, as cancel() would have done. Taken together, each task gets
one CancelledError at its ``await``, just as if cancel() had worked.

``asyncio.Future.cancel(task)`` alone is not enough: it marks the task cancelled
but never resumes its coroutine (no ``finally:``). Later the task it awaited still
wakes it, and that wake-up fails with "InvalidStateError: _step(): already done".
Checked on CPython 3.11, 3.12 and 3.13 with the C ``_asyncio.Task``. The
pure-Python Task has the same ``_fut_waiter``, ``_callbacks`` and wake-up
``__self__``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable

# How many nested cancel() calls are still safe. Far below the recursion limit,
# whatever frames the caller already has on the stack.
_MAX_DEPTH = 100

_GatheringFuture = getattr(asyncio.tasks, "_GatheringFuture", ())
# The C Task and the pure-Python one (a task factory may make those): both pass
# cancel() on to their _fut_waiter, and neither is a subclass of the other.
_PY_TASK: type[asyncio.Task] = getattr(asyncio.tasks, "_PyTask", asyncio.Task)
_TASKS = (asyncio.Task, _PY_TASK)
_UNSEEN, _OPEN, _DONE = 0, 1, 2


def _passes_cancel_to(future: asyncio.Future) -> list[asyncio.Future]:
    """The pending futures that ``future.cancel()`` would cancel in turn."""
    if future.done():
        return []
    if isinstance(future, _TASKS):
        waiter = future._fut_waiter  # type: ignore[attr-defined]
        return [waiter] if waiter is not None and not waiter.done() else []
    if isinstance(future, _GatheringFuture):
        return [child for child in future._children if not child.done()]
    return []


def _cancel_depths(
    roots: Iterable[asyncio.Future],
) -> tuple[list[asyncio.Future], dict[int, float]]:
    """Everything cancelling ``roots`` would reach, in post-order (a future after
    all it passes cancel to), and how deep each one's cancel() would go: the
    number of pending futures on the longest path below it, or ``inf`` if that
    path leads into a cycle.

    Iterative, because the chains it exists for are too deep to recurse over.
    A successor still open (on the stack) closes a cycle. A successor already
    done has its final depth, because everything it leads to was seen first.
    """
    order: list[asyncio.Future] = []
    state: dict[int, int] = {}
    depth: dict[int, float] = {}
    for root in roots:
        if state.get(id(root), _UNSEEN) != _UNSEEN:
            continue
        state[id(root)] = _OPEN
        depth[id(root)] = 1
        stack = [(root, iter(_passes_cancel_to(root)))]
        while stack:
            node, successors = stack[-1]
            for successor in successors:
                seen = state.get(id(successor), _UNSEEN)
                if seen == _UNSEEN:
                    state[id(successor)] = _OPEN
                    depth[id(successor)] = 1
                    stack.append((successor, iter(_passes_cancel_to(successor))))
                    break
                below = math.inf if seen == _OPEN else depth[id(successor)]
                depth[id(node)] = max(depth[id(node)], 1 + below)
            else:
                stack.pop()
                state[id(node)] = _DONE
                order.append(node)
                if stack:
                    parent = id(stack[-1][0])
                    depth[parent] = max(depth[parent], 1 + depth[id(node)])
    return order, depth


def interrupt(task: asyncio.Task) -> bool:
    """Raise ``CancelledError`` in ``task`` at its ``await`` without cancelling
    what it awaits. False if the wake-up could not be found (then nothing changed).

    The task's wake-up callback, registered on the future it awaits, moves to the
    ready queue with a cancelled future as argument. This is what asyncio itself
    runs when that future is cancelled, so the task takes a normal step, traced
    like any other.
    """
    waiter = task._fut_waiter  # type: ignore[attr-defined]
    if waiter is None or waiter.done():
        return False
    wake_up = next(
        (
            (callback, context)
            for callback, context in getattr(waiter, "_callbacks", None) or ()
            if getattr(callback, "__self__", None) is task
        ),
        None,
    )
    if wake_up is None:
        return False
    callback, context = wake_up
    waiter.remove_done_callback(callback)
    loop = task.get_loop()
    cancelled = loop.create_future()
    cancelled.cancel()
    loop.call_soon(callback, cancelled, context=context)
    return True


def cancel_tasks(tasks: Iterable[asyncio.Task]) -> list[asyncio.Task]:
    """Cancel ``tasks`` as ``task.cancel()`` would, without a RecursionError, even
    if they await each other. Returns the tasks that could not be cancelled."""
    tasks = list(tasks)
    order, depth = _cancel_depths(tasks)
    wanted = {id(t) for t in tasks}
    too_deep = {id(f) for f in order if depth[id(f)] > _MAX_DEPTH}
    # What a too-deep future awaits, when that leads nowhere too deep, is cancelled
    # as usual: their own cancel() would have reached it (a gather's sleeping child,
    # say).
    wanted.update(
        id(after)
        for f in order
        if id(f) in too_deep
        for after in _passes_cancel_to(f)
        if id(after) not in too_deep
    )
    failed: list[asyncio.Task] = []
    # First wake the too-deep ones directly. Waking a task changes what it awaits
    # only at its next step, so cancel() must never be asked to pass through them.
    for future in order:
        if id(future) not in too_deep:
            continue
        if isinstance(future, _TASKS):
            waiter = future._fut_waiter  # type: ignore[attr-defined]
            if isinstance(waiter, _TASKS) and not interrupt(future):
                failed.append(future)
            # A task awaiting a gather() wakes when that gather is cancelled here.
        else:
            asyncio.Future.cancel(future)  # a gather(): wakes its waiters, not its children
    # Then the rest, deepest first: no cancel() below goes more than _MAX_DEPTH deep.
    for future in order:
        if id(future) in wanted and id(future) not in too_deep:
            try:
                future.cancel()
            except RecursionError:
                # Passed on through something not modelled above (a Future subclass
                # of the program's own): wake the task directly instead.
                if not (isinstance(future, _TASKS) and interrupt(future)):
                    failed.append(future)  # type: ignore[arg-type]
    return failed
