"""sys.exit() ends the script, not Coroscope: the app says where it happened."""

import asyncio
import sys


async def main():
    print("working...")
    await asyncio.sleep(1)
    print("done, exiting with code 0")
    sys.exit(0)


asyncio.run(main())
