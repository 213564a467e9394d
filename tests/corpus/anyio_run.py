"""anyio.run: a task group, memory object streams and anyio.to_thread.run_sync."""

import time

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream


def slow_square(n: int) -> int:
    time.sleep(0.01)  # blocking work, done in a worker thread
    return n * n


async def producer(send: ObjectSendStream[int], count: int) -> None:
    async with send:
        for n in range(count):
            await send.send(n)
            await anyio.sleep(0.005)


async def consumer(name: str, receive: ObjectReceiveStream[int], results: list) -> None:
    async with receive:
        async for n in receive:
            results.append((name, n, await anyio.to_thread.run_sync(slow_square, n)))


async def main() -> None:
    results: list[tuple[str, int, int]] = []
    send, receive = anyio.create_memory_object_stream[int](max_buffer_size=2)
    # The clones keep the streams open; the originals close once the tasks have them.
    async with anyio.create_task_group() as tg, send, receive:
        tg.start_soon(producer, send.clone(), 8)
        tg.start_soon(consumer, "a", receive.clone(), results)
        tg.start_soon(consumer, "b", receive.clone(), results)
    print("squares:", sorted(square for _, _, square in results))
    assert sorted(n for _, n, _ in results) == list(range(8))

    with anyio.move_on_after(0.05) as scope:
        await anyio.sleep(10)
    print("moved on after timeout:", scope.cancelled_caught)

    with anyio.fail_after(5):
        await anyio.sleep(0.01)
    print("anyio_run: ok")


if __name__ == "__main__":
    anyio.run(main)
