"""A child process read through pipe transports, and its exit code.

``loop.subprocess_exec`` starts a child Python (``sys.executable -c ...``) that
prints a line every ``pause`` seconds and then exits with code 3, a number of
its own choosing so you can see it really comes from the child. The loop
connects the child's stdout and stderr to pipe transports and calls the
``ChildLines`` protocol back: ``pipe_data_received`` with each chunk,
``process_exited`` when the child ends, ``connection_lost`` once the pipes are
closed too. Nothing blocks while the child works.

Cancel ``main`` (click its lane, or press Stop) while the child runs: the
``except CancelledError`` branch terminates the child cleanly (SIGTERM) and
waits for it, so no orphan is left behind; the exit code is then -15.
"""

import asyncio
import subprocess
import sys

CHILD = """
import sys, time
for i in range(1, {lines} + 1):
    print(f"line {{i}} of {lines}", flush=True)
    time.sleep({pause})
sys.exit(3)
"""


class ChildLines(asyncio.SubprocessProtocol):
    def __init__(self, ended):
        self.ended = ended
        self.partial = {1: b"", 2: b""}
        self.lines = []

    def connection_made(self, transport):
        self.transport = transport
        print(f"started child pid {transport.get_pid()}")

    def pipe_data_received(self, fd, data):
        # A chunk may hold part of a line or several lines: split on newlines.
        *complete, self.partial[fd] = (self.partial[fd] + data).split(b"\n")
        for raw in complete:
            line = raw.decode(errors="replace")
            self.lines.append(line)
            print(f"{'stdout' if fd == 1 else 'stderr'}: {line}")

    def process_exited(self):
        print(f"child exited with code {self.transport.get_returncode()}")

    def connection_lost(self, exc):
        if not self.ended.done():
            self.ended.set_result(self.transport.get_returncode())


async def main(lines=5, pause=0.6):
    loop = asyncio.get_running_loop()
    ended = loop.create_future()
    transport, protocol = await loop.subprocess_exec(
        lambda: ChildLines(ended),
        sys.executable,
        "-c",
        CHILD.format(lines=lines, pause=pause),
        stdin=subprocess.DEVNULL,
    )
    try:
        # shield: cancelling main must not cancel ``ended`` itself, which we still
        # need to learn when the child is really gone.
        code = await asyncio.shield(ended)
    except asyncio.CancelledError:
        print("cancelled: terminating the child")
        transport.terminate()
        code = await ended
        print(f"the child is gone (exit code {code}); nothing is left running")
        raise
    finally:
        transport.close()
    print(f"parent read {len(protocol.lines)} lines; exit code {code}")
    return code


if __name__ == "__main__":
    asyncio.run(main())
