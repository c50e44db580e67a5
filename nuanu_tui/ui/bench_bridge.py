"""The bench view's bridge: a benchmark run over the shared engine link, stored as it goes."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Mapping, Sequence
from typing import Any

from textual.message_pump import MessagePump

from nuanu_tui.core.bench import BENCH_SOURCE, BenchConfig, BenchProgress
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.store import Store
from nuanu_tui.core.timeline import UtteranceResult
from nuanu_tui.core.triggers import load_triggers
from nuanu_tui.ui.link import EngineLink
from nuanu_tui.ui.messages import BenchFinished, BenchRunDone, BenchStarted, BenchStep
from nuanu_tui.ui.views import summary_json, view_of


class BenchBridge:
    """Bench verbs; public methods are called from the UI thread and return at once."""

    def __init__(self, link: EngineLink) -> None:
        self.link = link
        self._running = False

    def bench(
        self, triggers: str, llms: Sequence[str], runs: int, pause_s: float, target: MessagePump
    ) -> concurrent.futures.Future[str]:
        """Run a benchmark on the engine loop, stored as it goes; resolves to the run id. The current
        utterance's events and the Bench* messages go to `target`. `bench_cancel()` stops it, keeping
        every finished utterance."""
        return self.link.submit(self._bench(triggers, list(llms), runs, pause_s, target))

    async def _bench(
        self, triggers: str, llms: list[str], runs: int, pause_s: float, target: MessagePump
    ) -> str:
        if self.link.engine is None:
            raise NuanuError("engine", "the engine is not running")
        if self._running:
            raise NuanuError("bench", "a benchmark is already running")
        trigger_list = await asyncio.to_thread(load_triggers, triggers.strip() or "seed")
        tts = getattr(getattr(self.link.engine, "tts", None), "spec", "")
        config = BenchConfig(
            llms=llms, triggers=trigger_list, runs=runs, pause_s=pause_s, tts=tts, label=f"tui {triggers}"
        )
        config.validate()
        self._running = True
        relay = self.link.relay(target)
        counted: list[UtteranceResult] = []
        post = target.post_message

        def on_progress(p: BenchProgress) -> None:
            relay.flush()
            if p.current is None:
                post(BenchStep(p.done, p.total, p.spec, p.trigger, p.warmup))
                return
            if not p.warmup:
                counted.append(p.current)
            post(BenchRunDone(p.done, p.total, view_of(p.current), p.warmup, summary_json(counted)))

        post(BenchStarted(config.total, tuple(llms), triggers))
        store = self.link.store if self.link.store is not None and self.link.store.is_open else None
        runs = _RunWatch(store) if store is not None else None
        try:
            result = await self.link.ops.bench(
                config,
                on_progress=on_progress,
                on_event=relay,
                store=runs,
                session_id=self.link.session("bench"),
            )
        except NuanuError as exc:
            if exc.kind == "engine":  # the engine died mid-run: not left "running", nor "playing…"
                if runs is not None:
                    runs.fail_open(summary_json(counted) if counted else None)
                if relay.started and relay.result is None:
                    relay.end_failed("", "", exc, source=BENCH_SOURCE)
            raise
        finally:
            self._running = False
            relay.flush()
        post(
            BenchFinished(
                result.run_id, result.status, summary_json(result.runs), len(result.runs), config.total
            )
        )
        return result.run_id

    def bench_cancel(self) -> None:
        if self.link.ops is not None:
            self.link.call_soon(self.link.ops.bench_cancel)


class _RunWatch:
    """The store a benchmark writes through, noting which runs it started and has not finished, so a run
    whose engine died is closed as failed instead of staying "running" in the history."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._open: set[str] = set()

    def start_bench_run(
        self, config: Mapping[str, Any], *, session_id: str | None = None, run_id: str | None = None
    ) -> str:
        run = self._store.start_bench_run(config, session_id=session_id, run_id=run_id)
        self._open.add(run)
        return run

    def record(
        self, result: UtteranceResult, session_id: str | None = None, run_id: str | None = None
    ) -> str:
        return self._store.record(result, session_id, run_id)

    def finish_bench_run(self, run_id: str, summary: Mapping[str, Any] | None, status: str = "done") -> None:
        self._open.discard(run_id)
        self._store.finish_bench_run(run_id, summary, status)

    def fail_open(self, summary: Mapping[str, Any] | None) -> None:
        for run in sorted(self._open):
            self.finish_bench_run(run, summary, "failed")
