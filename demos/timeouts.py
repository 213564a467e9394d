"""Timeouts: asyncio.timeout, rescheduling a deadline, and wait_for.

``async with asyncio.timeout(1.5)`` schedules a timer; if the block is still
running when it fires, the task is cancelled and the ``async with`` turns that
into ``TimeoutError``. The deadline is a real timer in the loop's heap (it is in
the Loop panel's Timers list as ``Timeout._on_timeout``): pause, then drag it
there to give the slow download more time, or cancel it to remove the limit.

``cm.reschedule(when)`` moves the deadline from code, and ``asyncio.wait_for``
is the older function form of the same idea.
"""

import asyncio


async def download(name, seconds):
    print(f"{name}: needs {seconds} s")
    await asyncio.sleep(seconds)
    return f"{name} complete"


async def main():
    loop = asyncio.get_running_loop()
    print("1) asyncio.timeout(1.5) around a 1 s download")
    async with asyncio.timeout(1.5):
        print(f"   {await download('small file', 1)}")

    print("2) asyncio.timeout(1.5) around a 3 s download")
    try:
        async with asyncio.timeout(1.5):
            await download("big file", 3)
    except TimeoutError:
        print("   TimeoutError: the download was cancelled at the deadline")

    print("3) reschedule: extend the deadline while the download runs")
    async with asyncio.timeout(1.5) as deadline:
        task = asyncio.create_task(download("big file", 3), name="big file")
        await asyncio.sleep(1.0)
        deadline.reschedule(loop.time() + 3.0)
        print("   deadline moved 3 s ahead")
        print(f"   {await task}")

    print("4) asyncio.wait_for(..., timeout=0.5)")
    try:
        await asyncio.wait_for(download("slow reply", 2), timeout=0.5)
    except TimeoutError:
        print("   TimeoutError from wait_for")


if __name__ == "__main__":
    asyncio.run(main())
