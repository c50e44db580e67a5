"""Operator actions on one engine beyond `say`: switching providers, listing models, compare rounds,
benchmark runs and rides. The console's bridge uses this directly for an in-process engine, and the engine host
process uses the very same class, so both paths run one implementation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from nuanu_tui.core.bench import BenchConfig, BenchProgress, BenchResult, run_bench
from nuanu_tui.core.compare import CompareConfig, CompareEvent, CompareRound, CompareSession
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.events import PipelineEvent

MODELS_TIMEOUT_S = 10.0


class BenchStore(Protocol):
    """The part of `Store` a benchmark writes through (the host relays it to the UI's process)."""

    def start_bench_run(
        self, config: Mapping[str, Any], *, session_id: str | None = None, run_id: str | None = None
    ) -> str: ...

    def record(self, result: Any, session_id: str | None = None, run_id: str | None = None) -> str: ...

    def finish_bench_run(
        self, run_id: str, summary: Mapping[str, Any] | None, status: str = "done"
    ) -> None: ...


class _RideSlot:
    """The running ride: reserved when asked for, its handle once it has started; a stop that comes
    before the start is kept and applied then."""

    def __init__(self) -> None:
        self.handle: Any = None
        self._stop = False

    def started(self, handle: Any) -> None:
        self.handle = handle
        if self._stop:
            handle.stop.set()

    def stop(self) -> None:
        self._stop = True
        if self.handle is not None:
            self.handle.stop.set()


async def _failed(exc: BaseException) -> Any:
    raise exc


class EngineOps:
    """Stateful helpers around one engine: the compare session (and its tally) and the bench's stop flag."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._compare: CompareSession | None = None
        self._bench_cancel: asyncio.Event | None = None
        self._ride: _RideSlot | None = None

    # --- providers ------------------------------------------------------------------------------------
    async def use_llm(self, spec: str) -> None:
        self.engine.llm(spec)  # validates the spec (ConfigError) before switching
        await self.engine.use_llm(spec)

    async def use_prompt(self, name: str) -> str:
        """The prompt file from the next utterance; returns its NAME@VERSION (PromptError: unknown)."""
        return str(self.engine.use_prompt(name))

    async def use_net(self, spec: str) -> str:
        """Switch the emulated network profile (demo); returns its label."""
        return str(self.engine.use_net(spec))

    async def use_tts(self, spec: str, output_format: str | None) -> str | None:
        """Switch the voice; returns the warm-up problem, if the new voice could not be warmed."""
        await self.engine.use_tts(spec, output_format)
        return getattr(self.engine, "warm_errors", {}).get("tts")

    async def set_instant(self, on: bool) -> str | None:
        """Instant reactions on or off from the next trigger; returns why they stay off, if they do."""
        self.engine.set_instant(on)
        return self.engine.instant.reason if on else None

    async def use_audio(self, spec: str) -> str:
        """Switch the output device live; returns its name as the player reports it."""
        await self.engine.use_audio(spec)
        return str(self.engine.player.sink_name)

    async def set_audio_policy(self, policy: str) -> None:
        """While the speaker is gone: "hold" remarks (dropping stale ones) or "keep" generating them."""
        self.engine.set_audio_policy(policy)

    async def audio_devices(self) -> tuple[str, ...]:
        """`device:NAME` specs of the outputs PortAudio lists now (empty without PortAudio)."""
        from nuanu_tui.core.audio.sounddevice_sink import list_output_devices

        try:
            devices = await asyncio.to_thread(list_output_devices)
        except Exception:  # no PortAudio library: the picker offers what it has
            return ()
        return tuple(f"device:{name}" for _, name, _ in devices)

    async def list_models(self, provider: str) -> tuple[str, ...]:
        """`provider/model` specs from the provider's /models; NuanuError when there is no key or no answer."""
        settings = self.engine.settings
        if not settings.key(provider):
            raise NuanuError("models", f"no {provider} key")
        model = {"groq": settings.groq_model, "openai": settings.openai_model}.get(provider, "any")
        try:
            async with asyncio.timeout(MODELS_TIMEOUT_S):
                names = await self.engine.llm(f"{provider}/{model}").list_models()
        except TimeoutError:
            raise NuanuError("models", "timed out") from None
        return tuple(f"{provider}/{n}" for n in names)

    # --- compare --------------------------------------------------------------------------------------
    async def compare_round(
        self, config: CompareConfig, trigger: str, on_event: Callable[[CompareEvent], None]
    ) -> CompareRound:
        if self._compare is None:
            self._compare = CompareSession(self.engine, config)
        else:
            self._compare.configure(config)
        return await self._compare.run(trigger, on_event)

    def compare_interrupt(self) -> None:
        if self._compare is not None:
            self._compare.interrupt()

    def compare_reset(self) -> None:
        if self._compare is not None:
            self._compare.reset()

    # --- bench ----------------------------------------------------------------------------------------
    async def bench(
        self,
        config: BenchConfig,
        *,
        on_progress: Callable[[BenchProgress], None],
        on_event: Callable[[PipelineEvent], None],
        store: BenchStore | None,
        session_id: str | None,
    ) -> BenchResult:
        if self._bench_cancel is not None:
            raise NuanuError("bench", "a benchmark is already running")
        config.validate()
        cancel = self._bench_cancel = asyncio.Event()
        try:
            return await run_bench(
                self.engine,
                config,
                on_progress=on_progress,
                on_event=on_event,
                cancel=cancel,
                store=store,  # type: ignore[arg-type]
                session_id=session_id,
            )
        finally:
            self._bench_cancel = None

    def bench_cancel(self) -> None:
        if self._bench_cancel is not None:
            self._bench_cancel.set()

    # --- ride ------------------------------------------------------------------------------------------
    def ride(
        self,
        request: Any,
        *,
        on_update: Callable[[Any], None],
        on_event: Callable[[PipelineEvent], None],
        store: Any = None,
    ) -> Awaitable[dict[str, Any]]:
        """Run a ride (`core.ride.compose.RideRequest`) until `ride_stop`, or its replay's end; the awaitable
        gives its summary. The ride is reserved at once (a `ride_stop` right behind it stops it), and its
        modules load only when a ride starts (the console's process never needs them)."""
        if self._ride is not None:
            return _failed(NuanuError("ride", "a ride is already running"))
        slot = self._ride = _RideSlot()
        return self._run_ride(slot, request, on_update, on_event, store)

    async def _run_ride(
        self, slot: _RideSlot, request: Any, on_update: Any, on_event: Any, store: Any
    ) -> dict[str, Any]:
        from nuanu_tui.core.ride.compose import run_ride

        try:
            session = await run_ride(
                self.engine, request, store=store, on_update=on_update, on_event=on_event, on_start=slot.started
            )  # fmt: skip
        finally:
            self._ride = None
        return session.tally.summary()  # type: ignore[no-any-return]

    def ride_stop(self) -> None:
        if self._ride is not None:
            self._ride.stop()

    def ride_operator(self, text: str, interrupt: bool) -> None:
        """A typed trigger during a ride: it always speaks (queued, or stopping the current remark)."""
        self._handle().operator(text, interrupt)

    def ride_configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Live edits of the director's rules (and pause); returns the settings now in force."""
        handle = self._handle()
        try:
            return handle.configure(changes)
        except (TypeError, ValueError) as exc:
            raise NuanuError("ride", str(exc)) from None

    def _handle(self) -> Any:
        if self._ride is None or self._ride.handle is None:
            raise NuanuError("ride", "no ride is running")
        return self._ride.handle

    def stop_all(self) -> None:
        """Shutdown: stop a running bench, compare round and ride."""
        self.bench_cancel()
        self.compare_interrupt()
        self.ride_stop()


__all__ = ["BenchStore", "EngineOps"]
