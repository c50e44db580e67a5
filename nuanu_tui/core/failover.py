"""Deadline-driven LLM failover: a chain of providers behind the ordinary LLMProvider seam.

The pipeline sees one stream. If the serving provider errors, or has not produced its first content token
within the TTFT budget, the next provider in the chain starts (optionally early: hedging). The last link is
normally offline/phrasebook, so the shuttle never goes silent. Who served and why is left in LLMStats.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.health import HealthBoard
from nuanu_tui.core.llm.base import LLMProvider, LLMRequest, LLMStats

_DONE = object()


@dataclass(frozen=True, slots=True)
class FailoverPolicy:
    ttft_budget_ms: float = 1500.0
    hedge_ms: float | None = None  # start the next provider this early if no token yet; first answer wins


class _Attempt:
    """One provider's stream running in its own task, feeding a queue."""

    def __init__(self, provider: LLMProvider, request: LLMRequest) -> None:
        self.provider = provider
        self.stats = LLMStats()
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.first = asyncio.Event()  # set at the first content token, or at the end (error or done)
        self.token_seen = False
        self.fault: NuanuError | None = None
        self.task = asyncio.create_task(self._run(request), name=f"llm-{provider.spec}")

    async def _run(self, request: LLMRequest) -> None:
        try:
            async for delta in self.provider.stream(request, self.stats):
                self.token_seen = True
                self.queue.put_nowait(delta)
                self.first.set()
            self.queue.put_nowait(_DONE)
        except NuanuError as exc:
            self.fault = exc
            self.queue.put_nowait(exc)
        except Exception as exc:  # an unmapped fault still ends this attempt, never the utterance
            self.fault = NuanuError("llm_error", f"{self.provider.spec}: {type(exc).__name__}: {exc}")
            self.queue.put_nowait(self.fault)
        finally:
            self.first.set()

    def cancel(self) -> None:
        if not self.task.done():
            self.task.cancel()


