"""A module that is not installed: Python stops at its import, Coroscope says where to get it."""

import asyncio
import no_such_module_for_coroscope


async def main():
    await asyncio.sleep(1)


asyncio.run(main())
