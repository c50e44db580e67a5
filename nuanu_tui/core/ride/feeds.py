"""Feeds: adapters that turn a transport's messages into events in one bounded inbox.

- `Inbox`: the bounded queue between every feed and the director. On overflow the oldest non-safety event
  is dropped (`overflow`); rejections are reported at once, never queued, so nothing is lost silently.
- `WebSocketFeed` (`ws://HOST:PORT/events`, one event per message), `UdpFeed` (one event per datagram, at
  most 8 KiB), `LineFeed` (JSON lines or plain text lines from stdin or a file).
Listeners bind to 127.0.0.1 by default. On any other address a token (`NUANU_EVENTS_TOKEN`) is required:
WebSocket clients send it as `Authorization: Bearer …` or `?token=…` and are refused at the handshake (before
any message is read); a UDP datagram carries it in a `token` field, compared before the event is validated.
A token is never logged, recorded or shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import IO, Any, Protocol
from urllib.parse import parse_qs, urlsplit

from nuanu_tui.core.errors import ConfigError
from nuanu_tui.core.ride.events import MAX_EVENT_BYTES, Rejection, RideEvent, parse_event
from nuanu_tui.core.ride.frames import Frame

DEFAULT_HOST = "127.0.0.1"
INBOX_SIZE = 256
WS_MAX_MESSAGE = 1 << 20  # bigger than this closes the connection (1009) and counts as one oversize event
UDP_RECV = 65535


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def required_token(host: str, token: str | None) -> str | None:
    """The token listeners on `host` demand: always when one is configured; refusing to start when a
    non-loopback address has none."""
    if token:
        return token
    if not is_loopback(host):
        raise ConfigError(
            f"listening on {host} needs a token: set NUANU_EVENTS_TOKEN (or bind to {DEFAULT_HOST})"
        )
    return None


class Inbox:
    """Bounded, loop-side queue of events and camera frames (one limit for both). Feeds call `offer` on the
    loop thread."""

    def __init__(
        self, maxsize: int = INBOX_SIZE, on_reject: Callable[[Rejection], None] | None = None
    ) -> None:
        self.maxsize = maxsize
        self._items: deque[RideEvent | Frame] = deque()
        self._ready = asyncio.Event()
        self.on_reject = on_reject or (lambda r: None)
        self.closed = False
        self.peak = 0

    def offer(self, item: RideEvent | Frame | Rejection) -> None:
        if isinstance(item, Rejection):
            self.on_reject(item)
            return
        if len(self._items) >= self.maxsize:
            victim = next((e for e in self._items if e.priority != "safety"), None)
            if victim is None and item.priority != "safety":
                victim = item
            victim = victim or self._items[0]
            if victim is not item:
                self._items.remove(victim)
                self._items.append(item)
            frame = isinstance(victim, Frame)
            self.on_reject(
                Rejection(
                    "overflow",
                    "queue full",
                    victim.received_at,
                    victim.source,
                    victim.id,
                    victim,
                    frame=frame,
                )
            )
        else:
            self._items.append(item)
        self.peak = max(self.peak, len(self._items))
        self._ready.set()

    def feed_raw(self, raw: bytes | str, source: str, token: str | None = None) -> None:
        self.offer(parse_event(raw, source=source, token=token))

    def __len__(self) -> int:
        return len(self._items)

    async def get(self) -> RideEvent | Frame | None:
        """The next event; None once closed and drained."""
        while not self._items:
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def get_nowait(self) -> RideEvent | Frame | None:
        return self._items.popleft() if self._items else None

    def close(self) -> None:
        self.closed = True
        self._ready.set()


class Feed(Protocol):
    name: str

    async def start(self, inbox: Inbox) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class WebSocketFeed:
    """`ws://HOST:PORT/events`: one JSON object (or plain text trigger) per text message."""

    port: int
    host: str = DEFAULT_HOST
    token: str | None = None
    name: str = "ws"
    _server: Any = None
    bound_port: int = 0

    async def start(self, inbox: Inbox) -> None:
        from websockets.asyncio.server import serve

        token = required_token(self.host, self.token)

        def check(connection: Any, request: Any) -> Any:
            url = urlsplit(request.path)
            if url.path != "/events":
                return connection.respond(HTTPStatus.NOT_FOUND, "use /events\n")
            if token is not None:
                header = request.headers.get("Authorization", "")
                given = header[7:] if header.lower().startswith("bearer ") else ""
                given = given or (parse_qs(url.query).get("token") or [""])[0]
                if not hmac.compare_digest(given.encode(), token.encode()):
                    inbox.offer(Rejection("unauthorized", "WebSocket without the right token", _now(), "ws"))
                    return connection.respond(HTTPStatus.UNAUTHORIZED, "token required\n")
            return None

        async def handler(ws: Any) -> None:
            from websockets.exceptions import ConnectionClosed

            try:
                async for message in ws:
                    inbox.feed_raw(message, "ws")
            except ConnectionClosed as exc:
                if exc.rcvd is None and exc.sent is not None and exc.sent.code == 1009:
                    inbox.offer(Rejection("malformed", "oversize: message too big", _now(), "ws"))

        self._server = await serve(
            handler, self.host, self.port, process_request=check, max_size=WS_MAX_MESSAGE, max_queue=64
        )
        self.bound_port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()
            self._server = None


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, inbox: Inbox, token: str | None) -> None:
        self.inbox, self.token = inbox, token

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.inbox.feed_raw(data, "udp", self.token)


@dataclass(slots=True)
class UdpFeed:
    """One event per datagram (at most 8 KiB); with a token, each datagram carries it in `token`."""

    port: int
    host: str = DEFAULT_HOST
    token: str | None = None
    name: str = "udp"
    _transport: Any = None
    bound_port: int = 0

    async def start(self, inbox: Inbox) -> None:
        token = required_token(self.host, self.token)
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Datagrams(inbox, token), local_addr=(self.host, self.port)
        )
        sock = self._transport.get_extra_info("socket")
        with contextlib.suppress(OSError):
            import socket

            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        self.bound_port = sock.getsockname()[1]

    async def aclose(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None


@dataclass(slots=True)
class LineFeed:
    """JSON lines (or plain text triggers) from stdin or an open file; `#` lines and blanks are skipped.
    Reading happens in a thread, so a slow pipe never blocks the loop. `done` is set at end of input."""

    stream: IO[bytes] | None = None
    name: str = "stdin"
    done: asyncio.Event | None = None

    async def start(self, inbox: Inbox) -> None:
        loop = asyncio.get_running_loop()
        # stdin is read from its descriptor: a daemon thread blocked inside `sys.stdin.buffer` holds that
        # object's lock, and the interpreter aborts at exit ("Fatal Python error: _enter_buffered_busy").
        lines = iter(self.stream) if self.stream is not None else fd_lines(sys.stdin.fileno())
        done = self.done = asyncio.Event()

        def pump() -> None:
            try:
                for line in lines:
                    if len(line) <= MAX_EVENT_BYTES + 2:
                        line = line.strip()
                        if not line or line.startswith(b"#"):
                            continue
                    loop.call_soon_threadsafe(inbox.feed_raw, line, self.name)
            except (OSError, ValueError):
                pass  # the stream was closed under us: end of input
            finally:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(done.set)

        # A daemon thread: a blocking read on a terminal must not keep the process alive at exit.
        threading.Thread(target=pump, name=f"feed-{self.name}", daemon=True).start()

    async def aclose(self) -> None:
        return None


def fd_lines(fd: int, size: int = 65536) -> Iterator[bytes]:
    """Lines (without their newline) read from a raw descriptor in chunks, no buffered object involved."""
    tail = b""
    while chunk := os.read(fd, size):
        tail += chunk
        *lines, tail = tail.split(b"\n")
        yield from lines
    if tail:
        yield tail


def _now() -> float:
    import time

    return time.time()


__all__ = ["DEFAULT_HOST", "Feed", "Inbox", "LineFeed", "UdpFeed", "WebSocketFeed", "is_loopback"]
