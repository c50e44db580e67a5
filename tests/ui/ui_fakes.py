"""A scripted fake engine with fixed timings, the app factory around it, and message waiting for Pilot tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from textual.pilot import Pilot

from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine_status import EngineStatus
from nuanu_tui.core.events import StageReached, TextDelta, UtteranceFinished, UtteranceStarted
from nuanu_tui.core.timeline import STAGES, UtteranceResult
from nuanu_tui.ui.app import NuanuApp, make_app

FIXED_START = datetime(2026, 3, 14, 12, 0, 5).timestamp()  # renders 12:00:05 in any time zone
FIXED_STAGES = {
    "first_sound": 384.0,  # no interjection: the remark is the first sound
    "ttft": 212.0,
    "first_flush": 231.0,
    "first_audio_byte": 381.0,
    "first_audio": 384.0,
    "llm_done": 402.0,
    "tts_done": 911.0,
    "playback_done": 3121.0,
}
FIXED_TEXT = (
    "Вот это да, ",
    "две собаки ",
    "слева — ",
    "караулят обочину, ",
    "как настоящие ",
    "инспекторы!",
)


class FakeEngine:
    """Emits a fixed script of events with fixed stage times. `hold_after` pauses the utterance after that
    stage until it is cancelled (mid-stream snapshots, interrupt tests)."""

    def __init__(
        self,
        *,
        text: tuple[str, ...] = FIXED_TEXT,
        stages: dict[str, float] | None = None,
        hold_after: str | None = None,
        error: tuple[str, str] | None = None,
        simulated: bool = True,
        offline_reasons: tuple[str, ...] = (),
        provider_timings: dict[str, float] | None = None,
    ) -> None:
        self.text = text
        self.stages = dict(FIXED_STAGES if stages is None else stages)
        self.hold_after = hold_after
        self.error = error
        self.simulated = simulated
        self.offline_reasons = offline_reasons
        self.unavailable: tuple[str, ...] = ()
        self.provider_timings = (
            provider_timings if provider_timings is not None else {"queue_time": 0.02, "prompt_time": 0.03}
        )
        self.llm_spec = "groq/llama-3.1-8b-instant"
        self.tts = SimpleNamespace(spec="elevenlabs/eleven_flash_v2_5")
        self.settings = Settings()
        self.warm_errors: dict[str, str] = {}
        self.results: list[UtteranceResult] = []
        self.calls: list[str] = []
        self.busy = False
        self.instant = SimpleNamespace(enabled=False, reason=None)  # NUANU_INSTANT=0 in the test env
        self.interrupted = 0
        self.closed = False
        self._n = 0
        self.held = threading.Event()  # set (engine thread) once the script is paused at `hold_after`
        self._lock: asyncio.Lock | None = None
        self._current: asyncio.Task[Any] | None = None

    async def say(
        self, trigger: str, *, llm: str | None = None, on_event: Any = None, source: str = ""
    ) -> UtteranceResult:
        self._lock = self._lock or asyncio.Lock()
        emit = on_event or (lambda _e: None)
        try:
            await self._lock.acquire()
        except asyncio.CancelledError:  # dropped from the queue, recorded like the real engine does
            self._n += 1
            dropped = UtteranceResult(
                trigger=trigger, llm=llm or self.llm_spec, tts=self.tts.spec, utterance_id=f"u{self._n}"
            )
            dropped.error, dropped.error_kind, dropped.mark = "dropped", "cancelled", "dropped"
            emit(UtteranceFinished(dropped))
            self.results.append(dropped)
            raise
        try:
            self.busy = True
            self._current = asyncio.current_task()
            self._n += 1
            uid = f"u{self._n}"
            spec = llm or self.llm_spec
            self.calls.append(trigger)
            result = UtteranceResult(
                trigger=trigger,
                llm=spec,
                tts=self.tts.spec,
                utterance_id=uid,
                simulated=self.simulated,
                offline=bool(self.offline_reasons),
                started_at=FIXED_START,
                ws_reused=True,
            )
            emit(
                UtteranceStarted(
                    uid, trigger, spec, self.tts.spec, result.offline, self.simulated, FIXED_START
                )
            )
            try:
                if self.error is None:
                    for part in self.text:
                        emit(TextDelta(uid, part))
                    for stage in STAGES:
                        if stage in self.stages:
                            result.stages_ms[stage] = self.stages[stage]
                            emit(StageReached(uid, stage, self.stages[stage]))
                        if stage == self.hold_after:
                            self.held.set()
                            await asyncio.Event().wait()
                    result.text = "".join(self.text).strip()
                    result.provider_timings = dict(self.provider_timings)
                else:
                    result.error_kind, result.error = self.error
                    await asyncio.sleep(0)
            except asyncio.CancelledError:
                result.error, result.error_kind = "interrupted by the operator", "cancelled"
                result.mark = "interrupted"
                result.text = "".join(self.text).strip()
                emit(UtteranceFinished(result))
                self.results.append(result)
                raise
            finally:
                self.busy = False
                self._current = None
            emit(UtteranceFinished(result))
            self.results.append(result)
            return result
        finally:
            self._lock.release()

    def interrupt(self) -> None:
        """Like the engine: the utterance being spoken is cancelled; queued ones are not touched."""
        self.interrupted += 1
        if self._current is not None:
            self._current.cancel()

    def status(self) -> EngineStatus:
        return EngineStatus(
            llm=self.llm_spec,
            llm_state="warm",
            tts=self.tts.spec,
            tts_state="connected",
            audio="null",
            sample_rate=24000,
            audio_warning=None,
            offline_reasons=self.offline_reasons,
            simulated=self.simulated,
            utterances=len(self.results),
            ttfa_ms=[r.ttfa for r in self.results if r.ttfa is not None],
            unavailable=self.unavailable,
            fallback_tts="espeak/ru",
        )

    def llm(self, spec: str) -> Any:
        async def list_models() -> list[str]:
            return []

        return SimpleNamespace(spec=spec, list_models=list_models)

    async def use_llm(self, spec: str) -> None:
        self.llm_spec = spec

    async def use_tts(self, spec: str, output_format: str | None = None) -> None:
        self.tts = SimpleNamespace(spec=spec)

    def set_instant(self, on: bool) -> None:
        self.instant.enabled = on

    async def aclose(self) -> None:
        self.closed = True


def fake_app(engine: FakeEngine, *, interrupt: bool = False) -> NuanuApp:
    async def factory() -> FakeEngine:
        return engine

    app = make_app(Settings(), factory=factory, live_status=False, output_format="pcm_24000")
    app.interrupt_mode = interrupt
    return app


async def ready(pilot: Pilot[Any]) -> None:
    """Wait for the engine worker, then for the screen to process what it posted."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


class Messages(list[Any]):
    """A `message_hook` that records messages and lets a test await one matching a predicate."""

    def __init__(self) -> None:
        super().__init__()
        self._waiters: list[tuple[Callable[[Any], bool], asyncio.Future[Any]]] = []

    def __call__(self, message: Any) -> None:
        self.append(message)
        for predicate, future in self._waiters:
            if not future.done() and predicate(message):
                future.set_result(message)

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 30.0) -> Any:
        for message in self:
            if predicate(message):
                return message
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return await asyncio.wait_for(future, timeout)

    def of(self, kind: type) -> list[Any]:
        return [m for m in self if isinstance(m, kind)]
