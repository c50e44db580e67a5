"""The engine every front end shares: providers kept warm, one long-lived player, utterances run in order."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from nuanu_tui.core.audio.player import Player
from nuanu_tui.core.audio.sinks import make_sink
from nuanu_tui.core.chain_builder import ChainBuilder
from nuanu_tui.core.chunker import ChunkerConfig
from nuanu_tui.core.clock import now_ns
from nuanu_tui.core.config import Selection, Settings, choose_defaults, offline_reasons
from nuanu_tui.core.engine_audio import AudioOutputs
from nuanu_tui.core.engine_links import ProviderLinks
from nuanu_tui.core.engine_status import EngineStatus, clock_time, lost_line
from nuanu_tui.core.errors import ConfigError, NuanuError
from nuanu_tui.core.events import Notice, PipelineEvent, UtteranceFinished, UtteranceStarted
from nuanu_tui.core.failover import FailoverPolicy
from nuanu_tui.core.health import HealthBoard
from nuanu_tui.core.instant import Clip, Instant, voice_key
from nuanu_tui.core.llm.base import LLMProvider, LLMRequest
from nuanu_tui.core.llm.prompt_files import Prompt, choose_prompt
from nuanu_tui.core.llm.prompts import clean_trigger
from nuanu_tui.core.netprobe import HttpRttProbe, NetMonitor
from nuanu_tui.core.pipeline import UtteranceJob, run_utterance
from nuanu_tui.core.providers import make_llm, make_tts, prompts_for
from nuanu_tui.core.quality import Remark, RemarkSession, Thresholds, rate
from nuanu_tui.core.redact import scrub
from nuanu_tui.core.safety import DEFAULT_BLOCKLISTS, FilterConfig
from nuanu_tui.core.timeline import UtteranceResult
from nuanu_tui.core.tts.base import TTSProvider

# CPython hands the GIL between threads every 5 ms by default. The engine loop, the audio writer and the UI
# share one interpreter, so a busy renderer could hold a socket event or an audio write for up to 5 ms;
# at 0.1 ms each hand-over on the critical path waits 50 µs on average.
GIL_SWITCH_INTERVAL_S = 0.0001


class Emulator(Protocol):
    """`--demo`: what the engine needs from the emulator that stands in for the cloud. Composed outside
    `core/` (`nuanu_tui.demo`), so the engine never imports the emulator."""

    async def start(self, settings: Settings, profile: str) -> Settings: ...

    def use_net(self, spec: str) -> tuple[str, str]: ...

    @property
    def net_label(self) -> str | None: ...

    def stop(self) -> None: ...


_demo_factory: Callable[[], Emulator] | None = None


def set_demo_emulator(factory: Callable[[], Emulator]) -> None:
    """Installed by a composition root (`nuanu_tui.demo.install`) before `Engine.create(demo=True)`."""
    global _demo_factory
    _demo_factory = factory


def _demo_emulator() -> Emulator:
    if _demo_factory is None:
        raise ConfigError(
            "--demo needs the emulator: start nuanu-tui through its CLI (nuanu_tui.demo.install)"
        )
    return _demo_factory()


class Engine(ProviderLinks, AudioOutputs):
    """Owns providers, the player and the emulator (demo). Front ends call `say` and read `status`."""

    def __init__(
        self,
        settings: Settings,
        selection: Selection,
        player: Player,
        tts: TTSProvider,
        *,
        simulated: bool = False,
        sim: Emulator | None = None,
    ) -> None:
        self.settings = settings
        self.selection = selection
        self.player = player
        self.tts = tts
        self.simulated = simulated
        self.sim = sim
        self.llm_spec = selection.llm
        self.chunker_config = ChunkerConfig(first_min_words=settings.first_flush_words)
        self.warm_errors: dict[str, str] = {}
        self._llms: dict[str, LLMProvider] = {}
        self.chain_builder = ChainBuilder(lambda spec: make_llm(spec, self.settings), self._llms)
        self._lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._session = os.urandom(3).hex()
        self._current: asyncio.Task[UtteranceResult] | None = None
        self._keepwarm: asyncio.Task[None] | None = None
        self._net_warming: asyncio.Future[Any] | None = None  # say: the network half of warm-up
        self._silent: Player | None = None
        self._unheard: Player | None = None
        self.audio_policy: str = settings.audio_lost
        self._listeners: list[Callable[[UtteranceResult], None]] = []
        self.results: list[UtteranceResult] = []
        self.health = HealthBoard()
        self.net = NetMonitor(settings.net_probe_s, settings.net_warn_ms)
        from nuanu_tui.core import telemetry

        # None unless OTEL_EXPORTER_OTLP_*ENDPOINT is set (then OpenTelemetry is imported, on its own thread).
        self.telemetry = telemetry.from_env(settings.secrets(), self.net.gauges)
        self.telemetry_problem: str | None = None
        if self.telemetry is not None:
            self.add_listener(self.telemetry.record)
        self._llm_probe: HttpRttProbe | None = None
        self.policy = FailoverPolicy(settings.ttft_budget_ms, settings.hedge_ms)
        self.fallback_tts: TTSProvider | None = None
        extra = [Path(p.strip()) for p in (settings.blocklist or "").split(",") if p.strip()]
        self._filter_config = FilterConfig(
            blocklist_paths=[*DEFAULT_BLOCKLISTS, *extra] if extra else None, max_chars=settings.max_chars
        )
        if settings.tts_fallback and not tts.offline:
            with contextlib.suppress(NuanuError):
                self.fallback_tts = make_tts("espeak", settings)
        from nuanu_tui.core.store_schema import default_db_path

        self.instant = Instant(
            default_db_path(settings.data_dir).parent,
            settings.lang,
            player.sample_rate,
            enabled=settings.instant,
            busy=self._lock.locked,
        )
        self._instant_told = False
        # Set once a remark can start at once: sockets tried (or left to open in the background), the output
        # filter compiled, the failover chain's spare links built (in threads). `ride`, `say` and the console
        # all use this one moment (the console's EngineReady follows it).
        self.ready = asyncio.Event()
        self.ready_at: float | None = None  # wall clock, when `ready` was set
        # The character's prompt files (PromptError for a bad one: the command lines check first) and the
        # rubric every remark gets after it has played; `remarks` is the console's session for `repeats`.
        self.prompts = prompts_for(settings)
        self.prompt: Prompt = choose_prompt(self.prompts, settings.prompt, settings.lang)
        self.quality_limits = Thresholds.from_settings(settings)
        self.remarks = RemarkSession()

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    async def create(
        cls,
        settings: Settings | None = None,
        *,
        llm: str | None = None,
        tts: str | None = None,
        audio: str | None = None,
        demo: bool = False,
        output_format: str | None = None,
        sim_profile: str = "demo",
        warm: bool = True,
        warm_in_background: bool = False,
    ) -> Engine:
        settings = settings or Settings()
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
        sim = None
        if demo:
            sim = _demo_emulator()
            settings = await sim.start(settings, sim_profile)
            llm = llm or "groq/llama-3.1-8b-instant"
            tts = tts or "elevenlabs"
        selection = choose_defaults(settings, llm, tts)
        try:
            tts_provider = make_tts(selection.tts, settings, output_format=output_format)
        except ConfigError:
            # No key for the cloud voice: with fallback on, the local voice speaks (and says why); strict fails.
            if not settings.tts_fallback or selection.tts.startswith("espeak"):
                raise
            tts_provider = make_tts("espeak", settings)  # the OFFLINE line names the missing variable
            selection = Selection(
                selection.llm, tts_provider.spec, offline_reasons(settings, selection.llm, "espeak")
            )
        player = Player(make_sink(audio or settings.audio))
        player.start(tts_provider.format.sample_rate)
        engine = cls(settings, selection, player, tts_provider, simulated=demo, sim=sim)
        if warm:
            try:
                await engine.warm(network_in_background=warm_in_background)
            except BaseException:  # Ctrl+C during warm-up: close the player (and its WAV) and sockets
                await asyncio.shield(engine.aclose())
                raise
        return engine

    def use_net(self, spec: str) -> str:
        """Switch the emulated network (demo only), live: open sockets pay the new link from their next message.
        Returns the profile's label; ConfigError for a bad spec or a real (not emulated) network."""
        if self.sim is None:
            raise ConfigError("network profiles apply to the emulator only (--demo)")
        try:
            net, label = self.sim.use_net(spec)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.settings = self.settings.model_copy(update={"sim_net": net})
        return label

    @property
    def net_label(self) -> str | None:
        """The emulated network's name under --demo (None on a real network)."""
        return None if self.sim is None else self.sim.net_label

    def add_listener(self, listener: Callable[[UtteranceResult], None]) -> None:
        self._listeners.append(listener)

    # --- utterances -------------------------------------------------------------------------------
    async def say(
        self,
        trigger: str,
        *,
        llm: str | None = None,
        on_event: Callable[[PipelineEvent], None] | None = None,
        source: str = "cli",
        run_id: str | None = None,
        player: Player | Callable[[], Player] | None = None,
        queue: bool = True,
        seed: int | None = None,
        failover: bool = True,
        recent: Sequence[str] = (),
        instant: bool | None = None,
        label: str | None = None,
        accepted_ns: int | None = None,
        prompt: str | None = None,
        remarks: RemarkSession | None = None,
    ) -> UtteranceResult:
        """Speak one remark about `trigger`. Never raises for provider faults: see `result.error`.

        `instant` overrides the engine's setting for this call (a compare lane); `label` is a ride event's
        category for the interjection (typed triggers are classified by keywords). `prompt` names the
        prompt file (None: the engine's current one); `remarks` is the session the rubric's `repeats`
        looks back in (None: the console's)."""
        spec = llm or self.llm_spec
        uid = f"u{self._session}-{next(self._ids)}"
        text, was_cut = clean_trigger(trigger)
        notices: list[str] = []
        if was_cut:
            notices.append(f"trigger cut to {len(text)} characters")
        try:
            if not text:
                raise NuanuError("input", "empty trigger: type what the camera sees")
            chosen = (
                self.prompt if prompt is None else choose_prompt(self.prompts, prompt, self.settings.lang)
            )
            provider = self.llm_chain(spec) if failover else self.llm(spec)
        except NuanuError as exc:
            return self._finish_early(uid, trigger, spec, exc, on_event, source, run_id)
        request = LLMRequest(
            trigger=text,
            lang=self.settings.lang,
            # the prompt file's own limits win: they are part of what its version names
            max_tokens=chosen.max_tokens or self.settings.max_tokens,
            temperature=self.settings.temperature if chosen.temperature is None else chosen.temperature,
            seed=seed,
            recent=tuple(recent),
            system=chosen.system,
            prompt=chosen.label,
        )
        session = self.remarks if remarks is None else remarks
        asked = None if provider.offline else request.prompt  # for records of remarks that never ran
        job = UtteranceJob(
            utterance_id=uid,
            trigger=text,
            llm=provider,
            tts=self.tts,
            player=player or self.player,
            request=request,
            chunker=self.chunker_config,
            simulated=self.simulated,
            source=source,
            run_id=run_id,
            fallback_tts=self.fallback_tts if failover else None,
            output_filter=self._new_filter(),
            health=self.health,
            tts_open_budget_s=self.policy.ttft_budget_ms / 1000,
        )
        if on_event is not None:
            on_event = self._scrubbing(on_event)
            for note in notices:
                on_event(Notice(uid, note))
        accepted_at = time.time()
        lock = self._lock if queue else contextlib.nullcontext()
        try:
            await lock.__aenter__()  # type: ignore[attr-defined]
        except asyncio.CancelledError:  # dropped from the queue before it started: recorded, not lost
            dropped = self._blank(uid, text, spec, source, run_id, accepted_at, asked)
            dropped.mark, dropped.notices = "dropped", notices
            dropped.error, dropped.error_kind = "dropped from the queue by the operator", "cancelled"
            if on_event is not None:
                on_event(UtteranceFinished(dropped))
            self._record(dropped)
            raise
        finished: list[UtteranceResult] = []
        net_rtt = self.net.snapshot()  # the links as they were when this remark started

        def tap(event: PipelineEvent) -> None:
            if isinstance(event, UtteranceFinished):
                event.result.net_rtt_ms = net_rtt  # before the front ends see the finished result
                self._rate(event.result, session)  # the remark has played: off the audio path
                finished.append(event.result)
            if on_event is not None:
                on_event(event)

        try:
            task = asyncio.current_task()
            if queue:
                self._current = task  # an interrupt also cancels a remark held for a lost speaker
            try:
                if player is None:
                    speaker = await self._speaker_for(uid, on_event)
                    if speaker is None:
                        lost = self.player.lost
                        why = lost_line(lost) if lost is not None else "the speaker was lost"
                        stale = NuanuError(
                            "audio_lost",
                            f"dropped: the speaker is lost ({why}); the remark went stale after "
                            f"{self.settings.audio_stale_s:g} s",
                        )
                        return self._finish_early(uid, text, spec, stale, on_event, source, run_id, asked)
                    job.player = speaker
                    if not speaker.heard:
                        notices.append("not heard: the speaker was lost; audio went to a silent stand-in")
                # t0: when the caller accepted the trigger (say: before start-up, so its waits show in the
                # stages), else when it is accepted for speaking (a console trigger's queue wait is not latency)
                job.t0_ns = accepted_ns if accepted_ns is not None else now_ns()
                self.instant.yield_now()  # a background interjection synthesis never competes with a remark
                if instant if instant is not None else self.instant.enabled:
                    job.interjection = self._interjection(text, label, notices)
                    if job.interjection is not None:
                        request.interjection = job.interjection.text
                result = await run_utterance(job, tap)
            except asyncio.CancelledError:  # what it had said and reached so far, with its real start
                interrupted = (
                    finished[0]
                    if finished
                    else self._blank(uid, text, spec, source, run_id, accepted_at, asked)
                )
                interrupted.error, interrupted.error_kind = "interrupted by the operator", "cancelled"
                interrupted.mark = "interrupted"
                interrupted.notices[:0] = notices
                interrupted.net_rtt_ms = net_rtt
                self._record(interrupted)
                raise
            finally:
                if queue and self._current is task:
                    self._current = None
        finally:
            await lock.__aexit__(None, None, None)  # type: ignore[attr-defined]
        result.notices.extend(notices)
        result.net_rtt_ms = net_rtt
        return self._record(result)

    def _interjection(self, text: str, label: str | None, notices: list[str]) -> Clip | None:
        """The cached interjection for this trigger, or None (not cached yet: skipped, never waited for).
        The offline voice's serve only while the cloud voice is failing and has none cached."""
        instant = self.instant
        if instant.reason is not None:
            if not self._instant_told:
                self._instant_told = True
                notices.append(instant.reason)
            return None
        fallback = None
        if self.fallback_tts is not None and (
            not self.health.available(self.tts.spec) or voice_key(self.tts) in instant.fill_errors
        ):
            fallback = self.fallback_tts
        clip = instant.pick(text, self.tts, fallback, label)
        instant.fill(self.tts)  # after the choice: (re)starts a fill that is missing or ended incomplete
        return clip

    def _scrubbing(self, on_event: Callable[[PipelineEvent], None]) -> Callable[[PipelineEvent], None]:
        """Notices can quote a provider's error body; keys never leave the engine."""
        secrets = self.settings.secrets()

        def emit(event: PipelineEvent) -> None:
            if isinstance(event, Notice):
                event = Notice(event.utterance_id, scrub(event.message, secrets) or "")
            on_event(event)

        return emit

    def _blank(
        self,
        uid: str,
        trigger: str,
        spec: str,
        source: str,
        run_id: str | None,
        started_at: float,
        prompt: str | None = None,
    ) -> UtteranceResult:
        """A record for an utterance that never ran (or never finished) its pipeline; `prompt` is the
        NAME@VERSION it was to be asked with (None: not chosen yet)."""
        return UtteranceResult(
            trigger=trigger,
            llm=spec,
            tts=self.tts.spec,
            utterance_id=uid,
            simulated=self.simulated,
            source=source,
            run_id=run_id,
            started_at=started_at,
            prompt=prompt,
        )

    def _finish_early(
        self, uid, trigger, spec, exc, on_event, source, run_id, prompt=None
    ) -> UtteranceResult:  # type: ignore[no-untyped-def]
        result = self._blank(uid, trigger, spec, source, run_id, time.time(), prompt)
        result.offline = bool(self.offline_reasons())
        result.error, result.error_kind = exc.message, exc.kind
        result.net_rtt_ms = self.net.snapshot()
        if on_event is not None:
            on_event(
                UtteranceStarted(
                    uid, trigger, spec, self.tts.spec, result.offline, self.simulated, result.started_at
                )
            )
            on_event(UtteranceFinished(result))
        return self._record(result)

    def _rate(self, result: UtteranceResult, session: RemarkSession | None = None) -> None:
        """The quality rubric on a finished remark (once; None when it has no text), in `session`."""
        if result.quality is not None:
            return
        result.quality = rate(
            Remark(
                text=result.text,
                trigger=result.trigger,
                utterance_id=result.utterance_id,
                seconds=result.audio_seconds or None,
                finish_reason=result.finish_reason,
                blocked=result.blocked,
                stripped=result.markup,
                lang=self.settings.lang,
            ),
            self.remarks if session is None else session,
            self.quality_limits,
        )

    def use_prompt(self, name: str) -> str:
        """The prompt file for the next utterances (console picker); returns its NAME@VERSION."""
        self.prompt = choose_prompt(self.prompts, name, self.settings.lang)
        return self.prompt.label

    def prompt_label(self, name: str | None) -> str:
        """NAME@VERSION of a prompt by name (None: the current one), for bench summaries."""
        return (
            self.prompt.label if name is None else choose_prompt(self.prompts, name, self.settings.lang).label
        )

    def _record(self, result: UtteranceResult) -> UtteranceResult:
        self._rate(result)
        secrets = self.settings.secrets()
        result.error = scrub(result.error, secrets)
        result.notices = [scrub(n, secrets) or "" for n in result.notices]
        self.results.append(result)
        for listener in self._listeners:
            with contextlib.suppress(Exception):
                listener(result)
        return result

    def interrupt(self) -> None:
        """Stop the audio at once and cancel the running utterance (LLM stream and TTS context)."""
        self.player.interrupt()
        task = self._current
        if task is not None and not task.done():
            task.cancel()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def offline_reasons(self) -> tuple[str, ...]:
        """Why parts are offline right now: follows provider switches made after start-up. An offline
        voice that cannot load (no Visual C++ runtime on Windows) says why here, on the banner."""
        reasons = offline_reasons(self.settings, self.llm_spec, self.tts.spec)
        if self.tts.offline and "tts" in self.warm_errors:
            reasons = (*reasons, self.warm_errors["tts"])
        return reasons

    def status(self) -> EngineStatus:
        lost = self.player.check()
        back = self.player.back_since
        provider = self._llms.get(self.llm_spec)
        llm_state = (
            "offline"
            if provider is not None and provider.offline
            else getattr(provider, "warm_state", "cold")
        )
        if "llm" in self.warm_errors and llm_state != "warm":
            llm_state = "unreachable"
        return EngineStatus(
            llm=self.llm_spec,
            llm_state=llm_state,
            tts=self.tts.spec,
            tts_state=self.tts.state,
            audio=self.player.sink_name,
            sample_rate=self.player.sample_rate,
            audio_warning=self.player.warning,
            offline_reasons=self.offline_reasons(),
            simulated=self.simulated,
            utterances=len(self.results),
            ttfa_ms=[r.ttfa for r in self.results if r.ttfa is not None],
            unavailable=tuple(name for name, h in self.health.snapshot().items() if not h.available),
            fallback_tts=self.fallback_tts.spec if self.fallback_tts is not None else None,
            audio_lost=lost_line(lost) if lost is not None else None,
            audio_back=f"since {clock_time(back)}" if back is not None and lost is None else None,
            audio_policy=self.audio_policy,
            net=self.net_label,
            net_rtt=self.net.view(),
            net_degraded=self.net.degraded(),
            telemetry_problem=self.telemetry.problem if self.telemetry is not None else None,
        )

    async def aclose(self) -> None:
        """Close sockets, stop audio, stop the emulator. Idempotent, bounded in time."""
        for task in (self._keepwarm, self._net_warming):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        self._keepwarm = self._net_warming = None
        if self._current is not None and not self._current.done():
            self._current.cancel()
        self.instant.cancel()
        await self.net.aclose()
        closers = [p.aclose() for p in self._llms.values()] + [self.tts.aclose()]
        with contextlib.suppress(Exception):
            async with asyncio.timeout(3.0):
                await asyncio.gather(*closers, return_exceptions=True)
        self._llms.clear()
        await self.health.aclose()
        if self.fallback_tts is not None:
            with contextlib.suppress(Exception):
                await self.fallback_tts.aclose()
        await asyncio.to_thread(self.player.close)
        if self._silent is not None:
            await asyncio.to_thread(self._silent.close)
        if self._unheard is not None:
            await asyncio.to_thread(self._unheard.close)
        if self.sim is not None:
            await asyncio.to_thread(self.sim.stop)
            self.sim = None
        if self.telemetry is not None:
            telemetry, self.telemetry = self.telemetry, None
            with contextlib.suppress(Exception):
                await asyncio.to_thread(telemetry.close)  # a down collector: one 0.2 s check
            self.telemetry_problem = telemetry.problem  # one-shot commands say it in one line
