"""One way for a test to wait for a state another thread, task or the app brings about: poll it.

Never a fixed sleep: the wait ends as soon as the condition holds, and a condition that never holds fails
with what was awaited instead of hanging the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def until(
    condition: Callable[[], Any],
    what: str = "the condition",
    *,
    timeout: float = 10.0,
    interval: float = 0.01,
    pause: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> None:
    """Poll `condition` every `interval` s until it is true; AssertionError naming `what` after `timeout` s.

    `pause` is how to let others run between polls: `asyncio.sleep`, or a Textual pilot's `pause` so the
    app processes its messages (a thread worker's result lands via call_from_thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never reached in {timeout:g} s: {what}")
        await pause(interval)
