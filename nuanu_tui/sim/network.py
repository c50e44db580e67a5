"""Network profiles for the emulator: the round trips a shuttle's Wi-Fi or LTE link adds to every provider.

The emulator is plain loopback, so it charges what a real link costs in its own accept and write paths:
- a new connection pays the TCP handshake and a TLS 1.3 handshake (one round trip each) before its first
  request is read; a WebSocket upgrade pays one more round trip for the 101 reply;
- every request travels one way before the server sees it, and every response or streamed message one way
  back, each with its own jitter, in order (TCP never reorders);
- loss is what TCP makes of it: the lost segment is retransmitted after an RTO, stalling that message and
  every message behind it on the connection. No data is ever lost.
Delays are taken against the message's scheduled time, never "now + delay" after the previous wait, so a
fast stream keeps its pace and only shifts by the link's latency.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import Callable
from typing import Any

from aiohttp import web

from nuanu_tui.core.netprofile import MIN_RTO_MS, NET_PROFILES, NetProfile, net_spec, parse_net

__all__ = [
    "LINK",
    "MIN_RTO_MS",
    "NET_PROFILES",
    "Link",
    "LinkTable",
    "NetProfile",
    "deliver_at",
    "net_spec",
    "parse_net",
    "set_precise_timing",
    "sleep_until",
]

# Spin for the last stretch of every injected delay (benchmarks): epoll rounds its timeout up to whole
# milliseconds, which would add up to 1 ms per wait to the floor and be counted as the client's overhead.
_spin_s = 0.0


def set_precise_timing(enabled: bool, spin_ms: float = 2.0) -> None:
    global _spin_s
    _spin_s = spin_ms / 1000 if enabled else 0.0


async def sleep_until(deadline: float) -> None:
    """Wait until loop time `deadline` (every injected delay goes through here)."""
    loop = asyncio.get_running_loop()
    delay = deadline - loop.time() - _spin_s
    if delay > 0:
        await asyncio.sleep(delay)
    if _spin_s:
        while loop.time() < deadline:
            await asyncio.sleep(0)  # yields to the other connections while spinning


class Link:
    """One emulated connection: both directions keep their order, and read the server's current profile on
    every message (so a profile switched live applies to sockets already open)."""

    __slots__ = ("_down", "_net", "_rng", "_up")

    def __init__(self, net: object, rng: random.Random) -> None:
        self._net = net  # anything with a `.net` NetProfile attribute: the server, switchable live
        self._rng = rng
        self._up = 0.0
        self._down = 0.0

    @property
    def profile(self) -> NetProfile:
        return self._net.net  # type: ignore[attr-defined, no-any-return]

    def _one_way_s(self, p: NetProfile) -> float:
        ms = p.rtt_ms / 2 + (self._rng.uniform(-0.5, 0.5) * p.jitter_ms if p.jitter_ms else 0.0)
        if p.loss_pct and self._rng.random() * 100 < p.loss_pct:
            ms += p.rto_ms
        return max(ms, 0.0) / 1000.0

    def _after(self, sent_at: float, last: float) -> float:
        p = self.profile
        return sent_at if p.is_zero else max(sent_at + self._one_way_s(p), last)

    def arrive(self, sent_at: float) -> float:
        """When a client message sent at `sent_at` reaches the server (loop time)."""
        self._up = self._after(sent_at, self._up)
        return self._up

    def deliver(self, sent_at: float) -> float:
        """When a server message written at `sent_at` reaches the client (loop time)."""
        self._down = self._after(sent_at, self._down)
        return self._down

    def handshake_s(self, round_trips: int) -> float:
        """Time for `round_trips` full round trips (TCP, TLS …), each with its own jitter and loss."""
        p = self.profile
        if p.is_zero:
            return 0.0
        return sum(self._one_way_s(p) + self._one_way_s(p) for _ in range(round_trips))


LINK = web.RequestKey("nuanu.link", Link)


def deliver_at(request: web.Request, t: float) -> float:
    """When a write scheduled for loop time `t` reaches the client over this request's link."""
    link = request.get(LINK)
    return t if link is None else link.deliver(t)


class LinkTable:
    """Every open connection's link, and the middleware that charges a request's handshakes and trips.

    `net` is the server (anything with a live `.net` profile); `opened` counts the TCP connections that paid
    the handshakes (HTTP and WebSocket)."""

    def __init__(self, net: object, seed: int | None) -> None:
        self._net = net
        self._rng = random.Random(seed)
        self._links: weakref.WeakKeyDictionary[Any, Link] = weakref.WeakKeyDictionary()
        self.opened = 0

    def _link(self, request: web.Request) -> tuple[Link, bool]:
        """The connection's link, and whether this is its first request (the handshakes are still due)."""
        transport = request.transport
        link = self._links.get(transport) if transport is not None else None
        if link is not None:
            return link, False
        link = Link(self._net, self._rng)
        self.opened += 1
        if transport is not None:
            self._links[transport] = link
        return link, True

    @web.middleware
    async def middleware(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        """TCP + TLS 1.3 handshakes on a new connection, the request's trip in, a plain reply's trip out.
        Streaming handlers time their own writes with `request[LINK]` (see `deliver_at`)."""
        link, fresh = self._link(request)
        request[LINK] = link
        loop = asyncio.get_running_loop()
        if fresh:
            await sleep_until(loop.time() + link.handshake_s(2))
        await sleep_until(link.arrive(loop.time()))
        try:
            resp = await handler(request)
        except web.HTTPException:
            await sleep_until(link.deliver(loop.time()))
            raise
        if not resp.prepared:
            await sleep_until(link.deliver(loop.time()))
        return resp
