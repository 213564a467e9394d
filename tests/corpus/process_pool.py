"""loop.run_in_executor with a ProcessPoolExecutor: CPU-bound work in child processes."""

import asyncio
from concurrent.futures import ProcessPoolExecutor


def sum_of_squares(n: int) -> int:
    return sum(i * i for i in range(n))


async def main() -> None:
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=2) as pool:
        sizes = [10_000, 20_000, 30_000]
        results = await asyncio.gather(
            *(loop.run_in_executor(pool, sum_of_squares, n) for n in sizes)
        )
    print(dict(zip(sizes, results, strict=True)))
    assert results == [sum_of_squares(n) for n in sizes]
    print("process_pool: ok")


if __name__ == "__main__":
    asyncio.run(main())
