"""Provider health: a provider that keeps failing is marked unavailable, probed in the background, brought back."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from nuanu_tui.core.errors import NuanuError

FAILURES_TO_TRIP = 2
# Faults that say nothing about the provider's health (our input, a cancel) do not count.
NEUTRAL_KINDS = frozenset({"input", "cancelled", "config"})


@dataclass(slots=True)
class Health:
    name: str
    available: bool = True
    consecutive_failures: int = 0
    last_error: str | None = None
    last_fault: NuanuError | None = None  # the fault itself, so a skip can still say (and classify) why
    last_change: float = field(default_factory=time.time)
    probes: int = 0


class HealthBoard:
    """Tracks every provider by name; trips after FAILURES_TO_TRIP faults in a row and probes until it recovers."""

    def __init__(self, probe_min_s: float = 1.0, probe_max_s: float = 30.0) -> None:
        self._items: dict[str, Health] = {}
        self._probes: dict[str, asyncio.Task[None]] = {}
        self._probe_min_s = probe_min_s
        self._probe_max_s = probe_max_s
        self.listeners: list[Callable[[Health], None]] = []

    def get(self, name: str) -> Health:
        item = self._items.get(name)
        if item is None:
            item = self._items[name] = Health(name)
        return item

    def snapshot(self) -> dict[str, Health]:
        return dict(self._items)

    def available(self, name: str) -> bool:
        return self.get(name).available

    def success(self, name: str) -> None:
        item = self.get(name)
        item.consecutive_failures = 0
        if not item.available:
            item.available = True
            item.last_change = time.time()
            self._notify(item)

    def failure(
        self,
        name: str,
        error: NuanuError,
        probe: Callable[[], Awaitable[None]] | None = None,
        *,
        trip: bool = False,
    ) -> None:
        """Count a fault; `trip` marks the provider unavailable at once (it failed warm-up: nothing to lose)."""
        if error.kind in NEUTRAL_KINDS:
            return
        item = self.get(name)
        item.consecutive_failures += 1
        item.last_error = error.message
        item.last_fault = error
        if item.available and (trip or item.consecutive_failures >= FAILURES_TO_TRIP):
            item.available = False
            item.last_change = time.time()
            self._notify(item)
            if probe is not None:
                self._start_probe(name, probe)

    def _start_probe(self, name: str, probe: Callable[[], Awaitable[None]]) -> None:
        task = self._probes.get(name)
        if task is not None and not task.done():
            return
        self._probes[name] = asyncio.create_task(self._probe(name, probe), name=f"probe-{name}")

    async def _probe(self, name: str, probe: Callable[[], Awaitable[None]]) -> None:
        item = self.get(name)
        retrying = AsyncRetrying(
            wait=wait_exponential_jitter(
                multiplier=self._probe_min_s, max=self._probe_max_s, jitter=self._probe_min_s
            ),
            retry=retry_if_exception_type(NuanuError),
            reraise=True,
        )
        with contextlib.suppress(NuanuError):
            async for attempt in retrying:
                with attempt:
                    item.probes += 1
                    await probe()
            self.success(name)

    def _notify(self, item: Health) -> None:
        for listener in self.listeners:
            with contextlib.suppress(Exception):
                listener(item)

    async def aclose(self) -> None:
        for task in self._probes.values():
            task.cancel()
        for task in self._probes.values():
            with contextlib.suppress(BaseException):
                await task
        self._probes.clear()
