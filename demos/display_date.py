"""Date for five seconds: a loop-clock deadline.

The tutorial's ``display_date``: print the date and time once a second until
five seconds of *loop time* have passed. The deadline is read from
``loop.time()``, the loop's own monotonic clock, not from the wall clock, so
pausing or slowing Coroscope's loop stretches the run with it.
"""

import asyncio
import datetime

from coroscope.demos.stage import publish


async def display_date():
    loop = asyncio.get_running_loop()
    end_time = loop.time() + 5.0
    while True:
        now = datetime.datetime.now()
        print(now)
        publish("clock", now)
        if (loop.time() + 1.0) >= end_time:
            break
        await asyncio.sleep(1)


async def main():
    await display_date()


if __name__ == "__main__":
    asyncio.run(main())
