"""A TCP proxy we can cut: ``cut()`` resets every established connection and every new one (RST), as a
network partition or a dead host looks to a client; ``restore()`` lets connections through again.

    with TcpProxy("127.0.0.1", 5432) as proxy:      # listens on 127.0.0.1:proxy.port
        proxy.cut(); ...; proxy.restore()

The listening port stays open while cut (so the client sees resets, not "connection refused" from
nothing). Runs its own asyncio loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from typing import Self


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self._port = port
        self.is_cut = False
        self.connections = 0  # accepted and forwarded, ever
        self.resets = 0  # connections reset by cut()/while cut
        self._live: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> Self:
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self._stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cut(self) -> None:
        """From now on reset new connections; reset every established one."""
        self._call(self._cut())

    def restore(self) -> None:
        self.is_cut = False

    # -- the loop's side ------------------------------------------------------------------------------

    def _call(self, coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self._port, reuse_address=True)
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        await self._cut()
        self.is_cut = True
        if self._server is not None:
            self._server.close()

    async def _cut(self) -> None:
        self.is_cut = True
        for writer in list(self._live):
            _reset(writer)
            self.resets += 1
        self._live.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            self.resets += 1
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        self.connections += 1
        pair = {writer, up_writer}
        self._live |= pair
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._live -= pair
            for w in pair:
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                if self.is_cut:
                    break
                writer.write(chunk)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if self.is_cut:
                _reset(writer)
            else:
                with contextlib.suppress(OSError, RuntimeError):
                    writer.write_eof()
