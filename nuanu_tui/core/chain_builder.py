"""The failover chain built off the loop: a chain's spare providers are made in worker threads at start-up.

Building the OpenAI link means `import openai` (~0.9 s here), its HTTP client and a TLS context. Done on the
engine's loop at the first remark, it stalled every feed (and a safety event) for over a second. The engine
starts these builds when it warms; a chain asked for before a build is done gets a `PendingLLM` in that
place, which waits for the thread (never the loop) only if failover really reaches it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.llm.base import LLMProvider, LLMRequest, LLMStats


class PendingLLM:
    """A chain link whose provider is still being built in a thread."""

    def __init__(self, spec: str, built: asyncio.Future[LLMProvider]) -> None:
        self.spec = spec
        self.offline = spec.startswith("offline/")
        self._built = built

    async def provider(self) -> LLMProvider:
        return await asyncio.shield(self._built)

    async def warm(self) -> None:
        await (await self.provider()).warm()

    async def stream(self, request: LLMRequest, stats: LLMStats) -> AsyncIterator[str]:
        provider = await self.provider()
        async for delta in provider.stream(request, stats):
            yield delta

    async def list_models(self) -> list[str]:
        return await (await self.provider()).list_models()

    async def aclose(self) -> None:
        return None  # the built provider belongs to the engine's cache


def _build_and_warm(make: Callable[[str], LLMProvider], spec: str) -> LLMProvider:
    """In the worker thread: construct, then run the provider's local code-path warm-up on a private loop
    (the SDKs cache their request transforms per process, so the engine's loop finds them made)."""
    provider = make(spec)
    warm_code = getattr(provider, "warm_code", None)
    if warm_code is not None:
        with contextlib.suppress(Exception):
            asyncio.run(warm_code())
    if provider.offline:  # the phrasebook spells numbers: its first answer would import num2words on the loop
        from nuanu_tui.core.grammar import preload

        with contextlib.suppress(Exception):
            preload()
    return provider


class ChainBuilder:
    """Starts builds (loop), hands out what is built or still building (loop). `cache` is the engine's."""

    def __init__(self, make: Callable[[str], LLMProvider], cache: dict[str, LLMProvider]) -> None:
        self._make = make
        self._cache = cache
        self._futures: dict[str, asyncio.Future[LLMProvider]] = {}

    def start(self, specs: Iterable[str]) -> None:
        """Build each spec not built or building yet, one worker thread each."""
        loop = asyncio.get_running_loop()
        for spec in specs:
            if spec in self._cache or spec in self._futures:
                continue
            future = loop.run_in_executor(None, _build_and_warm, self._make, spec)
            future.add_done_callback(lambda f, spec=spec: self._built(spec, f))
            self._futures[spec] = future

    def _built(self, spec: str, future: asyncio.Future[LLMProvider]) -> None:
        if not future.cancelled() and future.exception() is None:
            self._cache.setdefault(spec, future.result())

    def link(self, spec: str) -> LLMProvider | None:
        """The provider when built, a `PendingLLM` while building, None when never started. A build that
        failed raises its error (a `ConfigError` for a missing key) here, as building it inline would."""
        provider = self._cache.get(spec)
        if provider is not None:
            return provider
        future = self._futures.get(spec)
        if future is None or future.cancelled():
            return None
        if not future.done():
            return PendingLLM(spec, future)
        error = future.exception()
        if error is not None:
            raise error
        return self._cache.setdefault(spec, future.result())

    @property
    def building(self) -> bool:
        return any(not f.done() for f in self._futures.values())

    async def wait(self) -> None:
        """Until every build has ended (built or failed)."""
        if self._futures:
            await asyncio.gather(*self._futures.values(), return_exceptions=True)

    def errors(self) -> dict[str, str]:
        out = {}
        for spec, f in self._futures.items():
            if f.done() and not f.cancelled() and isinstance(f.exception(), NuanuError):
                out[spec] = f.exception().message  # type: ignore[union-attr]
        return out


__all__ = ["ChainBuilder", "PendingLLM"]
