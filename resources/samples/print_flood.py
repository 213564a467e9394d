"""A flood of 100,000 printed lines: the console keeps the newest and stays responsive."""

import asyncio


async def main():
    for number in range(100_000):
        print(f"line {number}")
        if number % 1000 == 0:
            await asyncio.sleep(0)
    print("flood over")


asyncio.run(main())
