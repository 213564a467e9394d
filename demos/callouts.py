"""Delayed callouts: call_soon, call_later, call_at, and a handle cancelled in time.

The loop keeps two queues, both in the Loop panel: the *ready queue* (``call_soon``:
run in the next iteration, in the order asked) and the *timer heap* (``call_later``
and ``call_at``: run when their time comes). Each call returns a handle, and
``handle.cancel()`` takes a callout back before it runs.

Watch the Timers list: four callouts wait there, soonest first. At 3 s the
``call_later(5.0)`` handle is cancelled: it leaves the list and never prints.
Click ✕ on another timer to cancel it yourself, or drag its bar to move it; the
printed times show the real handle fired when you said.

``call_later(delay)`` counts from now; ``call_at(when)`` takes an absolute
``loop.time()``. Neither is a coroutine: they schedule plain functions, which is
what tasks, futures and transports use underneath.
"""

import asyncio


async def main():
    loop = asyncio.get_running_loop()
    start = loop.time()
    finished = loop.create_future()

    def say(what):
        print(f"t={loop.time() - start:.1f}  {what}")

    def cancel(handle):
        handle.cancel()
        say(f"cancelled the call_later(5.0) handle: cancelled() is {handle.cancelled()}")

    def finish():
        say("done: the cancelled callout never ran")
        finished.set_result(None)

    loop.call_soon(say, "call_soon: first in the ready queue")
    loop.call_soon(say, "call_soon: second, right after the first")
    loop.call_later(2.0, say, "call_later(2.0)")
    loop.call_at(start + 4.0, say, "call_at(start + 4.0)")
    doomed = loop.call_later(5.0, say, "call_later(5.0): cancelled, so never printed")
    loop.call_later(3.0, cancel, doomed)
    loop.call_later(6.0, finish)
    await finished


if __name__ == "__main__":
    asyncio.run(main())
