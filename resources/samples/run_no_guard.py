"""asyncio.run(main()) straight at the end of the file, with no __main__ guard."""

import asyncio


async def greet(name, delay):
    await asyncio.sleep(delay)
    print(f"hello, {name}")


async def main():
    await greet("world", 1)
    await greet("again", 0.5)


asyncio.run(main())
