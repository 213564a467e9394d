"""The tutorial's loop-driving form: get_event_loop(), run_until_complete(), close().

Python 3.4-era code drove the loop by hand. Since 3.11 asyncio.wait() takes
tasks, not bare coroutines, so the tasks are made with loop.create_task().
"""

import asyncio


async def countdown(task_name, seconds_to_sleep=3):
    print("{0} sleeping for: {1} seconds".format(task_name, seconds_to_sleep))
    await asyncio.sleep(seconds_to_sleep)
    print("{0} is finished".format(task_name))


loop = asyncio.get_event_loop()
tasks = [
    loop.create_task(countdown("task1", 4)),
    loop.create_task(countdown("task2", 3)),
    loop.create_task(countdown("task3", 2)),
]
loop.run_until_complete(asyncio.wait(tasks))
loop.close()