class FailoverLLM:
    """An LLMProvider made of a chain. `spec` is the primary's; `stats.served_by` tells who really answered."""

    def __init__(
        self,
        chain: Sequence[LLMProvider],
        policy: FailoverPolicy,
        health: HealthBoard,
        *,
        spec: str | None = None,
        skipped: Sequence[str] = (),
    ) -> None:
        """`spec`: what was asked for, when its link could not even be built; `skipped`: why not."""
        if not chain:
            raise ValueError("empty failover chain")
        self.chain = list(chain)
        self.policy = policy
        self.health = health
        self.skipped = list(skipped)
        self.spec = spec or self.chain[0].spec
        self.offline = self.chain[0].offline

    async def warm(self) -> None:
        await self.chain[0].warm()

    async def list_models(self) -> list[str]:
        return await self.chain[0].list_models()

    async def aclose(self) -> None:
        return None  # the providers belong to the engine's cache

    def _candidates(self) -> list[LLMProvider]:
        """Skip providers marked unavailable (they are being probed), but never skip the last resort."""
        out = [p for p in self.chain[:-1] if self.health.available(p.spec)]
        return [*out, self.chain[-1]]

    async def stream(self, request: LLMRequest, stats: LLMStats) -> AsyncIterator[str]:
        candidates = self._candidates()
        skipped = [p.spec for p in self.chain[:-1] if p not in candidates]
        reasons: list[str] = [*self.skipped, *(self._unavailable(spec) for spec in skipped)]
        attempts: list[_Attempt] = []
        winner: _Attempt | None = None
        try:
            index = 0
            retried: set[str] = set()  # one retry per provider per utterance, whatever the service says
            while winner is None and index < len(candidates):
                provider = candidates[index]
                attempt = _Attempt(provider, request)
                attempts.append(attempt)
                winner, fault = await self._await_first(attempt, attempts, last=index == len(candidates) - 1)
                if winner is None and fault is None:  # hedged: the next provider starts while this one runs
                    reasons.append(
                        f"{provider.spec}: no first token within {self.policy.hedge_ms:.0f} ms, hedged"
                    )
                elif winner is None and fault is not None:
                    if fault.kind == "llm_rate_limit" and self._retry_fits(fault, provider.spec, retried):
                        await asyncio.sleep(fault.retry_after or 0)
                        continue  # same provider once more: the service said when
                    reasons.append(fault.message)
                    self._failure(provider, fault)
                index += 1
            if winner is None:
                raise NuanuError(
                    "llm_all_failed",
                    "every LLM in the chain failed: " + "; ".join(reasons or ["no provider"]),
                )
            for other in attempts:
                if other is not winner:
                    other.cancel()
            stats.provider_timings = winner.stats.provider_timings
            stats.served_by = winner.provider.spec
            stats.served_offline = winner.provider.offline
            stats.failover_reasons = reasons
            async for delta in self._drain(winner, stats):
                yield delta
        finally:
            for attempt in attempts:
                attempt.cancel()

    def _unavailable(self, spec: str) -> str:
        why = self.health.get(spec).last_error
        return f"{spec}: marked unavailable" + (f" ({why})" if why else "")

    def _retry_fits(self, fault: NuanuError, spec: str, retried: set[str]) -> bool:
        if fault.retry_after is None or spec in retried:
            return False
        retried.add(spec)
        return fault.retry_after * 1000 <= self.policy.ttft_budget_ms

    async def _await_first(
        self, attempt: _Attempt, attempts: list[_Attempt], *, last: bool
    ) -> tuple[_Attempt | None, NuanuError | None]:
        """Wait until some attempt has a token (the winner), this attempt ends without one, or time runs out.

        Returns (winner, None), (None, fault) or, when hedging, (None, None) to start the next one early.
        """
        started = time.perf_counter()
        deadline = None if last else started + self.policy.ttft_budget_ms / 1000
        hedge_at = None if last or self.policy.hedge_ms is None else started + self.policy.hedge_ms / 1000
        while True:
            for a in attempts:
                if a.token_seen:
                    return a, None
            if attempt.first.is_set():
                return None, attempt.fault or NuanuError(
                    "llm_empty", f"{attempt.provider.spec} returned an empty answer"
                )
            limit = hedge_at if hedge_at is not None else deadline
            timeout = None if limit is None else limit - time.perf_counter()
            if timeout is not None and timeout <= 0:
                if hedge_at is not None:
                    return None, None  # keep this one running; the next starts now and the first answer wins
                attempt.cancel()
                budget = self.policy.ttft_budget_ms
                return None, NuanuError(
                    "llm_deadline", f"{attempt.provider.spec}: no first token within {budget:.0f} ms"
                )
            waiters = [asyncio.ensure_future(a.first.wait()) for a in attempts if not a.first.is_set()]
            _, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for w in pending:
                w.cancel()

    async def _drain(self, attempt: _Attempt, stats: LLMStats) -> AsyncIterator[str]:
        while True:
            item = await attempt.queue.get()
            if item is _DONE:
                self.health.success(attempt.provider.spec)
                stats.tokens = attempt.stats.tokens
                stats.provider_timings = attempt.stats.provider_timings  # filled by the last chunk
                stats.finish_reason = attempt.stats.finish_reason
                return
            if isinstance(item, NuanuError):
                # Mid-answer fault: what was said stays said; the utterance ends here, flagged.
                stats.tokens = attempt.stats.tokens
                stats.fault = item
                self._failure(attempt.provider, item)
                return
            yield item  # type: ignore[misc]

    def _failure(self, provider: LLMProvider, fault: NuanuError) -> None:
        self.health.failure(provider.spec, fault, probe=lambda: probe_answer(provider))


async def probe_answer(provider: LLMProvider) -> None:
    """Health probe: ask for a tiny real answer. `warm` (GET /models) is no probe: a rate-limited or
    overloaded model still lists fine, so the provider came back at once and failed the next utterance."""
    stream = provider.stream(LLMRequest(trigger="ping", max_tokens=8), LLMStats())
    try:
        async for _ in stream:
            return
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    raise NuanuError("llm_empty", f"{provider.spec} returned an empty answer")
