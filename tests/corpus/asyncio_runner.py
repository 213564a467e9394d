"""asyncio.Runner: two top-level calls on one loop, sharing state between them."""

import asyncio


class Counter:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.value = 0

    async def bump(self, times: int) -> int:
        for _ in range(times):
            async with self.lock:
                self.value += 1
            await asyncio.sleep(0)
        return self.value


async def start() -> Counter:
    return Counter()


def main() -> None:
    with asyncio.Runner() as runner:
        counter = runner.run(start())
        runner.run(asyncio.wait_for(counter.bump(5), timeout=5))
        final = runner.run(counter.bump(3))
    print("counter:", final)
    assert final == 8
    print("asyncio_runner: ok")


if __name__ == "__main__":
    main()
