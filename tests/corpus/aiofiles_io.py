"""aiofiles: write, append and read a temporary file without blocking the loop."""

import asyncio
import os
import tempfile

import aiofiles
import aiofiles.os


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "notes.txt")
        async with aiofiles.open(path, "w") as out:
            for n in range(50):
                await out.write(f"line {n}\n")
        async with aiofiles.open(path, "a") as out:
            await out.write("the end\n")
        lines = []
        async with aiofiles.open(path) as source:
            async for line in source:
                lines.append(line.rstrip("\n"))
        size = (await aiofiles.os.stat(path)).st_size
        print(f"read {len(lines)} lines, {size} bytes; last: {lines[-1]!r}")
        assert len(lines) == 51 and lines[-1] == "the end"
        await aiofiles.os.remove(path)
        assert not await aiofiles.os.path.exists(path)
    async with aiofiles.tempfile.NamedTemporaryFile("w+") as scratch:
        await scratch.write("scratch data")
        await scratch.seek(0)
        print("temp file holds:", await scratch.read())
    print("aiofiles_io: ok")


if __name__ == "__main__":
    asyncio.run(main())
