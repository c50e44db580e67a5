"""The emulator: one aiohttp server on 127.0.0.1 speaking the real OpenAI/Groq SSE and ElevenLabs WS protocols.

This module composes the parts and runs them: the LLM endpoints (sim/openai_sse.py), the TTS socket
(sim/elevenlabs_ws.py), the emulated link every request crosses (sim/network.py), the fault switchboard
(sim/faults.py), latency profiles (sim/profiles.py) and default content (sim/content.py). What a test reads
back (requests, WS messages, audio per context) is kept here.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections import defaultdict, deque
from collections.abc import MutableSequence
from typing import Any, Literal

from aiohttp import web

from nuanu_tui.sim.content import ReplyFn, SpeechFn, default_reply, synth_voice
from nuanu_tui.sim.elevenlabs_ws import ElevenLabsAPI
from nuanu_tui.sim.faults import Faults
from nuanu_tui.sim.network import LinkTable, NetProfile, parse_net
from nuanu_tui.sim.openai_sse import DEFAULT_MODELS, ChatAPI
from nuanu_tui.sim.profiles import ProfileSet, get_profile


class SimServer:
    """Local OpenAI/Groq + ElevenLabs emulator on one port. Create, `await start()`, use, `await stop()`."""

    def __init__(
        self,
        *,
        profile: str | ProfileSet = "fast",
        reply_fn: ReplyFn | None = None,
        speech_fn: SpeechFn | None = None,
        api_keys: set[str] | None = None,
        models: list[str] | None = None,
        keep: int | None = None,
        net: str | NetProfile | None = None,
        net_seed: int | None = None,
    ) -> None:
        """`keep`: how many recent requests, WS messages and contexts' audio to keep for inspection; None
        keeps everything (tests read it all). A long demo session sets it, or memory would grow forever.
        `net`: the emulated link (sim/network.py); assign `server.net` to switch it live."""
        self.profile: ProfileSet = get_profile(profile)
        self.net: NetProfile = parse_net(net)
        self._links = LinkTable(self, net_seed)
        self.keep = keep
        self.reply_fn: ReplyFn = reply_fn or default_reply
        self.speech_fn: SpeechFn = speech_fn or synth_voice
        self.api_keys = api_keys
        self.models: list[str] = list(models) if models is not None else list(DEFAULT_MODELS)
        self.faults = Faults()
        self.requests: MutableSequence[dict[str, Any]] = [] if keep is None else deque(maxlen=keep)
        # every parsed client WS message (keys removed)
        self.ws_messages: MutableSequence[dict[str, Any]] = [] if keep is None else deque(maxlen=keep)
        self.ws_connections = 0
        self.context_key: Literal["contextId", "context_id"] = "contextId"
        self.inactivity_timeout_override: float | None = None  # test-only: seconds, bypasses the 1..180 clamp
        self.port = 0
        self._audio: defaultdict[str, bytearray] = defaultdict(bytearray)
        self._encoded: defaultdict[str, bytearray] = defaultdict(bytearray)
        self.websockets: set[web.WebSocketResponse] = set()  # open ElevenLabs sockets
        self._runner: web.AppRunner | None = None
        self.stopping = asyncio.Event()  # set by stop(): a hanging request gives up
        self._chat = ChatAPI(self)
        self._tts = ElevenLabsAPI(self)

    # -- public surface ---------------------------------------------------------------------------------
    @property
    def groq_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def elevenlabs_base_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def sent_audio(self) -> dict[str, bytes]:
        """PCM sent per context (before MP3 encoding). Keys: multi-stream context ids; `stream-<n>` for the
        n-th WebSocket connection (1-based) when it is a stream-input socket."""
        return {k: bytes(v) for k, v in self._audio.items()}

    def audio_logs(self, key: str) -> tuple[bytearray, bytearray]:
        """A context's audio as sent: PCM before encoding, and the bytes on the wire."""
        return self._audio[key], self._encoded[key]

    def forget_old_audio(self) -> None:
        if self.keep is not None:
            for log in (self._audio, self._encoded):
                while len(log) > self.keep:
                    del log[next(iter(log))]  # dicts keep insertion order: the oldest context goes first

    @property
    def sent_encoded(self) -> dict[str, bytes]:
        """The exact audio bytes on the wire per context (equal to `sent_audio` for PCM formats)."""
        return {k: bytes(v) for k, v in self._encoded.items()}

    @property
    def open_sockets(self) -> int:
        return len(self.websockets)

    @property
    def connections_opened(self) -> int:
        """TCP connections that paid the handshakes (HTTP and WebSocket)."""
        return self._links.opened

    def key_ok(self, key: str) -> bool:
        return bool(key) and (self.api_keys is None or key in self.api_keys)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(middlewares=[self._links.middleware])
        app.router.add_get("/", self._root)
        self._chat.add_routes(app.router)
        self._tts.add_routes(app.router)
        self.stopping = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        self.stopping.set()
        for ws in list(self.websockets):
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await ws.close(code=1001, message=b"server shutdown")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _root(self, request: web.Request) -> web.StreamResponse:
        """What a provider's front door answers without a key: enough for an RTT probe, no quota spent."""
        return web.Response(status=200, text="ok")


class SimThread:
    """The emulator on its own event loop in a daemon thread (for `--demo` and synchronous callers)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> None:
        self.server = SimServer(**kwargs)
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SimServer:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.server.start(self._host, self._port))
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.server.stop())
                loop.close()

        self._thread = threading.Thread(target=run, name="nuanu-sim", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self.server

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5.0)

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def export_lines(server: SimServer) -> list[str]:
    """Shell lines pointing every client at the emulator."""
    return [
        f"export GROQ_BASE_URL={server.groq_base_url}",
        f"export OPENAI_BASE_URL={server.openai_base_url}",
        f"export ELEVENLABS_BASE_URL={server.elevenlabs_base_url}",
    ]


def run_forever(port: int, profile: str, net: str | None = None, keys: list[str] | None = None) -> None:
    """`nuanu-tui sim`: serve until interrupted, after printing `export` lines for the three base URLs.

    `keys`: the only API keys accepted (rehearse a wrong key); None accepts any non-empty key."""

    async def main() -> None:
        server = SimServer(profile=profile, net=net, api_keys=set(keys) if keys else None)
        await server.start(port=port)
        try:
            print("\n".join(export_lines(server)), flush=True)
            if not server.net.is_zero:
                print(f"# network: {server.net.label()}", flush=True)
            await asyncio.Event().wait()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
