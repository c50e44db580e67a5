"""The one seam between the engine and Textual: it drives the engine from its own asyncio loop in a
dedicated thread, turns engine events into Textual messages and owns cancellation.

The real engine runs in a separate process (`nuanu_tui.core.host`, reached through `RemoteEngine`): the
engine's timing and the audio device never share a GIL with Textual's rendering. Tests hand in fakes, which
run in-process on the same loop; both go through `EngineOps`, so one code path serves both. The bridge's
loop never waits on the UI; it only calls `post_message`, which is thread-safe and non-blocking. LLM text
deltas are coalesced here (at most ~30 messages a second per utterance) so the UI works at screen rate,
not token rate. Audio never crosses this seam. This is the only module under `nuanu_tui.ui` that imports
`nuanu_tui.core`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump

from nuanu_tui.core.bench import BENCH_SOURCE, WARMUP_SOURCE
from nuanu_tui.core.compare import (
    Tally,
    default_lanes,
)
from nuanu_tui.core.config import LLM_PRESETS, OUTPUT_FORMATS, Settings
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.events import Notice, StageReached, TextDelta, UtteranceFinished, UtteranceStarted
from nuanu_tui.core.netprobe import GOOD_MS as NET_GOOD_MS
from nuanu_tui.core.netprofile import NET_PROFILES
from nuanu_tui.core.ops import EngineOps
from nuanu_tui.core.stats import compare_runs, summarize, summarize_runs
from nuanu_tui.core.store import Store
from nuanu_tui.core.supervisor import EngineSupervisor, log_line
from nuanu_tui.core.timeline import STAGE_LABELS, STAGES, UtteranceResult, provider_floor_ms, split_ms
from nuanu_tui.core.triggers import BUILTIN_SETS, SEED_TRIGGERS
from nuanu_tui.ui.messages import (
    AudioDevicesListed,
    Catalog,
    EngineFailed,
    EngineReady,
    ModelsListed,
    NoticeArrived,
    ProviderSwitched,
    StageArrived,
    StageDeltaView,
    StatusChanged,
    StatusView,
    Summary,
    TallyView,
    TextArrived,
    UtteranceBegan,
    UtteranceDone,
    UtteranceView,
)

TTS_CHOICES = (
    "elevenlabs/eleven_flash_v2_5",
    "elevenlabs/eleven_turbo_v2_5",
    "elevenlabs/eleven_multilingual_v2",
    "espeak/ru",
    "espeak/en",
)
FLUSH_INTERVAL_S = 1 / 30
HOLD_MAX_S = 1.0  # never hold UI updates longer than this while waiting for the first audio
CLOSE_TIMEOUT_S = 8.0

EngineFactory = Callable[[], Awaitable[Any]]


def catalog() -> Catalog:
    return Catalog(
        stages=tuple(STAGES),
        stage_labels=dict(STAGE_LABELS),
        seeds=tuple(SEED_TRIGGERS),
        llm_presets=tuple(LLM_PRESETS),
        tts_choices=TTS_CHOICES,
        output_formats=tuple(OUTPUT_FORMATS),
        compare_lanes=default_lanes(),
        trigger_sets=tuple(BUILTIN_SETS),
        net_profiles=tuple((n, p.rtt_ms, p.jitter_ms, p.loss_pct) for n, p in NET_PROFILES.items()),
    )


def engine_factory(
    settings: Settings, *, separate_process: bool = True, launched: Any = None, **options: Any
) -> EngineFactory:
    """The real engine, created (and warmed) in its own process (`launched`: one the CLI started early);
    `separate_process=False` keeps it on the bridge's loop (one process, as before the split; kept for
    measuring what the split buys)."""

    early = [launched] if launched is not None else []

    async def create() -> Any:
        if separate_process:
            from nuanu_tui.core.remote import RemoteEngine

            # The early-launched process serves the first start only; a restart launches a new one.
            return await RemoteEngine.spawn(settings, launched=early.pop() if early else None, **options)
        from nuanu_tui.core.engine import Engine
        from nuanu_tui.demo import install

        install()  # --demo in this process (in the engine's own process, nuanu_tui.engine_host does it)
        return await Engine.create(settings, **options)

    return create


floor_ms = provider_floor_ms


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
        mark=result.mark,
        served_by=result.served_by,
        voiced_by=tuple(result.voiced_by),
        degraded=result.degraded,
        interjection=result.interjection,
        interjection_ms=result.interjection_ms,
        gap_ms=result.gap_ms,
        net_rtt_ms=dict(result.net_rtt_ms),
        net_split=split_ms(
            result.stages_ms.get("first_audio"), result.net_rtt_ms, floor_ms(result.provider_timings or {})
        ),
    )


def tally_view(tally: Tally) -> TallyView:
    ttft, ttfa = tally.diff("ttft"), tally.diff("first_audio")
    return TallyView(
        lanes=tally.lanes,
        rounds=tally.rounds,
        wins=(tally.wins[0], tally.wins[1]),
        ties=tally.ties,
        void=tally.void,
        errors=(tally.errors[0], tally.errors[1]),
        degraded=(tally.degraded[0], tally.degraded[1]),
        ttft_p50=(ttft.a_ms, ttft.b_ms),
        ttfa_p50=(ttfa.a_ms, ttfa.b_ms),
        ttft_diff=(ttft.delta_ms, ttft.ratio),
        ttfa_diff=(ttfa.delta_ms, ttfa.ratio),
    )


def summary_json(results: Sequence[UtteranceResult]) -> Summary:
    return {spec: s.to_json() for spec, s in summarize_runs(results).items()}


def stage_deltas(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, StageDeltaView]]:
    """Per spec and stage: how the median moved from an earlier run (`old`) to this one (`new`)."""
    return {
        spec: {
            stage: StageDeltaView(d.old_p50, d.new_p50, d.delta_ms, d.ratio) for stage, d in stages.items()
        }
        for spec, stages in compare_runs(old, new).items()
    }


def provider_of(spec: str) -> str:
    return spec.split("/", 1)[0]


class _Relay:
    """Per-utterance event sink, called on the engine loop. Returns at once; never waits on the UI.

    Between the trigger and the first sample handed to the device, the UI would mount a card and render text
    and bars while the engine races for the GIL on its critical path. Those updates are held for that window
    (at most HOLD_MAX_S) and posted together the moment audio starts: the card appears as the remark is heard.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, target: MessagePump) -> None:
        self._loop = loop
        self._target = target
        self._held: list[Message] | None = None
        self._hold_timer: asyncio.TimerHandle | None = None
        self._text: list[str] = []
        self._uid = ""
        self._timer: asyncio.TimerHandle | None = None
        self._last_flush = -1.0
        self.started = False  # the engine began speaking it (it is no longer only queued)
        self.result: UtteranceResult | None = None
        self._began: UtteranceStarted | None = None  # what it saw, for a record if the engine dies
        self._said: list[str] = []
        self._stages: dict[str, float | None] = dict.fromkeys(STAGES)

    def __call__(self, event: object) -> None:
        if isinstance(event, TextDelta):
            self._uid = event.utterance_id
            self._text.append(event.text)
            self._said.append(event.text)
            if self._timer is None:
                wait = self._last_flush + FLUSH_INTERVAL_S - self._loop.time()
                if wait <= 0:
                    self.flush()  # the first words show at once; later ones are batched
                else:
                    self._timer = self._loop.call_later(wait, self.flush)
            return
        self.flush()  # keep order: all text before this event is posted first
        post = self._post
        if isinstance(event, UtteranceStarted) and self._held is None:
            self._held = []
            self._hold_timer = self._loop.call_later(HOLD_MAX_S, self.release)
        if isinstance(event, StageReached):
            self._stages[event.stage] = event.ms
            post(StageArrived(event.utterance_id, event.stage, event.ms))
            if event.stage == "first_audio":
                self.release()
        elif isinstance(event, UtteranceStarted):
            self.started = True
            self._began, self.result = event, None  # a bench relay carries one utterance after another
            self._said, self._stages = [], dict.fromkeys(STAGES)
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
            self.release()
            self.result = event.result
            post(UtteranceDone(view_of(event.result)))

    def end_failed(
        self, trigger: str, llm: str, error: NuanuError, source: str = "console"
    ) -> UtteranceResult:
        """The engine died under this utterance: end it as failed with what was seen (its card too), or,
        if it was still queued, as dropped. Returns the record."""
        began = self._began
        result = UtteranceResult(
            trigger=began.trigger if began else trigger,
            llm=began.llm if began else llm,
            tts=began.tts if began else "",
            text="".join(self._said).strip(),
            stages_ms=dict(self._stages),
            offline=began.offline if began else False,
            simulated=began.simulated if began else False,
            utterance_id=began.utterance_id if began else f"lost-{id(self):x}",
            started_at=began.started_at if began else time.time(),
            source=source,
            error=error.message,
            error_kind=error.kind,
            mark=None if began else "dropped",
        )
        self(UtteranceFinished(result))
        return result

    def _post(self, message: Message) -> None:
        if self._held is not None:
            self._held.append(message)
        else:
            self._target.post_message(message)

    def release(self) -> None:
        """Post everything held, in order, and stop holding."""
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        held, self._held = self._held, None
        for message in held or ():
            self._target.post_message(message)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._text:
            text = "".join(self._text)
            self._text.clear()
            self._last_flush = self._loop.time()
            self._post(TextArrived(self._uid, text))


