"""input() in a script: the window has no keyboard to give it, and says so."""

import asyncio


async def main():
    await asyncio.sleep(0.5)
    name = input("What is your name? ")
    print(f"hello, {name}")


asyncio.run(main())
