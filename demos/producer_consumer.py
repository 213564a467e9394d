"""Producer and consumers sharing an asyncio.Queue.

The producer ``put``s ten jobs into a queue that holds at most three; when it is
full, ``await queue.put`` parks the producer until a consumer makes room. Two
consumers ``await queue.get()`` (parked while it is empty), work on a job, and
call ``queue.task_done()``. ``await queue.join()`` returns once every job put has
been marked done; then ``main`` cancels the consumers, which are waiting forever
for more. The lanes show who is parked on ``Queue.put`` and ``Queue.get``.
"""

import asyncio


async def producer(queue, jobs, pace):
    for n in range(1, jobs + 1):
        await queue.put(n)  # parks here while the queue is full
        print(f"producer: put job {n} (queue holds {queue.qsize()})")
        await asyncio.sleep(pace)
    print("producer: all jobs queued")


async def consumer(name, queue, work, done):
    while True:
        job = await queue.get()  # parks here while the queue is empty
        await asyncio.sleep(work)
        done.append((name, job))
        print(f"{name}: finished job {job}")
        queue.task_done()


async def main(jobs=10, pace=0.2, work=0.9):
    queue = asyncio.Queue(maxsize=3)
    done = []
    consumers = [
        asyncio.create_task(consumer(name, queue, work, done), name=name)
        for name in ("consumer-a", "consumer-b")
    ]
    await asyncio.create_task(producer(queue, jobs, pace), name="producer")
    await queue.join()
    print(f"main: all {len(done)} jobs done; cancelling the idle consumers")
    for task in consumers:
        task.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    return done


if __name__ == "__main__":
    asyncio.run(main())
