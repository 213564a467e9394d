"""loop.add_signal_handler: the program sends itself SIGUSR1 and handles it on the loop."""

import asyncio
import os
import signal


async def main() -> None:
    loop = asyncio.get_running_loop()
    received: asyncio.Queue[int] = asyncio.Queue()
    loop.add_signal_handler(signal.SIGUSR1, received.put_nowait, signal.SIGUSR1)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        async with asyncio.timeout(5):
            first = await received.get()
        print("received", signal.Signals(first).name)
        loop.call_later(0.05, os.kill, os.getpid(), signal.SIGUSR1)
        async with asyncio.timeout(5):
            second = await received.get()
        print("received", signal.Signals(second).name, "again")
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
    print("signal_handler: ok")


if __name__ == "__main__":
    asyncio.run(main())
