"""The console ↔ engine-host connection: loopback TCP, a one-time token, length-prefixed JSON messages.

Why TCP on 127.0.0.1: it is the one local transport that Linux, macOS and Windows all have (Windows'
Python cannot hand a child a socket by file-descriptor number), so CI on Linux runs the very path Windows
runs. Why a token: any local process can connect to a loopback port. The console listens for one
connection; its first bytes must be the token (a secret the child got on its stdin), checked before
anything else is read, and then the listener closes. Why not pickle: unpickling runs whatever the sender
chose. Messages are JSON (orjson); the only objects rebuilt from them are the dataclasses named in
`WIRE_TYPES` (and `Settings`), field by field.

Writes go through the asyncio transport, which buffers: the engine never blocks on a slow reader.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import importlib
import math
import secrets
import socket
import struct
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any

import orjson

HEADER = struct.Struct("!I")
MAX_MESSAGE = 64 * 1024 * 1024  # a length past this is a broken stream, not a message
TOKEN_BYTES = 32
AUTH_WAIT_S = 5.0  # a connection that does not present the token in this time is dropped
ACCEPT_POLL_S = 0.25  # how often the console checks, while waiting, that the child is still alive

# Types that cross the wire, by name -> module. Imported when first received, as pickle would have done.
WIRE_TYPES: dict[str, str] = {
    "UtteranceResult": "nuanu_tui.core.timeline",
    "UtteranceStarted": "nuanu_tui.core.events",
    "TextDelta": "nuanu_tui.core.events",
    "StageReached": "nuanu_tui.core.events",
    "Notice": "nuanu_tui.core.events",
    "UtteranceFinished": "nuanu_tui.core.events",
    "EngineStatus": "nuanu_tui.core.engine",
    "BenchConfig": "nuanu_tui.core.bench",
    "BenchProgress": "nuanu_tui.core.bench",
    "BenchResult": "nuanu_tui.core.bench",
    "SpecSummary": "nuanu_tui.core.stats",
    "StageStats": "nuanu_tui.core.stats",
    "QualitySummary": "nuanu_tui.core.stats",
    "Quality": "nuanu_tui.core.quality",
    "CompareConfig": "nuanu_tui.core.compare",
    "CompareStarted": "nuanu_tui.core.compare",
    "LaneEvent": "nuanu_tui.core.compare",
    "LaneAudible": "nuanu_tui.core.compare",
    "LaneDiff": "nuanu_tui.core.compare",
    "CompareRound": "nuanu_tui.core.compare",
    "CompareFinished": "nuanu_tui.core.compare",
    "Tally": "nuanu_tui.core.compare",
    "Settings": "nuanu_tui.core.config",
    "RideRequest": "nuanu_tui.core.ride.compose",
    "RideUpdate": "nuanu_tui.core.ride.compose",
    "DirectorConfig": "nuanu_tui.core.ride.director",
    "RideDecision": "nuanu_tui.core.ride.decisions",
    "RideEvent": "nuanu_tui.core.ride.events",
    "Origin": "nuanu_tui.core.ride.events",
    "CameraView": "nuanu_tui.core.ride.tracker",
}
_classes: dict[str, type] = {}


class WireError(Exception):
    """A message that is not one we send: a bug or a broken stream, never silently accepted."""


# --- codec ----------------------------------------------------------------------------------------------
def encode(message: tuple[Any, ...]) -> bytes:
    return orjson.dumps([_out(part) for part in message])


def decode(data: bytes) -> tuple[Any, ...]:
    try:
        parts = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"not a message: {exc}") from None
    if not isinstance(parts, list):
        raise WireError("not a message: expected a list")
    try:
        return tuple(_in(part) for part in parts)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise WireError(f"bad message: {type(exc).__name__}: {exc}") from None


def _out(value: Any) -> Any:
    """Plain JSON for `value`; tuples, odd floats and dataclasses tagged so `_in` rebuilds them exactly."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, list):
        return [_out(v) for v in value]
    if isinstance(value, tuple):
        return {"$t": [_out(v) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _out(v) for k, v in value.items()}
        return {"$d": [[_out(k), _out(v)] for k, v in value.items()]}
    if isinstance(value, PurePath):
        return {"$p": str(value)}
    name = type(value).__name__
    if name not in WIRE_TYPES or _class(name) is not type(value):
        raise TypeError(f"{type(value).__qualname__} cannot be sent to the engine process")
    if dataclasses.is_dataclass(value):
        fields = {f.name: _out(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
    else:  # Settings (pydantic): secrets travel as their values, to our own authenticated child only
        fields = {k: _setting(getattr(value, k)) for k in type(value).model_fields}  # type: ignore[attr-defined]
    return {"$c": name, "v": fields}


def _setting(value: Any) -> Any:
    get = getattr(value, "get_secret_value", None)
    return {"$k": get()} if get is not None else _out(value)


def _in(value: Any) -> Any:
    if isinstance(value, list):
        return [_in(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$c" in value:
        cls = _class(value["$c"])
        fields = {k: _in(v) for k, v in value["v"].items()}
        if dataclasses.is_dataclass(cls):
            return cls(**fields)
        return cls.model_construct(**fields)  # type: ignore[attr-defined]  # validated where it was made
    if "$t" in value:
        return tuple(_in(v) for v in value["$t"])
    if "$d" in value:
        return {_in(k): _in(v) for k, v in value["$d"]}
    if "$f" in value:
        return float(value["$f"])
    if "$p" in value:
        return Path(value["$p"])
    if "$k" in value:
        from pydantic import SecretStr

        return SecretStr(value["$k"])
    return {k: _in(v) for k, v in value.items()}


def _class(name: str) -> type:
    cls = _classes.get(name)
    if cls is None:
        module = WIRE_TYPES.get(name)
        if module is None:
            raise WireError(f"unknown type {name!r}")
        cls = _classes[name] = getattr(importlib.import_module(module), name)
    return cls


# --- connection -----------------------------------------------------------------------------------------
class Channel:
    """One end of the socket: `send` queues a message, `recv` returns the next one (EOFError at the end)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, sock: socket.socket) -> Channel:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small messages go out at once
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer)

    def send(self, *message: Any) -> None:
        if self._writer.is_closing():
            return
        data = encode(message)
        self._writer.write(HEADER.pack(len(data)) + data)

    async def recv(self) -> tuple[Any, ...]:
        try:
            (size,) = HEADER.unpack(await self._reader.readexactly(HEADER.size))
            if size > MAX_MESSAGE:
                raise WireError(f"message of {size} bytes")
            return decode(await self._reader.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise EOFError from exc
        except WireError as exc:  # a broken stream ends the connection like a closed one, with its reason
            raise EOFError(str(exc)) from exc

    async def drain(self) -> None:
        if not self._writer.is_closing():
            await self._writer.drain()

    def close(self) -> None:
        self._writer.close()


def listen() -> tuple[socket.socket, bytes]:
    """A listener on a free loopback port, and the token its one client must present."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: no other process may bind the port over ours
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
    except BaseException:
        listener.close()
        raise
    return listener, secrets.token_bytes(TOKEN_BYTES)


async def accept(
    listener: socket.socket, token: bytes, *, alive: Callable[[], bool], wait_s: float
) -> socket.socket:
    """The first connection that presents `token`. Anything else is closed unread. ConnectionError
    when `alive()` turns false (the child died) or `wait_s` passes first. One accept stays pending while
    the child is checked on (no accept is cancelled and re-armed every poll: Windows' proactor too)."""
    loop = asyncio.get_running_loop()
    listener.setblocking(False)
    deadline = loop.time() + wait_s
    pending: asyncio.Future[tuple[socket.socket, Any]] | None = None
    try:
        while True:
            if not alive():
                raise ConnectionError("the engine process exited before it connected")
            if loop.time() > deadline:
                raise ConnectionError(f"the engine process did not connect within {wait_s:.0f} s")
            if pending is None:
                pending = asyncio.ensure_future(loop.sock_accept(listener))
            done, _ = await asyncio.wait({pending}, timeout=ACCEPT_POLL_S)
            if not done:
                continue
            conn, _ = pending.result()
            pending = None
            conn.setblocking(False)
            try:
                async with asyncio.timeout(AUTH_WAIT_S):
                    presented = await _read_exactly(loop, conn, len(token))
            except (TimeoutError, OSError, EOFError):
                presented = b""
            if hmac.compare_digest(presented, token):
                return conn
            conn.close()
    finally:
        if (
            pending is not None
            and not pending.cancel()
            and not pending.cancelled()
            and not pending.exception()
        ):
            pending.result()[0].close()  # accepted just as we gave up: nobody will use it


async def _read_exactly(loop: asyncio.AbstractEventLoop, conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = await loop.sock_recv(conn, size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def connect(port: int, token: bytes) -> socket.socket:
    """The child's side: connect to the console's port and present the token first."""
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        sock.sendall(token)
    except BaseException:
        sock.close()
        raise
    return sock
