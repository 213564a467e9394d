"""loop.run_forever() until a callback calls loop.stop(): the oldest form.

A task prints the time each second; after three ticks a call_later() stops the loop.
"""

import asyncio
import datetime


async def display_date(loop):
    while True:
        print(datetime.datetime.now().strftime("%H:%M:%S"))
        await asyncio.sleep(1)


loop = asyncio.get_event_loop()
loop.create_task(display_date(loop))
loop.call_later(3.5, loop.stop)
loop.run_forever()
print("loop stopped")
loop.close()
