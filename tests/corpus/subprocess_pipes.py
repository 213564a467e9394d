"""asyncio subprocesses: communicate() through pipes, and reading a child's output live."""

import asyncio
import sys

UPPER = "import sys; sys.stdout.write(sys.stdin.read().upper())"
COUNT = "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.05)"


async def shout(text: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        UPPER,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(text.encode())
    assert process.returncode == 0, err
    return out.decode()


async def ticks() -> list[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", COUNT, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    lines = [line.decode().strip() async for line in process.stdout]
    assert await process.wait() == 0
    return lines


async def main() -> None:
    shouted, counted = await asyncio.gather(shout("quiet please"), ticks())
    print("shouted:", shouted)
    print("ticks:", counted)
    assert shouted == "QUIET PLEASE"
    assert counted == ["tick 0", "tick 1", "tick 2"]
    print("subprocess_pipes: ok")


if __name__ == "__main__":
    asyncio.run(main())
