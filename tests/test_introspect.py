"""Reading where a suspended task is parked, level by level."""

import asyncio
import inspect

from coroscope.loop.introspect import await_frames


async def _parks_twice(first: asyncio.Event, second: asyncio.Event) -> None:
    await first.wait()
    await second.wait()


def test_await_frames_name_the_line_each_time_a_coroutine_parks():
    # Lines are remembered by where the coroutine is parked, so the same
    # coroutine parked at another await must not get the first line again.
    def_line = inspect.getsourcelines(_parks_twice)[1]

    async def main():
        first, second = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(_parks_twice(first, second))
        seen = []
        for event in (first, second):
            await asyncio.sleep(0)
            outer, *inner = await_frames(task.get_coro())
            seen.append((outer[1], outer[2], [level[2] for level in inner]))
            event.set()
        await task
        return seen

    seen = asyncio.run(main())
    assert seen == [
        (def_line + 1, "_parks_twice", ["Event.wait"]),
        (def_line + 2, "_parks_twice", ["Event.wait"]),
    ]
