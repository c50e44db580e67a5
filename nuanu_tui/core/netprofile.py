"""Network profiles: what a link (loopback, Wi-Fi, LTE, a bad street) adds to every round trip.

Pure values and their parser, shared by the settings check, the CLI, the console's palette and the emulator
(`sim/network.py` charges them); kept in core so validating `NUANU_SIM_NET` loads nothing of the emulator.
"""

from __future__ import annotations

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
