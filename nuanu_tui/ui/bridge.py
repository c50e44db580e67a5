"""The one seam between the engine and Textual: it runs the engine on its own asyncio loop in a dedicated
thread, turns engine events into Textual messages and owns cancellation.

Why a separate loop: the engine's timing must never depend on rendering. The engine loop never waits on
the UI; it only calls `post_message`, which is thread-safe and non-blocking. LLM text deltas are coalesced
here (at most ~30 messages a second per utterance) so the UI works at screen rate, not token rate. Audio
never crosses this seam. This is the only module under `nuanu_tui.ui` that imports `nuanu_tui.core`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from textual.message_pump import MessagePump

from nuanu_tui.core.config import LLM_PRESETS, OUTPUT_FORMATS, Settings
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.events import Notice, StageReached, TextDelta, UtteranceFinished, UtteranceStarted
from nuanu_tui.core.stats import summarize
from nuanu_tui.core.timeline import STAGE_LABELS, STAGES, UtteranceResult
from nuanu_tui.ui.messages import (
    Catalog,
    EngineFailed,
    EngineReady,
    ModelsListed,
    NoticeArrived,
    ProviderSwitched,
    StageArrived,
    StatusChanged,
    StatusView,
    TextArrived,
    UtteranceBegan,
    UtteranceDone,
    UtteranceView,
)

try:
    from nuanu_tui.core.triggers import SEED_TRIGGERS
except ImportError:  # pragma: no cover - the triggers module ships with the engine
    SEED_TRIGGERS = (
        "камера, две собаки слева на обочине",
        "впереди группа туристов, фотографируют храм",
        "справа скутер обгоняет",
        "проезжаем рисовые поля, красиво",
        "перекрёсток, слева грузовик с кокосами",
    )

TTS_CHOICES = (
    "elevenlabs/eleven_flash_v2_5",
    "elevenlabs/eleven_turbo_v2_5",
    "elevenlabs/eleven_multilingual_v2",
    "espeak/ru",
    "espeak/en",
)
FLUSH_INTERVAL_S = 1 / 30
CLOSE_TIMEOUT_S = 6.0
MODELS_TIMEOUT_S = 10.0

EngineFactory = Callable[[], Awaitable[Any]]


def catalog() -> Catalog:
    return Catalog(
        stages=tuple(STAGES),
        stage_labels=dict(STAGE_LABELS),
        seeds=tuple(SEED_TRIGGERS),
        llm_presets=tuple(LLM_PRESETS),
        tts_choices=TTS_CHOICES,
        output_formats=tuple(OUTPUT_FORMATS),
    )


def engine_factory(settings: Settings, **options: Any) -> EngineFactory:
    """The real engine, created (and warmed) on the bridge's loop."""

    async def create() -> Any:
        from nuanu_tui.core.engine import Engine

        return await Engine.create(settings, **options)

    return create


def floor_ms(timings: dict[str, Any]) -> float | None:
    """Groq reports queue_time + prompt_time (seconds): the part of TTFT no client can remove."""
    queue, prompt = timings.get("queue_time"), timings.get("prompt_time")
    if isinstance(queue, int | float) and isinstance(prompt, int | float):
        return (float(queue) + float(prompt)) * 1000.0
    return None


def view_of(result: UtteranceResult) -> UtteranceView:
    return UtteranceView(
        utterance_id=result.utterance_id,
        trigger=result.trigger,
        llm=result.llm,
        tts=result.tts,
        started_at=result.started_at,
        offline=result.offline,
        simulated=result.simulated,
        text=result.text,
        stages_ms=dict(result.stages_ms),
        done=True,
        error=result.error,
        error_kind=result.error_kind,
        ws_reused=result.ws_reused,
        floor_ms=floor_ms(result.provider_timings or {}),
        notices=tuple(result.notices),
    )


