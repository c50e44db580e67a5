"""The console's handle on an engine running in its own process (`nuanu_tui.core.host`).

`RemoteEngine` offers what the bridge uses of `Engine` (say, interrupt, status, results, listeners) and
`RemoteOps` what it uses of `EngineOps`, so the bridge drives either without knowing which. All methods
run on the one asyncio loop that spawned the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nuanu_tui.core import wire
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.redact import scrub
from nuanu_tui.core.wire import Channel

if TYPE_CHECKING:  # kept light: the console launches the engine process before its own heavy imports
    from nuanu_tui.core.bench import BenchConfig, BenchProgress, BenchResult
    from nuanu_tui.core.compare import CompareConfig, CompareEvent
    from nuanu_tui.core.events import PipelineEvent
    from nuanu_tui.core.ops import BenchStore
    from nuanu_tui.core.timeline import UtteranceResult

CANCEL_WAIT_S = 2.0  # after a cancel, how long to wait for the host's final events (the "cancelled" record)
CLOSE_WAIT_S = 5.0
EXIT_WAIT_S = 2.0  # after end of file, how long the engine process may take to exit by itself
CONNECT_WAIT_S = 120.0  # the child imports the engine before it connects: seconds, more under emulation


@dataclass(slots=True)
class _Call:
    future: asyncio.Future[Any]
    on_event: Callable[[Any], None] | None = None
    on_progress: Callable[[BenchProgress], None] | None = None
    store: BenchStore | None = None


@dataclass(slots=True)
class Voice:
    """What the bridge reads of the TTS provider: its spec."""

    spec: str


@dataclass(slots=True)
class HostStats:
    pid: int
    cpu_s: float
    rss_peak_mb: float | None  # None where the OS does not say (Windows)
    underruns: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class HostLaunch:
    """A started engine process that has not been told what to run yet (it is importing meanwhile), and
    the loopback listener it will connect to with `token` (see `core.wire`)."""

    proc: subprocess.Popen[bytes]
    listener: socket.socket
    token: bytes
    log_path: Path


def launch_host(settings: Any) -> HostLaunch:
    """Start the engine process now; `RemoteEngine.spawn` then hands it the engine to create. Started
    before the console imports Textual, the two processes' imports overlap instead of adding up.

    The child gets the port on its command line and the token on its stdin (not the command line, which
    other local users can read)."""
    log_path = engine_log_path(settings)
    listener, token = wire.listen()
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed right after
    except OSError:
        log = subprocess.DEVNULL  # type: ignore[assignment]
    port = listener.getsockname()[1]
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nuanu_tui.engine_host", str(port), *preload_hint(settings)],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            **_own_group(),
        )
    except BaseException:
        listener.close()
        raise
    finally:
        if log is not subprocess.DEVNULL:
            log.close()  # type: ignore[union-attr]
    assert proc.stdin is not None
    with contextlib.suppress(OSError):  # a child that died at once is reported by `spawn`
        proc.stdin.write(token.hex().encode() + b"\n")
    with contextlib.suppress(OSError):
        proc.stdin.close()
    return HostLaunch(proc, listener, token, log_path)


def _own_group() -> dict[str, Any]:
    """Ctrl+C in the terminal reaches the console only, which then closes the engine in order."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def preload_hint(settings: Any) -> list[str]:
    """With any cloud key the engine will need the SDKs: let the process import them while it waits."""
    return ["cloud"] if settings.secrets() else []


def engine_log_path(settings: Any) -> Path:
    """Where the host's stderr goes: next to the database (the console owns the terminal)."""
    from nuanu_tui.core.store_schema import default_db_path

    return default_db_path(getattr(settings, "data_dir", None)).with_name("engine.log")


