"""An import of a module that is not installed: found before anything runs."""

import asyncio
import no_such_module_for_coroscope


async def main():
    await asyncio.sleep(1)


asyncio.run(main())
