"""A task fails and nobody ever awaits it: its exception is never retrieved.

main keeps the task but never awaits it, so the ZeroDivisionError is lost:
Python only mentions it when the task is collected. The fix: await the task
(or gather it) and handle the error.
"""

import asyncio

background = []


async def divide(a, b):
    await asyncio.sleep(0.5)
    return a / b


async def main():
    background.append(asyncio.create_task(divide(1, 0), name="divide"))
    await asyncio.sleep(1)
    print("main is done, and never asked how divide went")


asyncio.run(main())
