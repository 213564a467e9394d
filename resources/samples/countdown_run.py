"""Countdown with asyncio.run(main()): today's usual way to start a program.

Three tasks sleep 4, 3 and 2 seconds at once; main gathers their results.
"""

import asyncio


async def countdown(name, seconds):
    print(f"{name} sleeping for {seconds} s")
    await asyncio.sleep(seconds)
    print(f"{name} is finished")
    return seconds


async def main():
    tasks = [
        asyncio.create_task(countdown("task1", 4), name="task1"),
        asyncio.create_task(countdown("task2", 3), name="task2"),
        asyncio.create_task(countdown("task3", 2), name="task3"),
    ]
    results = await asyncio.gather(*tasks)
    print(f"main: slept {results}")


if __name__ == "__main__":
    asyncio.run(main())
