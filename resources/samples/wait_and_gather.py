"""asyncio.wait() and asyncio.gather() over tasks: two ways to wait for many.

wait() returns (done, pending) sets, here as soon as the first task finishes;
gather() returns every result in order.
"""

import asyncio


async def fetch(name, seconds):
    await asyncio.sleep(seconds)
    return f"{name} after {seconds} s"


async def main():
    tasks = [asyncio.create_task(fetch(f"job{i}", i), name=f"job{i}") for i in (3, 1, 2)]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    print(f"first finished: {[t.result() for t in done]}; still running: {len(pending)}")
    print("all:", await asyncio.gather(*tasks))


if __name__ == "__main__":
    asyncio.run(main())