class EngineBridge:
    """Runs one engine on a private loop thread. All public methods are called from the UI thread."""

    def __init__(self, factory: EngineFactory, *, output_format: str = "", settings: Any = None) -> None:
        self._factory = factory
        self._settings = settings
        self.store: Store | None = None
        self.store_error: str | None = None
        self._store_lock = threading.Lock()
        self._sessions: dict[str, str] = {}
        self._last_rtt: tuple[tuple[str, float | None], ...] = ()  # session kind -> id, started on first use
        self.ops: Any = None  # EngineOps, or the engine's own (RemoteOps) when it has one
        self._bench_running = False
        self.known_models: dict[str, tuple[str, ...]] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="nuanu-engine", daemon=True)
        self._tasks: dict[asyncio.Task[Any], _Relay] = {}  # utterances, queued or speaking (engine loop)
        self._closed = False
        self.engine: Any = None
        self.output_format = output_format
        self.catalog = catalog()
        self._target: MessagePump | None = None  # where engine-wide messages go (the console)
        self._watchers: list[MessagePump] = []  # views told when the engine goes down and comes back
        self._supervisor = EngineSupervisor(factory)
        self._restarter: asyncio.Task[None] | None = None

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
        """Create (and warm) the engine; posts EngineReady or EngineFailed to `target`. If the engine's
        process dies later, it is restarted with backoff (EngineFailed, then EngineReady(restarted))."""
        self._target = target

        async def create() -> None:
            await asyncio.to_thread(self.open_store)
            try:
                engine = await self._factory()
            except NuanuError as exc:
                target.post_message(EngineFailed(exc.message))
                return
            except Exception as exc:  # never crash the console on start-up
                target.post_message(EngineFailed(f"{type(exc).__name__}: {exc}"))
                return
            self._adopt(engine)
            warm = dict(getattr(self.engine, "warm_errors", {}))
            if self.store_error:
                warm["store"] = self.store_error
            elif self.store is not None and self.store.recovered:
                warm["store"] = self.store.recovered
            target.post_message(EngineReady(self._status(), warm))

        await asyncio.wrap_future(self._submit(create()))
        return self.engine is not None

    def watch(self, view: MessagePump) -> None:
        """`view` gets EngineFailed / EngineReady(restarted) when the engine dies and comes back."""
        if view not in self._watchers:
            self._watchers.append(view)

    def _tell(self, make: Callable[[], Message]) -> None:
        """One message per watching view (a message is delivered to one pump)."""
        for view in self._watchers or ([self._target] if self._target is not None else []):
            view.post_message(make())

    def _adopt(self, engine: Any) -> None:
        """Make `engine` the one every call goes to (engine loop)."""
        self.engine = engine
        self.ops = getattr(engine, "ops", None) or EngineOps(engine)
        add_listener = getattr(engine, "add_listener", None)
        if callable(add_listener):
            add_listener(self._remember)
        if hasattr(engine, "on_exit"):  # its process can die: the console says so and brings it back
            engine.on_exit = lambda why: self._died(engine, why)
        self._supervisor.started()

    # --- supervision (engine loop) ------------------------------------------------------------------
    def _died(self, engine: Any, why: str) -> None:
        """The engine's process is gone (killed, crashed): say so, log it, restart it with backoff. The
        utterances it was running have already failed (see `_say`)."""
        if engine is not self.engine or self._closed:
            return
        self.engine = None
        delay = self._supervisor.died()
        log_path = getattr(engine, "log_path", None)
        log_line(log_path, f"{why}; restarting in {delay:.1f} s (restart {self._supervisor.crashes})")
        self._tell(lambda: EngineFailed(why, restart_in=delay))
        self._restarter = asyncio.create_task(self._restart(delay, log_path), name="engine-restart")

    async def _restart(self, delay: float, log_path: Any) -> None:
        def failed(error: BaseException, wait: float) -> None:
            why = error.message if isinstance(error, NuanuError) else f"{type(error).__name__}: {error}"
            log_line(log_path, f"restart failed: {why}; next try in {wait:.1f} s")
            self._tell(lambda: EngineFailed(f"restart failed: {why}", restart_in=wait))

        engine = await self._supervisor.restart(delay, lambda n: None, failed)
        if self._closed:
            await engine.aclose()
            return
        self._adopt(engine)
        log_line(log_path, f"engine restarted (pid {getattr(engine, 'pid', '?')})")
        status, warm = self._status(), dict(getattr(engine, "warm_errors", {}))
        self._tell(lambda: EngineReady(status, warm, restarted=True))

    async def aclose(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Cancel utterances, close sockets and audio (bounded), then stop the loop thread."""
        if self._closed:
            return
        self._closed = True
        if not self._thread.is_alive():
            self._loop.close()
            await asyncio.to_thread(self.close_store)
            return

        async def shutdown() -> None:
            if self._restarter is not None:
                self._restarter.cancel()
            if self.ops is not None and self.engine is not None:
                self.ops.stop_all()
            for task in list(self._tasks):
                task.cancel()
            if self.engine is not None:
                await self.engine.aclose()

        with contextlib.suppress(Exception, asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.wrap_future(self._submit(shutdown())), timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join, 2.0)
        await asyncio.to_thread(self.close_store)

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
        self._tasks[task] = relay
        self._post_status(target)
        try:
            result = await self.engine.say(trigger, llm=llm, on_event=relay, source="console")
        except NuanuError as exc:
            if exc.kind != "engine" or relay.result is not None:
                raise
            result = relay.end_failed(trigger, llm or "", exc)  # the engine died under it: recorded
            self._remember(result)
        except asyncio.CancelledError:
            relay.flush()
            if relay.result is None or self._closed:
                raise
            result = relay.result  # stopped or dropped: its record says "interrupted" / "dropped"
        finally:
            self._tasks.pop(task, None)
            self._post_status(target)
        relay.flush()
        if result is None:  # the engine process cancelled it (Esc): its final events carried the record
            result = relay.result
        if result is None:
            raise NuanuError("engine", "the utterance ended without a result")
        return view_of(result)

    def stop(self) -> None:
        """Esc: stop the remark being spoken (audio at once, TTS context, LLM stream). It is recorded as
        interrupted; queued remarks play on."""
        if self._thread.is_alive() and not self._closed:
            self._loop.call_soon_threadsafe(self._stop_now)

    def _stop_now(self) -> None:
        if self.engine is not None:
            self.engine.interrupt()

    def clear_queue(self) -> concurrent.futures.Future[int]:
        """Drop every remark still waiting in the queue (each is recorded as dropped); resolves to how
        many. The one being spoken plays on."""

        async def run() -> int:
            return self._drop_queued()

        return self._submit(run())

    def _drop_queued(self) -> int:
        queued = [task for task, relay in self._tasks.items() if not relay.started]
        for task in queued:
            task.cancel()
        return len(queued)

    def interrupt(self) -> None:
        """A trigger in interrupt mode: stop what is speaking and drop what is queued, at once."""

        def now() -> None:
            self._drop_queued()
            self._stop_now()

        if self._thread.is_alive() and not self._closed:
            self._loop.call_soon_threadsafe(now)

    # --- switching and discovery --------------------------------------------------------------------
    def use_llm(self, spec: str, target: MessagePump) -> concurrent.futures.Future[None]:
        async def run() -> None:
            try:
                await self.ops.use_llm(spec)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("llm", spec, exc.message))
            else:
                target.post_message(ProviderSwitched("llm", spec))
            self._post_status(target)

        return self._submit(run())

    def use_net(self, spec: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """Switch the emulator's network profile live (demo mode)."""

        async def run() -> None:
            try:
                label = await self.ops.use_net(spec)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("net", spec, exc.message))
            else:
                target.post_message(ProviderSwitched("net", label))
            self._post_status(target)

        return self._submit(run())

    def use_tts(
        self, spec: str, output_format: str | None, target: MessagePump
    ) -> concurrent.futures.Future[None]:
        async def run() -> None:
            fmt = output_format or self.output_format or None
            try:
                warm = await self.ops.use_tts(spec, fmt)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("tts", spec, exc.message))
            else:
                if fmt:
                    self.output_format = fmt
                target.post_message(ProviderSwitched("tts", spec, warm))
            self._post_status(target)

        return self._submit(run())

    def set_instant(self, on: bool, target: MessagePump) -> concurrent.futures.Future[None]:
        """The picker's instant-reactions switch; a reason to stay off comes back as a failed switch."""

        async def run() -> None:
            reason = await self.ops.set_instant(on)
            target.post_message(ProviderSwitched("instant", "on" if on else "off", reason))

        return self._submit(run())

    def use_audio(self, spec: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """Switch the speaker live (the picker); the status bar then names the new device."""

        async def run() -> None:
            try:
                name = await self.ops.use_audio(spec)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("audio", spec, exc.message))
                return
            target.post_message(ProviderSwitched("audio", name))
            self._post_status(target)

        return self._submit(run())

    def set_audio_policy(self, policy: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """While the speaker is gone: hold remarks (drop stale ones) or keep generating them unheard."""

        async def run() -> None:
            try:
                await self.ops.set_audio_policy(policy)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("when audio lost", policy, exc.message))
                return
            target.post_message(ProviderSwitched("when audio lost", policy))
            self._post_status(target)

        return self._submit(run())

    def list_audio_devices(self, target: MessagePump) -> concurrent.futures.Future[None]:
        """The outputs the engine can open, for the picker (fetched off the UI loop)."""

        async def run() -> None:
            with contextlib.suppress(NuanuError):
                target.post_message(AudioDevicesListed(await self.ops.audio_devices()))

        return self._submit(run())

    def list_models(self, provider: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """Ask `provider`'s /models off the UI loop; posts ModelsListed (empty with `error` on failure)."""

        async def run() -> None:
            try:
                specs = await self.ops.list_models(provider)
            except NuanuError as exc:
                target.post_message(ModelsListed(provider, (), exc.message))
                return
            self.known_models[provider] = specs
            target.post_message(ModelsListed(provider, specs))

        return self._submit(run())

    def host_stats(self) -> concurrent.futures.Future[Any] | None:
        """The engine process's CPU time, peak RSS and device underruns (benchmarks); None in-process."""
        stats = getattr(self.engine, "stats", None)
        return self._submit(stats()) if callable(stats) and self.ready else None

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
        self._remember_rtt(tuple(getattr(st, "net_rtt", ())))
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
            unavailable=tuple(getattr(st, "unavailable", ())),
            fallback_tts=getattr(st, "fallback_tts", None),
            audio_lost=getattr(st, "audio_lost", None),
            audio_back=getattr(st, "audio_back", None),
            audio_policy=getattr(st, "audio_policy", "hold"),
            last_served_by=getattr(results[-1], "served_by", None) if results else None,
            last_degraded=bool(getattr(results[-1], "degraded", False)) if results else False,
            store_failed=self.store.write_errors if self.store is not None else 0,
            store_error=self.store.last_error if self.store is not None else None,
            net=getattr(st, "net", None),
            net_rtt=tuple(getattr(st, "net_rtt", ())),
            net_degraded=tuple(getattr(st, "net_degraded", ())),
            telemetry_problem=getattr(st, "telemetry_problem", None),
            net_good_ms=NET_GOOD_MS,
            net_warn_ms=float(getattr(self._settings, "net_warn_ms", None) or 200.0),
        )

    # --- memory (store) -----------------------------------------------------------------------------
    def open_store(self) -> Store | None:
        """Open the database once (blocking: call it off the UI thread). None when it cannot be opened."""
        with self._store_lock:
            if self.store is None and self.store_error is None and self._settings is not None:
                try:
                    self.store = Store.from_settings(self._settings).open()
                except NuanuError as exc:
                    self.store_error = exc.message
            return self.store

    def close_store(self) -> None:
        with self._store_lock:
            if self.store is not None:
                self.store.close()

    def _session(self, kind: str) -> str | None:
        """One store session per mode and app run, started when the mode first records something."""
        if self.store is None or not self.store.is_open:
            return None
        if kind not in self._sessions:
            self._sessions[kind] = self.store.start_session(kind, "tui")
        return self._sessions[kind]

    def _remember_rtt(self, readings: tuple[tuple[str, float | None], ...]) -> None:
        """History keeps the series of RTTs the console saw: one point per new reading (status changes)."""
        if not readings or readings == self._last_rtt or self.store is None or not self.store.is_open:
            return
        self._last_rtt = readings
        with contextlib.suppress(Exception):  # a failing write is counted by the store and shown as such
            self.store.record_rtt(time.time(), readings, self._session("console"))

    def _remember(self, result: UtteranceResult) -> None:
        """Engine listener (engine loop): store console and compare utterances. `record` only enqueues;
        the store's writer thread does the disk work. The bench and the ride store their own."""
        if (
            result.source in (BENCH_SOURCE, WARMUP_SOURCE, "ride")
            or self.store is None
            or not self.store.is_open
        ):
            return
        kind = "compare" if result.source == "compare" else "console"
        self.store.record(result, self._session(kind))
