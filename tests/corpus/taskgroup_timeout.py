"""asyncio.TaskGroup, asyncio.timeout, wait_for and asyncio.wait, each used as intended."""

import asyncio


async def job(name: str, delay: float) -> str:
    await asyncio.sleep(delay)
    return f"{name} after {delay}s"


async def fails(delay: float) -> None:
    await asyncio.sleep(delay)
    raise ValueError("bad input")


async def main() -> None:
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(job(f"job{n}", n / 100)) for n in range(1, 4)]
    print([task.result() for task in tasks])

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(fails(0.01))
            tg.create_task(asyncio.sleep(10))  # the group cancels it when its sibling fails
    except* ValueError as group:
        print("the group failed with:", [str(e) for e in group.exceptions])

    try:
        async with asyncio.timeout(0.05):
            await asyncio.sleep(10)
    except TimeoutError:
        print("timed out, as planned")

    async with asyncio.timeout(None) as deadline:
        deadline.reschedule(asyncio.get_running_loop().time() + 5)
        print(await job("within the deadline", 0.01))

    print(await asyncio.wait_for(job("wait_for", 0.01), timeout=5))

    racers = {asyncio.create_task(job(f"racer{n}", n / 50)) for n in range(1, 4)}
    done, pending = await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
    print("winner:", [task.result() for task in done])
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)

    shielded = asyncio.create_task(job("shielded", 0.02))
    try:
        await asyncio.wait_for(asyncio.shield(shielded), timeout=0.01)
    except TimeoutError:
        print("the wait timed out; the shielded task goes on:", await shielded)
    print("taskgroup_timeout: ok")


if __name__ == "__main__":
    asyncio.run(main())
