"""Bring a dead engine back: restarts with exponential backoff (tenacity), and the cause in `engine.log`.

Sits above the transport: it only calls an engine factory (`RemoteEngine.spawn` in the console) and never
looks at how the engine process is reached. An engine that dies again soon after a restart waits longer
before the next one (a crash loop backs off to RESTART_MAX_S); one that stayed up STABLE_S starts afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

RESTART_BASE_S = 0.5
RESTART_MAX_S = 30.0
STABLE_S = 60.0  # an engine that ran this long before dying is not part of a crash loop


def log_line(path: Path | None, text: str) -> None:
    """Append one timestamped line to the engine's log (the console's side of what happened to it): a
    killed process cannot write its own last words."""
    if path is None:
        return
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with contextlib.suppress(OSError), open(path, "a", encoding="utf-8") as f:
        f.write(f"{stamp} console: {text}\n")


class EngineSupervisor:
    """Restarts an engine through `factory` after it died; `restart` returns the new engine."""

    def __init__(
        self,
        factory: Callable[[], Awaitable[Any]],
        *,
        clock: Callable[[], float] = time.monotonic,
        base_s: float = RESTART_BASE_S,
        max_s: float = RESTART_MAX_S,
    ) -> None:
        self._factory = factory
        self._clock = clock
        self.base_s, self.max_s = base_s, max_s
        self._started_at = clock()
        self.crashes = 0  # deaths in the current streak

    def started(self) -> None:
        """An engine is up (first start or a restart)."""
        self._started_at = self._clock()

    def died(self) -> float:
        """Count a death; returns how long to wait before the first restart attempt."""
        if self._clock() - self._started_at >= STABLE_S:
            self.crashes = 0
        self.crashes += 1
        return min(self.max_s, self.base_s * 2 ** (self.crashes - 1))

    async def restart(
        self,
        delay: float,
        on_attempt: Callable[[int], None],
        on_failure: Callable[[BaseException, float], None],
    ) -> Any:
        """Wait `delay`, then create the engine, retrying failed starts with exponential backoff until one
        works (or the caller cancels). `on_attempt(n)` runs before each attempt, `on_failure(error, wait)`
        after each failed one."""
        await asyncio.sleep(delay)

        def failed(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            if error is not None:
                on_failure(error, wait)

        retrying = AsyncRetrying(
            wait=wait_exponential(multiplier=self.base_s, min=delay, max=self.max_s),
            retry=retry_if_exception_type(Exception),
            before_sleep=failed,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                on_attempt(attempt.retry_state.attempt_number)
                engine = await self._factory()
        self.started()
        return engine
