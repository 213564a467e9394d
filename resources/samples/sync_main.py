"""A plain def main() that drives the loop, called under the __main__ guard.

A common older layout: Coroscope turns main() into a coroutine so its
run_until_complete() can wait inside the app's loop.
"""

import asyncio


async def compute(x, y):
    print(f"Compute {x} + {y} ...")
    await asyncio.sleep(1.0)
    return x + y


async def print_sum(x, y):
    result = await compute(x, y)
    print(f"{x} + {y} = {result}")


def main():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(print_sum(1, 2))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
