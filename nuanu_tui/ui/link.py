"""The one core-facing piece of the UI: `EngineLink` runs one engine on its own asyncio loop in a dedicated
thread, owns its lifecycle (open, supervise and restart, close), its status and the store; the per-mode
bridges (console_bridge, compare_bridge, bench_bridge, history_bridge, ride_bridge) add only their verbs on it.

The real engine runs in a separate process (`nuanu_tui.core.host`, reached through `RemoteEngine`): the
engine's timing and the audio device never share a GIL with Textual's rendering. Tests hand in fakes, which
run in-process on the same loop; both go through `EngineOps`, so one code path serves both. The loop never
waits on the UI; it only calls `post_message`, which is thread-safe and non-blocking. Audio never crosses
this seam.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump

from nuanu_tui.core.bench import BENCH_SOURCE, WARMUP_SOURCE
from nuanu_tui.core.config import Settings
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.netprobe import GOOD_MS as NET_GOOD_MS
from nuanu_tui.core.ops import EngineOps
from nuanu_tui.core.stats import summarize
from nuanu_tui.core.store import Store
from nuanu_tui.core.supervisor import EngineSupervisor, log_line
from nuanu_tui.core.timeline import UtteranceResult
from nuanu_tui.core.votes import config_of
from nuanu_tui.ui.messages import EngineFailed, EngineReady, StatusChanged, StatusView
from nuanu_tui.ui.relay import Relay
from nuanu_tui.ui.views import catalog

CLOSE_TIMEOUT_S = 8.0

EngineFactory = Callable[[], Awaitable[Any]]


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

        # --demo here needs the emulator installed by the composition root (the CLI does it; the engine's
        # own process has nuanu_tui.engine_host): the UI never imports the emulator.
        return await Engine.create(settings, **options)

    return create


class EngineLink:
    """Runs one engine on a private loop thread, shared by every mode's bridge. Public methods are called
    from the UI thread unless they say otherwise."""

    def __init__(self, factory: EngineFactory, *, output_format: str = "", settings: Any = None) -> None:
        self._factory = factory
        self.settings = settings
        self.store: Store | None = None
        self.store_error: str | None = None
        self._store_lock = threading.Lock()
        self._sessions: dict[str, str] = {}  # session kind -> id, started on first use
        self._last_rtt: tuple[tuple[str, float | None], ...] = ()
        self.ops: Any = None  # EngineOps, or the engine's own (RemoteOps) when it has one
        self.known_models: dict[str, tuple[str, ...]] = {}  # listed by the console, offered by compare too
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="nuanu-engine", daemon=True)
        self.utterances: dict[asyncio.Task[Any], Relay] = {}  # queued or speaking (engine loop)
        self._closed = False
        self.engine: Any = None
        self.output_format = output_format
        self.catalog = catalog(settings)
        self._target: MessagePump | None = None  # where engine-wide messages go (the console)
        self._watchers: list[MessagePump] = []  # views told when the engine goes down and comes back
        self._supervisor = EngineSupervisor(factory)
        self._restarter: asyncio.Task[None] | None = None

    # --- loop thread --------------------------------------------------------------------------------
    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.close()

    def submit(self, coro: Awaitable[Any]) -> concurrent.futures.Future[Any]:
        """Run `coro` on the engine loop (starting its thread on first use); the future resolves to its result."""
        if not self._thread.is_alive():
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run `callback` on the engine loop at once (a stop, a reset); nothing before start or after close."""
        if self._thread.is_alive() and not self._closed:
            self.loop.call_soon_threadsafe(callback)

    def relay(self, target: MessagePump) -> Relay:
        """A fresh per-utterance sink posting to `target` (call it on the engine loop)."""
        return Relay(self.loop, target)

    @property
    def ready(self) -> bool:
        return self.engine is not None and not self._closed

    @property
    def closed(self) -> bool:
        return self._closed

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

        await asyncio.wrap_future(self.submit(create()))
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
            add_listener(self.remember)
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
            self.loop.close()
            await asyncio.to_thread(self.close_store)
            return

        async def shutdown() -> None:
            if self._restarter is not None:
                self._restarter.cancel()
            if self.ops is not None and self.engine is not None:
                self.ops.stop_all()
            for task in list(self.utterances):
                task.cancel()
            if self.engine is not None:
                await self.engine.aclose()

        with contextlib.suppress(Exception):  # TimeoutError included: the loop is stopped either way
            async with asyncio.timeout(timeout):
                await asyncio.wrap_future(self.submit(shutdown()))
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self._thread.join, 2.0)
        await asyncio.to_thread(self.close_store)

    def host_stats(self) -> concurrent.futures.Future[Any] | None:
        """The engine process's CPU time, peak RSS and device underruns (benchmarks); None in-process."""
        stats = getattr(self.engine, "stats", None)
        return self.submit(stats()) if callable(stats) and self.ready else None

    def request_status(self, target: MessagePump) -> None:
        if self.ready:
            self.loop.call_soon_threadsafe(self.post_status, target)

    # --- status -------------------------------------------------------------------------------------
    def post_status(self, target: MessagePump) -> None:
        """Post the engine's status to `target` (engine loop)."""
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
            queued=max(0, len(self.utterances) - 1),
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
            net_warn_ms=float(getattr(self.settings, "net_warn_ms", None) or 200.0),
        )

    # --- memory (store) -----------------------------------------------------------------------------
    def open_store(self) -> Store | None:
        """Open the database once (blocking: call it off the UI thread). None when it cannot be opened."""
        with self._store_lock:
            if self.store is None and self.store_error is None and self.settings is not None:
                try:
                    self.store = Store.from_settings(self.settings).open()
                except NuanuError as exc:
                    self.store_error = exc.message
            return self.store

    def close_store(self) -> None:
        with self._store_lock:
            if self.store is not None:
                self.store.close()

    def session(self, kind: str) -> str | None:
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
            self.store.record_rtt(time.time(), readings, self.session("console"))

    def rate(self, view: Any, rating: int | None) -> bool:
        """A quick rating of one remark (+1, -1, None to take it back), stored with its configuration and
        the operator; False when there is no store. The store's writer thread does the disk work."""
        store = self.store
        if store is None or not store.is_open:
            return False
        operator = str(getattr(self.settings, "operator", "") or "")
        store.rate(view.utterance_id, rating, config_of(view), operator)
        return True

    def remember(self, result: UtteranceResult) -> None:
        """Engine listener (engine loop): store console and compare utterances. `record` only enqueues;
        the store's writer thread does the disk work. The bench and the ride store their own."""
        if (
            result.source in (BENCH_SOURCE, WARMUP_SOURCE, "ride")
            or self.store is None
            or not self.store.is_open
        ):
            return
        kind = "compare" if result.source == "compare" else "console"
        self.store.record(result, self.session(kind))
