"""sys.exit() ends the script's own process, as under python: the console says where."""

import asyncio
import sys


async def main():
    print("working...")
    await asyncio.sleep(1)
    print("done, exiting with code 0")
    sys.exit(0)


asyncio.run(main())
