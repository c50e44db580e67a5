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

import random

from nuanu_tui.core.netprofile import MIN_RTO_MS, NET_PROFILES, NetProfile, net_spec, parse_net

__all__ = ["MIN_RTO_MS", "NET_PROFILES", "Link", "NetProfile", "net_spec", "parse_net"]


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
