"""Loop stalls, measured: asyncio's own slow-callback detection plus what each callback really cost.

A callback that runs 25 ms of wall time on a busy 2-core machine may have spent 20 of them waiting for a CPU
(the kernel's run queue), which is no stall of ours. So each callback on a watched loop is timed twice: wall
time, and the thread's run-queue wait over the same span (Linux: `/proc/self/task/TID/schedstat`, elsewhere
zero). `own_ms` = wall - run-queue wait is what the callback itself held the loop for: work, blocking calls,
waiting for the GIL held by another thread of ours.

asyncio's debug mode (threshold `slow_callback_duration`) still decides what is reported, as the issue asks;
`LoopWatch.reports` are its reports with that breakdown. `LoopWatch.spans` keeps every callback of at least
`keep_ms` (wall), so a benchmark can say the longest stall per phase even when nothing crossed the threshold.
Used by the stall test and `benchmarks/first_second.py`; never by the engine itself (debug mode costs time).
"""

from __future__ import annotations

import asyncio
import asyncio.events
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

THRESHOLD_S = 0.02


@dataclass(frozen=True, slots=True)
class Span:
    """One callback on the watched loop: when it ended (wall clock), how long, and how much was ours."""

    ended_at: float
    wall_ms: float
    runq_ms: float
    what: str = ""

    @property
    def own_ms(self) -> float:
        return max(0.0, self.wall_ms - self.runq_ms)


class _SchedStat:
    """The calling thread's run-queue wait in ns (0 where the kernel does not say)."""

    def __init__(self) -> None:
        self._fd: int | None = None
        if sys.platform.startswith("linux"):
            try:
                self._fd = os.open(f"/proc/self/task/{threading.get_native_id()}/schedstat", os.O_RDONLY)
            except OSError:
                self._fd = None

    def runq_ns(self) -> int:
        if self._fd is None:
            return 0
        try:
            return int(os.pread(self._fd, 64, 0).split()[1])
        except (OSError, IndexError, ValueError):
            return 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


_watches: dict[int, LoopWatch] = {}  # loop thread ident -> its watch
_original_run: Callable[[Any], None] | None = None


def _timed_run(handle: Any) -> None:
    watch = _watches.get(threading.get_ident())
    if watch is None:
        _original_run(handle)  # type: ignore[misc]
        return
    stat = watch._stat
    q0, t0 = stat.runq_ns(), time.perf_counter_ns()
    try:
        _original_run(handle)  # type: ignore[misc]
    finally:
        q1 = stat.runq_ns()
        t1 = time.perf_counter_ns()
        watch._ended(handle, (t1 - t0) / 1e6, max(0, q1 - q0) / 1e6)


class _Reports(logging.Handler):
    def __init__(self, watch: LoopWatch) -> None:
        super().__init__()
        self.watch = watch

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.watch.thread_id or not str(record.msg).startswith("Executing"):
            return
        self.watch._reported(record)


class LoopWatch:
    """Install on the running loop (`start`), read `reports` / `spans`, `stop` when done."""

    def __init__(self, threshold_s: float = THRESHOLD_S, keep_ms: float = 5.0) -> None:
        self.threshold_s = threshold_s
        self.keep_ms = keep_ms
        self.reports: list[Span] = []  # asyncio's slow-callback reports, with the breakdown
        self.spans: list[Span] = []  # every callback of at least keep_ms wall time
        self.callbacks = 0
        self.thread_id = 0
        self._last: Span | None = None
        self._stat = _SchedStat()
        self._handler = _Reports(self)
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> LoopWatch:
        """Call on the loop's own thread (the schedstat file is this thread's)."""
        global _original_run
        self._loop = loop or asyncio.get_running_loop()
        self.thread_id = threading.get_ident()
        self._stat = _SchedStat()
        self._loop.set_debug(True)
        self._loop.slow_callback_duration = self.threshold_s
        logger = logging.getLogger("asyncio")
        logger.addHandler(self._handler)
        if logger.level == logging.NOTSET or logger.level > logging.WARNING:
            logger.setLevel(logging.WARNING)
        if _original_run is None:
            _original_run = asyncio.events.Handle._run
            asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]
        _watches[self.thread_id] = self
        return self

    def stop(self) -> None:
        global _original_run
        _watches.pop(self.thread_id, None)
        logging.getLogger("asyncio").removeHandler(self._handler)
        if not _watches and _original_run is not None:
            asyncio.events.Handle._run = _original_run  # type: ignore[method-assign]
            _original_run = None
        if self._loop is not None and not self._loop.is_closed():
            self._loop.set_debug(False)
        self._stat.close()

    # --- called on the loop's thread -----------------------------------------------------------------
    def _ended(self, handle: Any, wall_ms: float, runq_ms: float) -> None:
        self.callbacks += 1
        span = Span(time.time(), wall_ms, runq_ms)
        self._last = span
        if wall_ms >= self.keep_ms:
            self.spans.append(Span(span.ended_at, wall_ms, runq_ms, _what(handle)))

    def _reported(self, record: logging.LogRecord) -> None:
        """asyncio logs right after the callback returns, on the same thread: `_last` is that callback."""
        last = self._last
        args = record.args if isinstance(record.args, tuple) else ()
        wall_ms = float(args[1]) * 1000.0 if len(args) > 1 else (last.wall_ms if last else 0.0)
        runq_ms = min(last.runq_ms, wall_ms) if last is not None else 0.0
        ended_at = last.ended_at if last is not None else time.time()
        self.reports.append(Span(ended_at, wall_ms, runq_ms, _what_from(record)))

    # --- reading ------------------------------------------------------------------------------------
    def stalls(self, since: float | None = None, until: float | None = None) -> list[Span]:
        """Reports whose callback held the loop itself (own time, run-queue wait taken out) over the
        threshold, between two wall-clock moments."""
        limit = self.threshold_s * 1000.0
        return [
            r
            for r in self.reports
            if r.own_ms >= limit
            and (since is None or r.ended_at >= since)
            and (until is None or r.ended_at < until)
        ]

    def longest(self, since: float | None = None, until: float | None = None) -> Span | None:
        """The longest callback (own time) between two wall-clock moments, reported or not."""
        inside = [
            s
            for s in [*self.spans, *self.reports]
            if (since is None or s.ended_at >= since) and (until is None or s.ended_at < until)
        ]
        return max(inside, key=lambda s: s.own_ms, default=None)


def _what(handle: Any) -> str:
    cb = getattr(handle, "_callback", None)
    owner = getattr(cb, "__self__", None)
    coro = getattr(owner, "get_coro", None)
    if callable(coro):
        c = coro()
        return getattr(c, "__qualname__", type(c).__name__)
    return getattr(cb, "__qualname__", repr(cb))[:120]


def _what_from(record: logging.LogRecord) -> str:
    text = record.getMessage()
    start = text.find("coro=<")
    if start >= 0:
        return text[start + 6 : text.find(" ", start)]
    return text[10:130]


__all__ = ["THRESHOLD_S", "LoopWatch", "Span"]
