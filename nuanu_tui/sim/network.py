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
import re
from dataclasses import dataclass

# Linux's minimum retransmission timeout; RFC 6298 computes srtt + 4·rttvar above that.
MIN_RTO_MS = 200.0


@dataclass(frozen=True, slots=True)
class NetProfile:
    """`rtt_ms`: mean round trip; `jitter_ms`: spread of each one-way trip (uniform ±jitter/2, so a round trip
    stays within ±jitter of the mean); `loss_pct`: chance that a message waits for one RTO."""

    name: str
    rtt_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0

    @property
    def is_zero(self) -> bool:
        return self.rtt_ms <= 0 and self.jitter_ms <= 0 and self.loss_pct <= 0

    @property
    def rto_ms(self) -> float:
        return max(MIN_RTO_MS, self.rtt_ms + 4 * self.jitter_ms)

    def label(self) -> str:
        if self.name != "custom":
            return self.name
        return f"rtt {self.rtt_ms:g} ms, jitter {self.jitter_ms:g} ms, loss {self.loss_pct:g} %"

    def spec(self) -> str:
        """The string `parse_net` turns back into this profile (settings, the wire to the engine process)."""
        if self.name in NET_PROFILES and NET_PROFILES[self.name] == self:
            return self.name
        return f"rtt={self.rtt_ms:g},jitter={self.jitter_ms:g},loss={self.loss_pct:g}"


NET_PROFILES: dict[str, NetProfile] = {
    p.name: p
    for p in (
        NetProfile("loopback"),
        NetProfile("wifi", rtt_ms=20.0, jitter_ms=4.0),
        NetProfile("lte", rtt_ms=80.0, jitter_ms=15.0),
        NetProfile("bad", rtt_ms=250.0, jitter_ms=60.0, loss_pct=2.0),
    )
}

_CUSTOM = re.compile(r"(rtt|jitter|loss)=([0-9]+(?:\.[0-9]+)?)")


def parse_net(spec: str | NetProfile | None) -> NetProfile:
    """`loopback|wifi|lte|bad` or `rtt=MS,jitter=MS,loss=PCT` (any subset). ValueError says what is allowed."""
    if isinstance(spec, NetProfile):
        return spec
    text = (spec or "loopback").strip().lower()
    if text in NET_PROFILES:
        return NET_PROFILES[text]
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = _CUSTOM.fullmatch(part)
        if m is None:
            raise ValueError(
                f"bad network profile {spec!r}: use {'|'.join(NET_PROFILES)} or rtt=MS,jitter=MS,loss=PCT"
            )
        values[m.group(1)] = float(m.group(2))
    if not values:
        raise ValueError(f"bad network profile {spec!r}: use {'|'.join(NET_PROFILES)}")
    loss = values.get("loss", 0.0)
    if loss >= 100:
        raise ValueError(f"bad network profile {spec!r}: loss must be below 100 %")
    return NetProfile("custom", values.get("rtt", 0.0), values.get("jitter", 0.0), loss)


def net_spec(name: str | None, rtt: float | None, jitter: float | None, loss: float | None) -> str | None:
    """The CLI's `--net` / `--rtt --jitter --loss` as one spec; explicit numbers override the preset's."""
    if rtt is None and jitter is None and loss is None:
        return name
    base = parse_net(name)
    for label, value in (("rtt", rtt), ("jitter", jitter), ("loss", loss)):
        if value is not None and value < 0:
            raise ValueError(f"--{label} must not be negative")
    custom = NetProfile(
        "custom",
        base.rtt_ms if rtt is None else rtt,
        base.jitter_ms if jitter is None else jitter,
        base.loss_pct if loss is None else loss,
    )
    return parse_net(custom.spec()).spec()


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