class _Relay:
    """Per-utterance event sink, called on the engine loop. Returns at once; never waits on the UI."""

    def __init__(self, loop: asyncio.AbstractEventLoop, target: MessagePump) -> None:
        self._loop = loop
        self._target = target
        self._text: list[str] = []
        self._uid = ""
        self._timer: asyncio.TimerHandle | None = None
        self._last_flush = -1.0
        self.result: UtteranceResult | None = None

    def __call__(self, event: object) -> None:
        if isinstance(event, TextDelta):
            self._uid = event.utterance_id
            self._text.append(event.text)
            if self._timer is None:
                wait = self._last_flush + FLUSH_INTERVAL_S - self._loop.time()
                if wait <= 0:
                    self.flush()  # the first words show at once; later ones are batched
                else:
                    self._timer = self._loop.call_later(wait, self.flush)
            return
        self.flush()  # keep order: all text before this event is posted first
        post = self._target.post_message
        if isinstance(event, StageReached):
            post(StageArrived(event.utterance_id, event.stage, event.ms))
        elif isinstance(event, UtteranceStarted):
            post(
                UtteranceBegan(
                    UtteranceView(
                        utterance_id=event.utterance_id,
                        trigger=event.trigger,
                        llm=event.llm,
                        tts=event.tts,
                        started_at=event.started_at,
                        offline=event.offline,
                        simulated=event.simulated,
                    )
                )
            )
        elif isinstance(event, Notice):
            post(NoticeArrived(event.utterance_id, event.message))
        elif isinstance(event, UtteranceFinished):
            self.result = event.result
            post(UtteranceDone(view_of(event.result)))

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._text:
            text = "".join(self._text)
            self._text.clear()
            self._last_flush = self._loop.time()
            self._target.post_message(TextArrived(self._uid, text))


