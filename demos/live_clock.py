"""Live clock: an analog and digital clock driven by one coroutine.

``tick`` wakes at each whole second, reads the time and hands it to the clock
face. Nothing else moves the hands: pause the loop and the clock stops, slow it
down and the seconds stretch. It runs until you press Stop, which cancels the
task while it sleeps; the ``finally`` block shows the cleanup running.
"""

import asyncio
import datetime
import sys

from coroscope.demos.stage import publish


async def tick(ticks=None):
    count = 0
    try:
        while ticks is None or count < ticks:
            now = datetime.datetime.now()
            publish("clock", now)
            print(now.strftime("%H:%M:%S"))
            count += 1
            # Sleep to the next whole second of wall time, so the hands land on it.
            await asyncio.sleep(1.0 - now.microsecond / 1_000_000)
    finally:
        print(f"clock stopped after {count} ticks")


async def main(ticks=None):
    await asyncio.create_task(tick(ticks), name="clock")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else None))