class RemoteEngine:
    """An engine in a child process. Dies with a clear one-line error, never with a hang."""

    def __init__(
        self, settings: Any, proc: subprocess.Popen[bytes], channel: Channel, log_path: Path
    ) -> None:
        self.settings = settings
        self.proc = proc
        self.log_path = log_path
        self._channel = channel
        self._ids = itertools.count(1)
        self._calls: dict[int, _Call] = {}
        self._listeners: list[Callable[[UtteranceResult], None]] = []
        self._says: set[int] = set()
        self._status: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self.dead: str | None = None  # why the process is gone, once it is
        self.on_exit: Callable[[str], None] | None = None
        self.results: list[UtteranceResult] = []
        self.warm_errors: dict[str, str] = {}
        self.ops = RemoteOps(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    # --- life ------------------------------------------------------------------------------------------
    @classmethod
    async def spawn(
        cls, settings: Any, *, launched: HostLaunch | None = None, **options: Any
    ) -> RemoteEngine:
        """Create and warm the engine in its process (started now, or earlier by `launch_host`);
        NuanuError when it cannot start."""
        launch = launched or launch_host(settings)
        proc, log_path = launch.proc, launch.log_path
        try:
            sock = await wire.accept(
                launch.listener, launch.token, alive=lambda: proc.poll() is None, wait_s=CONNECT_WAIT_S
            )
        except asyncio.CancelledError:  # the console closed while the engine was starting: take it down
            proc.kill()
            raise
        except ConnectionError as exc:
            hung = proc.poll() is None  # alive but silent: say so before the exit code of our kill
            code = await asyncio.to_thread(_reap, proc)
            message = _exit_message(code, log_path, settings.secrets())
            raise NuanuError("engine", f"{exc}; {message}" if hung else message) from None
        finally:
            launch.listener.close()  # one connection only: nobody else gets in once the child is in
        channel = await Channel.open(sock)
        channel.send("open", settings, options)
        try:
            reply = await channel.recv()
        except asyncio.CancelledError:
            channel.close()
            proc.kill()
            raise
        except EOFError:
            channel.close()
            code = await asyncio.to_thread(_reap, proc)
            raise NuanuError("engine", _exit_message(code, log_path, settings.secrets())) from None
        if reply[0] == "failed":
            channel.close()
            await asyncio.to_thread(_reap, proc)
            raise NuanuError(reply[1], reply[2])
        engine = cls(settings, proc, channel, log_path)
        _, engine._status, engine.warm_errors = reply
        engine._reader = asyncio.create_task(engine._read(), name="remote-engine-reader")
        return engine

    async def aclose(self) -> None:
        """Ask the host to close sockets and audio, then make sure the process is gone."""
        if self._closing:
            return
        self._closing = True
        try:
            if self.dead is None:
                self._channel.send("close")
                if self._reader is not None:
                    with contextlib.suppress(asyncio.TimeoutError, Exception):
                        async with asyncio.timeout(CLOSE_WAIT_S):
                            await asyncio.shield(self._reader)
        finally:  # also when the caller gives up waiting: no engine process outlives its console
            self._channel.close()
            if self._reader is not None:
                self._reader.cancel()
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
        await asyncio.to_thread(_reap, self.proc)

    # --- the Engine surface the bridge uses ----------------------------------------------------------
    async def say(
        self,
        trigger: str,
        *,
        llm: str | None = None,
        on_event: Callable[[PipelineEvent], None] | None = None,
        source: str = "console",
        recent: Sequence[str] = (),
        label: str | None = None,
    ) -> UtteranceResult:
        rid, future = self._start("say", (trigger, llm, source, list(recent), label), on_event=on_event)
        self._says.add(rid)
        try:
            return await self._wait(rid, future)  # type: ignore[no-any-return]
        finally:
            self._says.discard(rid)

    def interrupt(self) -> None:
        self.send("interrupt")

    @property
    def busy(self) -> bool:
        return bool(self._says)

    @property
    def tts(self) -> Voice:
        return Voice(self._status.tts if self._status is not None else "")

    @property
    def llm_spec(self) -> str:
        return self._status.llm if self._status is not None else ""

    def status(self) -> Any:
        return self._status

    def add_listener(self, listener: Callable[[UtteranceResult], None]) -> None:
        self._listeners.append(listener)

    async def stats(self) -> HostStats:
        """The host's CPU time, peak RSS and the device's underruns (for benchmarks)."""
        value = await self.call("stats")
        return HostStats(
            value.pop("pid"), value.pop("cpu_s"), value.pop("rss_peak_mb"), value.pop("underruns"), value
        )

    # --- calls ----------------------------------------------------------------------------------------
    def send(self, op: str, *args: Any) -> None:
        """A request with no reply (interrupts, stop flags)."""
        if self.dead is None:
            self._channel.send(op, 0, *args)

    async def call(
        self,
        op: str,
        *args: Any,
        on_event: Callable[[Any], None] | None = None,
        on_progress: Callable[[BenchProgress], None] | None = None,
        store: BenchStore | None = None,
    ) -> Any:
        rid, future = self._start(op, args, on_event=on_event, on_progress=on_progress, store=store)
        return await self._wait(rid, future)

    def _start(self, op: str, args: tuple[Any, ...], **hooks: Any) -> tuple[int, asyncio.Future[Any]]:
        if self.dead is not None:
            raise NuanuError("engine", self.dead)
        rid = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._calls[rid] = _Call(future, **hooks)
        self._channel.send(op, rid, *args)
        return rid, future

    async def _wait(self, rid: int, future: asyncio.Future[Any]) -> Any:
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # Cancel it there too, and let its last events (the "cancelled" record) arrive before unwinding.
            self.send("cancel", rid)
            with contextlib.suppress(BaseException):
                async with asyncio.timeout(CANCEL_WAIT_S):
                    await future
            raise
        finally:
            self._calls.pop(rid, None)

    async def _read(self) -> None:
        try:
            while True:
                message = await self._channel.recv()
                self._dispatch(message)
        except EOFError:
            pass
        code = await asyncio.to_thread(_reap, self.proc, EXIT_WAIT_S)  # a clean exit is not terminated
        self.dead = (
            "the engine was closed"
            if self._closing
            else _exit_message(code, self.log_path, self.settings.secrets())
        )
        for call in list(self._calls.values()):
            if not call.future.done():
                call.future.set_exception(NuanuError("engine", self.dead))
        if not self._closing and self.on_exit is not None:
            self.on_exit(self.dead)

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "event":
            call = self._calls.get(message[1])
            if call is not None and call.on_event is not None:
                call.on_event(message[2])
        elif kind == "done" or kind == "error":
            call = self._calls.get(message[1])
            if call is not None and not call.future.done():
                if kind == "done":
                    call.future.set_result(message[2])
                else:
                    call.future.set_exception(NuanuError(message[2], message[3]))
        elif kind == "result":
            result: UtteranceResult = message[1]
            self.results.append(result)
            for listener in self._listeners:
                listener(result)
        elif kind == "status":
            self._status = message[1]
        elif kind == "progress":
            call = self._calls.get(message[1])
            if call is not None and call.on_progress is not None:
                call.on_progress(message[2])
        elif kind == "store":
            call = self._calls.get(message[1])
            if call is not None and call.store is not None:
                getattr(call.store, message[2])(*message[3], **message[4])


class RemoteOps:
    """`EngineOps`, carried out in the engine's process."""

    def __init__(self, remote: RemoteEngine) -> None:
        self._remote = remote

    async def use_llm(self, spec: str) -> None:
        await self._remote.call("use_llm", spec)

    async def use_net(self, spec: str) -> str:
        return str(await self._remote.call("use_net", spec))

    async def use_prompt(self, name: str) -> str:
        return str(await self._remote.call("use_prompt", name))

    async def use_tts(self, spec: str, output_format: str | None) -> str | None:
        warm_error: str | None = await self._remote.call("use_tts", spec, output_format)
        if warm_error:
            self._remote.warm_errors["tts"] = warm_error
        else:
            self._remote.warm_errors.pop("tts", None)
        return warm_error

    async def set_instant(self, on: bool) -> str | None:
        reason: str | None = await self._remote.call("set_instant", on)
        return reason

    async def list_models(self, provider: str) -> tuple[str, ...]:
        return tuple(await self._remote.call("list_models", provider))

    async def use_audio(self, spec: str) -> str:
        name: str = await self._remote.call("use_audio", spec)
        return name

    async def set_audio_policy(self, policy: str) -> None:
        await self._remote.call("set_audio_policy", policy)

    async def audio_devices(self) -> tuple[str, ...]:
        return tuple(await self._remote.call("audio_devices"))

    async def compare_round(
        self, config: CompareConfig, trigger: str, on_event: Callable[[CompareEvent], None]
    ) -> None:
        await self._remote.call("compare", config, trigger, on_event=on_event)

    def compare_interrupt(self) -> None:
        self._remote.send("compare_interrupt")

    def compare_reset(self) -> None:
        self._remote.send("compare_reset")

    async def bench(
        self,
        config: BenchConfig,
        *,
        on_progress: Callable[[BenchProgress], None],
        on_event: Callable[[PipelineEvent], None],
        store: BenchStore | None,
        session_id: str | None,
    ) -> BenchResult:
        result: BenchResult = await self._remote.call(
            "bench",
            config,
            session_id,
            store is not None,
            on_event=on_event,
            on_progress=on_progress,
            store=store,
        )
        return result

    def bench_cancel(self) -> None:
        self._remote.send("bench_cancel")

    async def ride(
        self,
        request: Any,
        *,
        on_update: Callable[[Any], None],
        on_event: Callable[[PipelineEvent], None],
        store: Any = None,
    ) -> dict[str, Any]:
        summary: dict[str, Any] = await self._remote.call(
            "ride", request, store is not None, on_event=on_event, on_progress=on_update, store=store
        )
        return summary

    def ride_stop(self) -> None:
        self._remote.send("ride_stop")

    async def ride_operator(self, text: str, interrupt: bool) -> None:
        await self._remote.call("ride_operator", text, interrupt)

    async def ride_configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        settings: dict[str, Any] = await self._remote.call("ride_configure", changes)
        return settings

    def stop_all(self) -> None:
        self.bench_cancel()
        self.compare_interrupt()
        self.ride_stop()


def _reap(proc: subprocess.Popen[bytes], wait: float = 2.0) -> int | None:
    """The exit code; terminate, then kill, a process that does not go by itself."""
    for step in (None, proc.terminate, proc.kill):
        if step is not None:
            with contextlib.suppress(ProcessLookupError):
                step()
        try:
            return proc.wait(timeout=max(wait, 0.5))
        except subprocess.TimeoutExpired:
            continue
    return proc.poll()


def _exit_message(code: int | None, log_path: Path, secrets: list[str]) -> str:
    """One line: the exit code and the log's last line (a crash's exception), with keys scrubbed."""
    last = ""
    with contextlib.suppress(OSError):
        lines = [  # the process's own last words, not the console's notes (supervisor.log_line)
            ln
            for ln in log_path.read_text(errors="replace").splitlines()
            if ln.strip() and " console: " not in ln
        ]
        last = lines[-1].strip()[:160] if lines else ""
    why = f": {scrub(last, secrets)}" if last else ""
    return f"the engine process {_how(code)}{why} — see {log_path}"


def _how(code: int | None) -> str:
    """`killed by SIGKILL` for a signal (POSIX reports -N), else the exit code (Windows' TerminateProcess
    sets the code it was given)."""
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name} (exit code {code})"
    return f"stopped (exit code {code})"


__all__ = ["HostStats", "RemoteEngine", "RemoteOps", "Voice", "engine_log_path"]
