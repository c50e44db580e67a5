"""Monotonic clock helpers: every stage is measured with perf_counter_ns, never wall time."""

from __future__ import annotations

import time

now_ns = time.perf_counter_ns


def ms_between(start_ns: int, end_ns: int) -> float:
    """Milliseconds between two perf_counter_ns readings, rounded to 0.1 µs to keep JSON short."""
    return round((end_ns - start_ns) / 1e6, 4)
