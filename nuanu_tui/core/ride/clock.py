"""Ride time: wall time live, the recording's time in a replay, virtual time at `--speed max`."""

from __future__ import annotations

import math
import time
from typing import Any


class RideClock:
    """Ride time in seconds (epoch-like). Live: wall time. Replay: recording time at `speed`. Virtual: set."""

    def __init__(self, speed: float | None = 1.0, origin: float | None = None) -> None:
        self.speed = speed  # None: virtual (--speed max)
        self._origin = origin
        self._t0 = time.monotonic()
        self._virtual = origin or 0.0

    @property
    def virtual(self) -> bool:
        return self.speed is None

    def now(self) -> float:
        if self.speed is None:
            return self._virtual
        if self._origin is None:
            return time.time()
        return self._origin + (time.monotonic() - self._t0) * self.speed

    def advance_to(self, t: float) -> None:
        if self.speed is None and t > self._virtual:
            self._virtual = t

    def real_s(self, ride_s: float) -> float:
        """How long `ride_s` of ride time lasts in real time."""
        return ride_s / self.speed if self.speed else 0.0


def epoch_seconds(value: Any) -> float | None:
    """An event's or frame's `ts`: absent, or positive finite wall-clock seconds (a bool is not a number)."""
    if isinstance(value, bool) or (value is not None and not isinstance(value, int | float)):
        raise ValueError("must be a number (seconds since the epoch)")
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise ValueError("must be a positive finite number")
    return None if value is None else float(value)
