"""TCP echo with Protocol and Transport classes: the loop's callback-level networking.

``loop.create_server`` listens on 127.0.0.1 with port 0, so the OS picks a free
port and nothing outside this machine can connect. For every connection the loop
makes an ``EchoServer`` protocol and calls it back: ``connection_made`` with the
transport, ``data_received`` with each chunk of bytes, ``connection_lost`` at the
end. The protocol answers by calling ``transport.write``; nothing here awaits.

Two clients (also protocols) send three lines each, one every ``pause`` seconds,
and check each echo. Watch the Loop panel's I/O section: the listening socket,
one socket per connection end, and the bytes lighting up as they cross.
"""

import asyncio

HOST = "127.0.0.1"  # loopback only: never reachable from another machine


class EchoServer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.port = transport.get_extra_info("peername")[1]

    def data_received(self, data):
        print(f"server: echoing {data!r} to :{self.port}")
        self.transport.write(data)


class EchoClient(asyncio.Protocol):
    """Sends its lines one at a time and waits for each echo before the next."""

    def __init__(self, name, lines, pause, finished):
        self.name = name
        self.lines = list(lines)
        self.pause = pause
        self.finished = finished
        self.received = b""
        self.expected = b""

    def connection_made(self, transport):
        self.transport = transport
        self.send_next()

    def send_next(self):
        if not self.lines:
            self.transport.close()
            return
        line = self.lines.pop(0).encode() + b"\n"
        self.expected += line
        print(f"{self.name}: sending {line!r}")
        self.transport.write(line)

    def data_received(self, data):
        self.received += data
        if self.received == self.expected:  # the whole line came back
            asyncio.get_running_loop().call_later(self.pause, self.send_next)

    def connection_lost(self, exc):
        if not self.finished.done():
            self.finished.set_result(self.received)


async def main(pause=0.5):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoServer, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on {HOST}:{port}")
    echoed = {}
    try:
        clients = []
        for name in ("alice", "bob"):
            finished = loop.create_future()
            lines = [f"{name} says hello", f"{name} counts {len(name)}", f"{name} says bye"]
            await loop.create_connection(
                lambda n=name, ls=lines, f=finished: EchoClient(n, ls, pause, f), HOST, port
            )
            clients.append((name, finished))
        for name, finished in clients:
            echoed[name] = await finished
            print(f"{name}: got back {len(echoed[name])} bytes, all echoed")
    finally:
        server.close()
        await server.wait_closed()
    return echoed


if __name__ == "__main__":
    asyncio.run(main())