class EngineBridge:
    """Runs one engine on a private loop thread. All public methods are called from the UI thread."""

    def __init__(self, factory: EngineFactory, *, output_format: str = "") -> None:
        self._factory = factory
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="nuanu-engine", daemon=True)
        self._tasks: set[asyncio.Task[Any]] = set()  # engine-loop side only
        self._closed = False
        self.engine: Any = None
        self.output_format = output_format
        self.catalog = catalog()

    # --- loop thread --------------------------------------------------------------------------------
    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

    def _submit(self, coro: Awaitable[Any]) -> concurrent.futures.Future[Any]:
        if not self._thread.is_alive():
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]

    @property
    def ready(self) -> bool:
        return self.engine is not None and not self._closed

    # --- lifecycle ------------------------------------------------------------------------------------
    async def open(self, target: MessagePump) -> bool:
        """Create (and warm) the engine; posts EngineReady or EngineFailed to `target`."""

        async def create() -> None:
            try:
                self.engine = await self._factory()
            except NuanuError as exc:
                target.post_message(EngineFailed(exc.message))
                return
            except Exception as exc:  # never crash the console on start-up
                target.post_message(EngineFailed(f"{type(exc).__name__}: {exc}"))
                return
            target.post_message(EngineReady(self._status(), dict(getattr(self.engine, "warm_errors", {}))))

        await asyncio.wrap_future(self._submit(create()))
        return self.engine is not None

    async def aclose(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Cancel utterances, close sockets and audio (bounded), then stop the loop thread."""
        if self._closed:
            return
        self._closed = True
        if not self._thread.is_alive():
            self._loop.close()
            return

        async def shutdown() -> None:
            for task in list(self._tasks):
                task.cancel()
            if self.engine is not None:
                await self.engine.aclose()

        with contextlib.suppress(Exception, asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.wrap_future(self._submit(shutdown())), timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join, 2.0)

    # --- utterances ---------------------------------------------------------------------------------
    def say(
        self, trigger: str, target: MessagePump, *, interrupt: bool = False, llm: str | None = None
    ) -> concurrent.futures.Future[UtteranceView]:
        """Start (or queue) one utterance; events go to `target`. With `interrupt`, whatever is playing or
        queued is stopped first. The future resolves to the final view (also for an operator interrupt)."""
        if interrupt:
            self.interrupt()
        return self._submit(self._say(trigger, target, llm))

    async def _say(self, trigger: str, target: MessagePump, llm: str | None) -> UtteranceView:
        if self.engine is None:
            raise NuanuError("engine", "the engine is not running")
        relay = _Relay(self._loop, target)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._post_status(target)
        try:
            result = await self.engine.say(trigger, llm=llm, on_event=relay, source="console")
        except asyncio.CancelledError:
            relay.flush()
            if relay.result is None or self._closed:
                raise
            result = relay.result  # interrupted mid-utterance: its record says "cancelled"
        finally:
            self._tasks.discard(task)
            self._post_status(target)
        relay.flush()
        return view_of(result)

    def interrupt(self) -> None:
        """Stop the audio at once and cancel the running utterance and any queued ones."""

        def now() -> None:
            if self.engine is not None:
                self.engine.interrupt()
            for task in list(self._tasks):
                task.cancel()

        if self._thread.is_alive() and not self._closed:
            self._loop.call_soon_threadsafe(now)

    # --- switching and discovery --------------------------------------------------------------------
    def use_llm(self, spec: str, target: MessagePump) -> concurrent.futures.Future[None]:
        async def run() -> None:
            try:
                self.engine.llm(spec)  # validates the spec (ConfigError) before switching
                await self.engine.use_llm(spec)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("llm", spec, exc.message))
            else:
                target.post_message(ProviderSwitched("llm", spec))
            self._post_status(target)

        return self._submit(run())

    def use_tts(
        self, spec: str, output_format: str | None, target: MessagePump
    ) -> concurrent.futures.Future[None]:
        async def run() -> None:
            fmt = output_format or self.output_format or None
            try:
                await self.engine.use_tts(spec, fmt)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("tts", spec, exc.message))
            else:
                if fmt:
                    self.output_format = fmt
                warm = getattr(self.engine, "warm_errors", {}).get("tts")
                target.post_message(ProviderSwitched("tts", spec, warm))
            self._post_status(target)

        return self._submit(run())

    def list_models(self, provider: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """Ask `provider`'s /models off the UI loop; posts ModelsListed (empty with `error` on failure)."""

        async def run() -> None:
            settings = self.engine.settings
            if not settings.key(provider):
                target.post_message(ModelsListed(provider, (), f"no {provider} key"))
                return
            model = {"groq": settings.groq_model, "openai": settings.openai_model}.get(provider, "any")
            try:
                names = await asyncio.wait_for(
                    self.engine.llm(f"{provider}/{model}").list_models(), MODELS_TIMEOUT_S
                )
            except (NuanuError, TimeoutError) as exc:
                target.post_message(ModelsListed(provider, (), str(exc) or "timed out"))
                return
            target.post_message(ModelsListed(provider, tuple(f"{provider}/{n}" for n in names)))

        return self._submit(run())

    def request_status(self, target: MessagePump) -> None:
        if self.ready:
            self._loop.call_soon_threadsafe(self._post_status, target)

    # --- status -------------------------------------------------------------------------------------
    def _post_status(self, target: MessagePump) -> None:
        if self.engine is not None:
            target.post_message(StatusChanged(self._status()))

    def _status(self) -> StatusView:
        engine = self.engine
        st = engine.status()
        ttfa = summarize(st.ttfa_ms)
        results = getattr(engine, "results", [])
        return StatusView(
            llm=st.llm,
            llm_state=st.llm_state,
            tts=st.tts,
            tts_state=st.tts_state,
            audio=st.audio,
            sample_rate=st.sample_rate,
            audio_warning=st.audio_warning,
            offline_reasons=tuple(st.offline_reasons),
            simulated=st.simulated,
            utterances=st.utterances,
            ttfa_n=ttfa.n,
            ttfa_p50=ttfa.p50,
            ttfa_p90=ttfa.p90,
            last_ws_reused=results[-1].ws_reused if results else None,
            busy=bool(engine.busy),
            queued=max(0, len(self._tasks) - 1),
            output_format=self.output_format,
        )
