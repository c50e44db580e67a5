"""The engine host: the engine (LLM, TTS, audio) in its own process, driven by the console over a socket.

Why a process: Textual lays out and renders in Python, tens of milliseconds of CPU per frame. In one
interpreter that holds the GIL away from the engine's sockets and the audio writer thread, which showed up
as first-audio outliers and device underruns. Here nothing but the engine runs; the console only ever
reads what this process sends, and this process never waits for the console (writes are buffered).

Started by `nuanu_tui.core.remote` as `python -m nuanu_tui.core.host PORT`, with the one-time token
on stdin (hex, one line); it connects to the console on 127.0.0.1:PORT and presents the token first
(see `core.wire`). Messages are tuples:
requests `(op, rid, *args)`, replies `("done", rid, value)` / `("error", rid, kind, message)`, and pushes
`("event", rid, event)`, `("progress", rid, p)`, `("store", rid, method, args, kwargs)`, `("result", r)`,
`("status", EngineStatus)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Mapping
from typing import Any

from nuanu_tui.core import wire
from nuanu_tui.core.bench import BenchConfig
from nuanu_tui.core.compare import CompareConfig
from nuanu_tui.core.engine import Engine  # imported while the console starts up, before it sends "open"
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.memory import peak_rss_mb, pss_mb
from nuanu_tui.core.ops import EngineOps
from nuanu_tui.core.redact import scrub
from nuanu_tui.core.timeline import UtteranceResult
from nuanu_tui.core.wire import Channel

STATUS_POLL_S = 0.5  # health probes change the status in the background; push it when it changes


class StoreRelay:
    """A benchmark's store writes, sent to the console's process, which owns the database."""

    def __init__(self, channel: Channel, rid: int) -> None:
        self._channel = channel
        self._rid = rid

    def start_bench_run(
        self, config: Mapping[str, Any], *, session_id: str | None = None, run_id: str | None = None
    ) -> str:
        run_id = run_id or uuid.uuid4().hex
        self._channel.send(
            "store",
            self._rid,
            "start_bench_run",
            (dict(config),),
            {"session_id": session_id, "run_id": run_id},
        )
        return run_id

    def record(
        self, result: UtteranceResult, session_id: str | None = None, run_id: str | None = None
    ) -> str:
        self._channel.send("store", self._rid, "record", (result, session_id, run_id), {})
        return result.utterance_id

    def finish_bench_run(self, run_id: str, summary: Mapping[str, Any] | None, status: str = "done") -> None:
        self._channel.send(
            "store", self._rid, "finish_bench_run", (run_id, dict(summary) if summary else None, status), {}
        )


class RideStoreRelay:
    """A ride's store writes, sent to the console's process in batches (a flood of events is thousands of
    decisions a second; one message per 0.1 s carries them)."""

    INTERVAL_S = 0.1

    def __init__(self, channel: Channel, rid: int) -> None:
        self._channel = channel
        self._rid = rid
        self._pending: list[tuple[Any, str | None]] = []
        self._timer: asyncio.TimerHandle | None = None

    def record_ride_decision(self, decision: Any, session_id: str | None) -> None:
        self._pending.append((decision, session_id))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.INTERVAL_S, self.flush)

    def record(
        self, result: UtteranceResult, session_id: str | None = None, run_id: str | None = None
    ) -> str:
        self.flush()  # keep the order: decisions before the utterance they led to
        self._channel.send("store", self._rid, "record", (result, session_id, run_id), {})
        return result.utterance_id

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            batch, self._pending = self._pending, []
            self._channel.send("store", self._rid, "record_ride_decisions", (batch,), {})


async def _now(fn: Any, *args: Any) -> Any:
    """A synchronous op answered like the others (its errors become the reply)."""
    return fn(*args)


class Host:
    """Serves one engine until the console says `close` or goes away (end of file on the socket)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.engine: Any = None
        self.ops: EngineOps | None = None
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._status: Any = None
        self._secrets: list[str] = []

    async def serve(self) -> int:
        try:
            op, settings, options = await self.channel.recv()
        except EOFError:
            return 1
        if op != "open":
            return 2
        self._secrets = list(settings.secrets())
        try:
            engine = await Engine.create(settings, **options)
        except NuanuError as exc:
            self.channel.send("failed", exc.kind, exc.message)
            await self.channel.drain()
            return 0
        except Exception as exc:  # the console shows it as ENGINE DOWN, one line
            self.channel.send("failed", "engine", self._clean(f"{type(exc).__name__}: {exc}"))
            await self.channel.drain()
            return 0
        self.engine = engine
        self.ops = EngineOps(engine)
        engine.add_listener(lambda result: self.channel.send("result", result))
        self._status = engine.status()
        self.channel.send("ready", self._status, dict(engine.warm_errors))
        watcher = asyncio.create_task(self._watch_status(), name="host-status")
        try:
            while True:
                try:
                    message = await self.channel.recv()
                except EOFError:
                    break
                if message[0] == "close":
                    break
                self._handle(message[0], message[1], message[2:])
        finally:
            watcher.cancel()
            await self._shutdown()
        return 0

    async def _shutdown(self) -> None:
        if self.ops is not None:
            self.ops.stop_all()
        for task in list(self._tasks.values()):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.engine.aclose()
        self.channel.send("closed")
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await self.channel.drain()

    # --- requests -------------------------------------------------------------------------------------
    def _handle(self, op: str, rid: int, args: tuple[Any, ...]) -> None:
        engine, ops = self.engine, self.ops
        assert ops is not None
        if op == "cancel":
            task = self._tasks.get(args[0])
            if task is not None:
                task.cancel()
        elif op == "interrupt":
            engine.interrupt()
        elif op == "compare_interrupt":
            ops.compare_interrupt()
        elif op == "compare_reset":
            ops.compare_reset()
        elif op == "bench_cancel":
            ops.bench_cancel()
        elif op == "say":
            trigger, llm, source, *more = args  # more: the ride's recent remarks; the event's label
            recent = tuple(more[0]) if more else ()
            label = more[1] if len(more) > 1 else None  # picks the interjection's category
            say = engine.say(
                trigger, llm=llm, source=source, on_event=self._events(rid), recent=recent, label=label
            )
            self._run(rid, say)
        elif op == "use_llm":
            self._run(rid, ops.use_llm(args[0]))
        elif op == "use_prompt":
            self._run(rid, ops.use_prompt(args[0]))
        elif op == "use_net":
            self._run(rid, ops.use_net(args[0]))
        elif op == "use_tts":
            self._run(rid, ops.use_tts(args[0], args[1]))
        elif op == "set_instant":
            self._run(rid, ops.set_instant(bool(args[0])))
        elif op == "list_models":
            self._run(rid, ops.list_models(args[0]))
        elif op == "use_audio":
            self._run(rid, ops.use_audio(args[0]))
        elif op == "set_audio_policy":
            self._run(rid, ops.set_audio_policy(args[0]))
        elif op == "audio_devices":
            self._run(rid, ops.audio_devices())
        elif op == "compare":
            self._run(rid, self._compare(rid, args[0], args[1]))
        elif op == "bench":
            self._run(rid, self._bench(rid, args[0], args[1], args[2]))
        elif op == "ride":
            self._run(rid, self._ride(rid, args[0], args[1]))
        elif op == "ride_stop":
            ops.ride_stop()
        elif op == "ride_operator":
            self._run(rid, _now(ops.ride_operator, *args))
        elif op == "ride_configure":
            self._run(rid, _now(ops.ride_configure, *args))
        elif op == "stats":
            self._run(rid, self._stats())
        else:
            self.channel.send("error", rid, "engine", f"unknown request {op!r}")

    def _events(self, rid: int) -> Any:
        send = self.channel.send
        return lambda event: send("event", rid, event)

    def _run(self, rid: int, work: Awaitable[Any]) -> None:
        self._tasks[rid] = asyncio.create_task(self._reply(rid, work), name=f"host-{rid}")

    async def _reply(self, rid: int, work: Awaitable[Any]) -> None:
        reply: tuple[Any, ...]
        try:
            reply = ("done", rid, await work)
        except asyncio.CancelledError:
            reply = ("done", rid, None)  # cancelled by the console: its final events went out before this
        except NuanuError as exc:
            reply = ("error", rid, exc.kind, exc.message)
        except Exception as exc:  # a bug must not take the engine down: the console shows one line
            reply = ("error", rid, "engine", self._clean(f"{type(exc).__name__}: {exc}"))
        finally:
            self._tasks.pop(rid, None)
        self._push_status()  # before the reply, so the console's status is current when it resumes
        try:
            self.channel.send(*reply)
        except TypeError as exc:  # a value the wire does not carry (see wire.WIRE_TYPES): a bug, not a hang
            self.channel.send("error", rid, "engine", self._clean(f"reply not sendable: {exc}"))

    async def _compare(self, rid: int, config: CompareConfig, trigger: str) -> None:
        assert self.ops is not None
        send = self.channel.send
        await self.ops.compare_round(config, trigger, lambda event: send("event", rid, event))

    async def _bench(self, rid: int, config: BenchConfig, session_id: str | None, stored: bool) -> Any:
        assert self.ops is not None
        send = self.channel.send
        return await self.ops.bench(
            config,
            on_progress=lambda p: send("progress", rid, p),
            on_event=self._events(rid),
            store=StoreRelay(self.channel, rid) if stored else None,
            session_id=session_id,
        )

    def _ride(self, rid: int, request: Any, stored: bool) -> Awaitable[Any]:
        """Reserved now, in message order: a `ride_stop` right behind this request stops this ride."""
        assert self.ops is not None
        send = self.channel.send
        return self.ops.ride(
            request,
            on_update=lambda update: send("progress", rid, update),
            on_event=self._events(rid),
            store=RideStoreRelay(self.channel, rid) if stored else None,
        )

    async def _stats(self) -> dict[str, Any]:
        """What benchmarks read from this process: its CPU time, peak memory and the device's underruns."""
        player = self.engine.player
        return {
            "pid": os.getpid(),
            "cpu_s": time.process_time(),
            "rss_peak_mb": peak_rss_mb(),
            "pss_mb": pss_mb(),
            "underruns": player.underruns,
        }

    # --- status ---------------------------------------------------------------------------------------
    def _push_status(self) -> None:
        status = self.engine.status()
        if status != self._status:
            self._status = status
            self.channel.send("status", status)

    async def _watch_status(self) -> None:
        while True:
            await asyncio.sleep(STATUS_POLL_S)
            self._push_status()

    def _clean(self, text: str) -> str:
        return scrub(" ".join(text.split()), self._secrets) or "engine error"


async def _main(port: int, token: bytes) -> int:
    sock = wire.connect(port, token)
    channel = await Channel.open(sock)
    try:
        return await Host(channel).serve()
    finally:
        channel.close()


def preload(what: list[str]) -> None:
    """Import what the engine will need while the console is still starting (see `remote.preload_hint`)."""
    if "cloud" in what:
        import nuanu_tui.core.llm.cloud
        import nuanu_tui.core.tts.elevenlabs  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or not args[0].isdigit():
        print("usage: python -m nuanu_tui.core.host PORT [cloud] (started by the console)", file=sys.stderr)
        return 2
    try:
        token = bytes.fromhex(sys.stdin.readline().strip())
    except ValueError:
        token = b""
    if len(token) != wire.TOKEN_BYTES:
        print("nuanu_tui.core.host: no token on stdin (started by the console only)", file=sys.stderr)
        return 2
    preload(args[1:])
    return asyncio.run(_main(int(args[0]), token))


if __name__ == "__main__":
    sys.exit(main())
