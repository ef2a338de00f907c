"""A TCP relay on 127.0.0.1 between a browser and the live server, to cut a page's network for real.

Playwright's ``set_offline`` and ``route_web_socket`` act inside the browser; this relay acts on the
wire, as a flaky Wi-Fi or a sleeping laptop does: the browser's own TCP connections are reset, new
ones are refused or hang, and a connection can also go silently dead (no reset, nothing gets
through), which only a heartbeat notices.

    relay = TcpRelay(upstream_port)        # relay.url is the page's origin
    relay.cut("refuse")                     # reset every connection; refuse new ones
    relay.cut("blackhole")                  # reset every connection; accept new ones, pass nothing
    relay.freeze()                          # current WebSockets stay open but pass nothing
    relay.restore()                         # pass traffic again; held connections go through late
    relay.live_websockets()                 # open, unfrozen connections that carried a GET /ws/

The relay runs its own asyncio loop in a daemon thread; every public method is thread-safe.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from dataclasses import dataclass, field

_CHUNK = 65536


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    websocket: bool = False
    tasks: list[asyncio.Task] = field(default_factory=list)
    closed: bool = False
    frozen: bool = False


def _reset(writer: asyncio.StreamWriter | None) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a dropped network path looks to the other end."""
    if writer is None:
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


class TcpRelay:
    def __init__(self, upstream_port: int, *, host: str = "127.0.0.1"):
        self.host = host
        self.upstream_port = upstream_port
        self.mode = "up"  # up | refuse | blackhole
        self._links: set[_Link] = set()
        self._held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._server: asyncio.base_events.Server | None = None
        self.port = 0
        self.connections_made = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="e2e-tcp-relay", daemon=True)
        self._thread.start()
        self._call(self._listen())

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- public, called from the test's thread --------------------------------------------------

    def cut(self, mode: str = "refuse") -> None:
        """Reset every current connection, then refuse (``refuse``) or hang (``blackhole``) new ones."""
        assert mode in ("refuse", "blackhole"), mode
        self._call(self._cut(mode))

    def freeze(self) -> None:
        """Current WebSockets stay open but carry nothing either way from now on (a path that died
        silently: a NAT entry gone, a laptop lid closed); other connections are reset. New
        connections go through."""
        self._call(self._freeze())

    def restore(self, *, release_held: str = "forward") -> None:
        """Carry traffic again. Connections held by a black hole are forwarded late or reset."""
        assert release_held in ("forward", "reset"), release_held
        self._call(self._restore(release_held))

    def live_websockets(self) -> int:
        return self._call(self._count_websockets())

    def close(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    # --- the loop's side ------------------------------------------------------------------------

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, reuse_address=True, limit=_CHUNK)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _freeze(self) -> None:
        for link in list(self._links):
            if link.websocket:
                link.frozen = True
            else:
                self._drop(link)  # an idle keep-alive connection would hang the page's next request

    async def _cut(self, mode: str) -> None:
        self.mode = mode
        if mode == "refuse":
            # Nobody listens on the port: a connect gets "connection refused" at once.
            await self._stop_listening()
        for link in list(self._links):
            self._drop(link)

    async def _restore(self, release_held: str) -> None:
        self.mode = "up"
        if self._server is None:
            await self._listen()
        held, self._held = self._held, []
        for reader, writer in held:
            if release_held == "reset":
                _reset(writer)
            else:
                asyncio.ensure_future(self._forward(reader, writer))

    async def _count_websockets(self) -> int:
        return sum(1 for link in self._links if link.websocket and not link.closed and not link.frozen)

    async def _shutdown(self) -> None:
        await self._stop_listening()
        for link in list(self._links):
            self._drop(link)
        for _, writer in self._held:
            _reset(writer)
        self._held.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "blackhole":
            self._held.append((reader, writer))  # nothing read, nothing answered: the connect hangs
            return
        await self._forward(reader, writer)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(client=writer)
        try:
            up_reader, link.upstream = await asyncio.open_connection(self.host, self.upstream_port, limit=_CHUNK)
        except OSError:
            _reset(writer)
            return
        self.connections_made += 1
        self._links.add(link)
        link.tasks = [
            asyncio.ensure_future(self._pipe(link, reader, link.upstream, from_client=True)),
            asyncio.ensure_future(self._pipe(link, up_reader, writer, from_client=False)),
        ]

    async def _pipe(self, link: _Link, reader, writer, *, from_client: bool) -> None:
        first = True
        try:
            while not link.closed:
                data = await reader.read(_CHUNK)
                if not data:
                    break
                if first and from_client:
                    link.websocket = data.startswith(b"GET /ws/")
                first = False
                if link.frozen:
                    continue  # the bytes are lost on the way, and nobody is told
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not link.closed:
                # One side hung up: pass the end on, as a relay does.
                link.closed = True
                self._links.discard(link)
                for end in (link.client, link.upstream):
                    try:
                        end.close()
                    except Exception:
                        pass

    def _drop(self, link: _Link) -> None:
        link.closed = True
        self._links.discard(link)
        _reset(link.client)
        _reset(link.upstream)
        for task in link.tasks:
            task.cancel()
