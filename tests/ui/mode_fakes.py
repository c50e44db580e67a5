"""A fake engine for compare and bench UI tests: lanes run concurrently (queue=False), per-spec stage times
(so "first to audio" is decided by the script), player claims recorded, listeners called like Engine's."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from ui_fakes import FIXED_STAGES, FIXED_START, FIXED_TEXT, FakeEngine

from nuanu_tui.core.compare import default_lanes
from nuanu_tui.core.events import StageReached, TextDelta, UtteranceFinished, UtteranceStarted
from nuanu_tui.core.timeline import STAGES, UtteranceResult

FAST, SLOW = default_lanes()  # groq/llama-3.3-70b-versatile, openai/gpt-4o-mini
SLOW_STAGES = {stage: ms + 316.0 for stage, ms in FIXED_STAGES.items()}  # TTFA 700 ms
SLOW_TEXT = ("Притормозим, ", "пусть собаки ", "перейдут первыми.")
MAIN = "main-player"
SILENT = "silent-player"
TIME_SCALE = 0.01  # script ms -> real s: 384 ms waits 3.84 ms, so timers order lanes by their stage times


class LaneEngine(FakeEngine):
    """`stages`/`texts` per LLM spec; `errors` per spec; `vary_ms` adds n × vary_ms to every stage of the
    n-th utterance (distinct TTFAs for the slowest list); `hold_call` pauses that call (1-based) after its
    first audio until it is cancelled."""

    def __init__(
        self,
        *,
        stages: dict[str, dict[str, float]] | None = None,
        texts: dict[str, tuple[str, ...]] | None = None,
        errors: dict[str, tuple[str, str]] | None = None,
        vary_ms: float = 0.0,
        hold_call: int | None = None,
    ) -> None:
        super().__init__()
        self.llm_spec = FAST
        self.stages_by_spec = stages if stages is not None else {FAST: dict(FIXED_STAGES), SLOW: SLOW_STAGES}
        self.texts = texts if texts is not None else {FAST: FIXED_TEXT, SLOW: SLOW_TEXT}
        self.errors = errors or {}
        self.vary_ms = vary_ms
        self.hold_call = hold_call
        self.player = MAIN
        self.claims: dict[str, str] = {}  # spec -> player it got at its first audio byte
        self.kwargs: list[dict[str, Any]] = []
        self.listeners: list[Callable[[UtteranceResult], None]] = []
        self.hold_started = threading.Event()

    def add_listener(self, listener: Callable[[UtteranceResult], None]) -> None:
        self.listeners.append(listener)

    def silent_player(self) -> Any:
        return SILENT

    def llm(self, spec: str) -> Any:
        async def noop() -> None:
            return None

        async def list_models() -> list[str]:
            return []

        return SimpleNamespace(spec=spec, warm=noop, list_models=list_models)

    async def say(  # type: ignore[override]
        self,
        trigger: str,
        *,
        llm: str | None = None,
        on_event: Any = None,
        source: str = "cli",
        run_id: str | None = None,
        player: Any = None,
        queue: bool = True,
        failover: bool = True,
        seed: int | None = None,
        instant: bool | None = None,
        prompt: str | None = None,
        remarks: Any = None,
    ) -> UtteranceResult:
        emit = on_event or (lambda _e: None)
        self._n += 1
        n = self._n
        uid = f"u{n}"
        spec = llm or self.llm_spec
        self.calls.append(trigger)
        self.kwargs.append(
            {
                "llm": spec,
                "source": source,
                "run_id": run_id,
                "queue": queue,
                "player": player,
                "prompt": prompt,
            }
        )
        result = UtteranceResult(
            trigger=trigger,
            llm=spec,
            tts=self.tts.spec,
            utterance_id=uid,
            simulated=True,
            started_at=FIXED_START,
            ws_reused=True,
            source=source,
            run_id=run_id,
        )
        emit(UtteranceStarted(uid, trigger, spec, self.tts.spec, False, True, FIXED_START))
        self.busy = True
        try:
            if spec in self.errors:
                result.error_kind, result.error = self.errors[spec]
                await asyncio.sleep(0)
            else:
                script = {s: ms + (n - 1) * self.vary_ms for s, ms in self.stages_by_spec[spec].items()}
                for part in self.texts.get(spec, FIXED_TEXT):
                    emit(TextDelta(uid, part))
                elapsed = 0.0
                for stage in sorted((s for s in STAGES if s in script), key=lambda s: script[s]):
                    await asyncio.sleep(max(0.0, script[stage] - elapsed) * TIME_SCALE / 1000)
                    elapsed = script[stage]
                    if stage == "first_audio_byte" and callable(player):
                        self.claims[spec] = player()
                    result.stages_ms[stage] = script[stage]
                    emit(StageReached(uid, stage, script[stage]))
                    if stage == "first_audio" and n == self.hold_call:
                        self.hold_started.set()
                        await asyncio.Event().wait()
                result.text = "".join(self.texts.get(spec, FIXED_TEXT)).strip()
        except asyncio.CancelledError:
            result.error, result.error_kind = "interrupted by the operator", "cancelled"
            self._record(result)
            raise
        finally:
            self.busy = False
        emit(UtteranceFinished(result))
        return self._record(result)

    def _record(self, result: UtteranceResult) -> UtteranceResult:
        self.results.append(result)
        for listener in self.listeners:
            listener(result)
        return result


def lane_app(engine: LaneEngine) -> Any:
    from ui_fakes import fake_app

    return fake_app(engine)
