"""Live clock: an analog and digital clock driven by one coroutine.

``tick`` reads the time of day once, then wakes at each whole second of the
loop's clock and hands the time to the clock face. Nothing else moves the hands:
pause the loop and the clock stops, slow it down and the seconds stretch, speed
it up and they fly. It runs until you press Stop, which cancels the
task while it sleeps; the ``finally`` block shows the cleanup running.
"""

import asyncio
import datetime
import sys

from coroscope.demos.stage import publish


async def tick(ticks=None):
    loop = asyncio.get_running_loop()
    # The wall clock is read once, to start from the time of day; after that only
    # the loop's clock moves the hands, so they follow pause, step and speed.
    started, start = datetime.datetime.now(), loop.time()
    shown = started
    count = 0
    try:
        while ticks is None or count < ticks:
            publish("clock", shown)
            print(shown.strftime("%H:%M:%S"))
            count += 1
            # Sleep to the next whole second, so the hands land on it.
            next_second = shown.replace(microsecond=0) + datetime.timedelta(seconds=1)
            await asyncio.sleep((next_second - shown).total_seconds())
            elapsed = datetime.timedelta(seconds=loop.time() - start)
            shown = max(next_second, started + elapsed)
    finally:
        print(f"clock stopped after {count} ticks")


async def main(ticks=None):
    await asyncio.create_task(tick(ticks), name="clock")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else None))
