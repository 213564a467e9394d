"""asyncio.Queue producers/consumers, a Semaphore limit, and Lock, Event and Condition."""

import asyncio
import random


async def producer(queue: asyncio.Queue[int], start: int, count: int) -> None:
    for n in range(start, start + count):
        await queue.put(n)
        await asyncio.sleep(random.uniform(0, 0.005))


async def consumer(queue: asyncio.Queue[int], results: list[int]) -> None:
    while True:
        n = await queue.get()
        try:
            await asyncio.sleep(0.002)
            results.append(n * 10)
        finally:
            queue.task_done()


class Limited:
    """Counts how many calls run at once under a Semaphore."""

    def __init__(self, limit: int) -> None:
        self.semaphore = asyncio.Semaphore(limit)
        self.running = 0
        self.most = 0

    async def call(self, n: int) -> int:
        async with self.semaphore:
            self.running += 1
            self.most = max(self.most, self.running)
            await asyncio.sleep(0.01)
            self.running -= 1
            return n


async def main() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=3)
    results: list[int] = []
    consumers = [asyncio.create_task(consumer(queue, results)) for _ in range(3)]
    await asyncio.gather(producer(queue, 0, 10), producer(queue, 100, 10))
    await queue.join()
    for task in consumers:
        task.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    print(f"consumed {len(results)} items")
    assert len(results) == 20

    limited = Limited(2)
    done = await asyncio.gather(*(limited.call(n) for n in range(6)))
    print("semaphore: at most", limited.most, "at once;", done)
    assert limited.most == 2

    lock = asyncio.Lock()
    counter = 0

    async def bump() -> None:
        nonlocal counter
        async with lock:
            value = counter
            await asyncio.sleep(0)
            counter = value + 1

    await asyncio.gather(*(bump() for _ in range(10)))
    print("counter under a lock:", counter)
    assert counter == 10

    ready = asyncio.Event()
    condition = asyncio.Condition()
    items: list[str] = []

    async def waiter() -> str:
        await ready.wait()
        async with condition:
            await condition.wait_for(lambda: bool(items))
            return items.pop()

    waiting = asyncio.create_task(waiter())
    ready.set()
    await asyncio.sleep(0.01)
    async with condition:
        items.append("parcel")
        condition.notify()
    print("condition delivered:", await waiting)
    print("queue_sync: ok")


if __name__ == "__main__":
    asyncio.run(main())
