"""Framing for the UI ↔ engine-host socket: length-prefixed pickles over a local stream socket.

Writes go through the asyncio transport, which buffers: the engine never blocks on a slow reader. Both ends
are our own processes (spawned from the same interpreter and package), so pickle is safe here.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct
from typing import Any

HEADER = struct.Struct("!I")


class Channel:
    """One end of the socket: `send` queues a message, `recv` returns the next one (EOFError at the end)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, sock: socket.socket) -> Channel:
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer)

    def send(self, *message: Any) -> None:
        if self._writer.is_closing():
            return
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._writer.write(HEADER.pack(len(data)) + data)

    async def recv(self) -> tuple[Any, ...]:
        try:
            (size,) = HEADER.unpack(await self._reader.readexactly(HEADER.size))
            message = pickle.loads(await self._reader.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise EOFError from exc
        return message  # type: ignore[no-any-return]

    async def drain(self) -> None:
        if not self._writer.is_closing():
            await self._writer.drain()

    def close(self) -> None:
        self._writer.close()
