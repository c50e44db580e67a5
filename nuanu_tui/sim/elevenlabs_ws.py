"""The emulated ElevenLabs WebSocket TTS: stream-input and multi-stream-input, contexts, timers, audio frames.

Wire details follow docs/protocols.md (§1 stream-input, §1.10 multi-stream-input). A generation's frames are
timed against absolute `loop.time()` deadlines from its trigger, and each goes out when the link delivers it.

Choices where the real service is ambiguous (documented so clients can be tested against both):
- multi-stream-input replies carry `contextId` (AsyncAPI spec spelling) by default; set
  `server.context_key = "context_id"` for the snake_case form some clients report seeing.
- A multi-stream context that idles past `inactivity_timeout` while the socket stays busy is dropped silently;
  a socket that receives nothing for `inactivity_timeout` gets `input_timeout_exceeded` and close 1008.
- A message without `context_id` on the multi socket uses the context id "default".
- Audio of every generation is encoded with its own MP3 encoder (flushed at the generation's end); the frames
  of consecutive generations simply concatenate, which a continuous decoder plays gap-free enough.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from typing import Any, Literal

import lameenc
import orjson
from aiohttp import WSMsgType, web

from nuanu_tui.sim.content import synth_voice
from nuanu_tui.sim.errors import json_response
from nuanu_tui.sim.faults import TTSFault
from nuanu_tui.sim.network import LINK, Link, deliver_at, sleep_until
from nuanu_tui.sim.profiles import TTSProfile
from nuanu_tui.sim.state import EmulatorState


def _parse_format(fmt: str) -> tuple[Literal["pcm", "mp3"], int, int] | None:
    m = re.fullmatch(r"pcm_(8000|16000|22050|24000|44100|48000)", fmt)
    if m:
        return "pcm", int(m.group(1)), 0
    m = re.fullmatch(r"mp3_(22050|44100)_(32|64|96|128|192)", fmt)
    if m:
        return "mp3", int(m.group(1)), int(m.group(2))
    return None


_TIMEOUT_MESSAGE = (
    "Have not received a new text input within the timeout of {secs:.1f} seconds. Streaming input terminated. "
    "Please make sure to either feed the input in the timely manner, or to send the end of input text "
    '(empty string "") when done.'
)
_VOICE_SETTINGS_MESSAGE = (
    "voice_settings field must be provided in the first message and then either be not provided or not change"
)
_MAX_CONTEXTS = 5


class ElevenLabsAPI:
    """The TTS endpoints of one server: one `TTSConnection` per WebSocket."""

    def __init__(self, server: EmulatorState) -> None:
        self.server = server

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/v1/text-to-speech/{voice_id}/stream-input", self.single)
        router.add_get("/v1/text-to-speech/{voice_id}/multi-stream-input", self.multi)

    async def single(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, multi=False)

    async def multi(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, multi=True)

    async def _serve(self, request: web.Request, *, multi: bool) -> web.StreamResponse:
        fault = self.server.faults.take_tts()
        if fault is not None and fault.kind == "reject":
            return json_response(
                fault.status,
                {"detail": {"status": "rejected", "message": f"Handshake rejected ({fault.status})"}},
            )
        q = request.query
        model_id = q.get("model_id", "")
        if multi and model_id.startswith("eleven_v3"):
            return json_response(
                403,
                {"detail": {"status": "model_not_supported", "message": "eleven_v3 is not supported here"}},
            )
        transport = request.transport
        # Pings are answered by hand, so a pong pays the link's round trip like any other message.
        ws = web.WebSocketResponse(compress=False, autoping=False, timeout=2.0)
        await sleep_until(deliver_at(request, asyncio.get_running_loop().time()))  # the 101 travels back
        await ws.prepare(request)
        self.server.ws_connections += 1
        self.server.websockets.add(ws)
        conn = TTSConnection(
            self.server, ws, transport, multi=multi, number=self.server.ws_connections, fault=fault
        )
        conn.link = request.get(LINK)
        try:
            await conn.run(q, request.headers.get("xi-api-key", ""))
        finally:
            if conn.farewell is not None:
                # A worker's error frame and close code may still be on their way: leaving now would close
                # the socket under them, and the client would see a dropped link instead of the refusal.
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.farewell)
            conn.cancel_workers()
            self.server.websockets.discard(ws)
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws


class _Context:
    """One synthesis context: its text buffer, schedule position, job queue and worker."""

    __slots__ = (
        "buffer",
        "closing",
        "deadline",
        "free_at",
        "id",
        "jobs",
        "key",
        "sched_idx",
        "voice_settings",
        "worker",
    )

    def __init__(self, context_id: str, key: str, voice_settings: Any, deadline: float) -> None:
        self.id = context_id
        self.key = key
        self.buffer = ""
        self.sched_idx = 0
        self.voice_settings = voice_settings
        self.deadline = deadline
        self.closing = False
        self.free_at = 0.0
        self.jobs: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()
        self.worker: asyncio.Task[None] | None = None


_FAREWELL_S = 0.02  # between an error frame and the close that follows it (see TTSConnection.fail)


class TTSConnection:
    """One ElevenLabs WebSocket: receive loop, per-context workers, timers and faults."""

    def __init__(
        self,
        server: EmulatorState,
        ws: web.WebSocketResponse,
        transport: asyncio.BaseTransport | None,
        *,
        multi: bool,
        number: int,
        fault: TTSFault | None,
    ) -> None:
        self.server = server
        self.ws = ws
        self.transport = transport
        self.multi = multi
        self.number = number
        self.fault = fault
        self.loop = asyncio.get_running_loop()
        self.contexts: dict[str, _Context] = {}
        self.frames_sent = 0
        self.fault_done = False
        self.closed = False
        self.farewell: asyncio.Future[None] | None = None  # the error frame + close being sent, if any
        self.lock = asyncio.Lock()
        self.authed = False
        prof: TTSProfile = server.profile.tts
        self.first_audio_s = prof.first_audio_ms / 1000.0
        if fault is not None and fault.kind == "first_audio_delay":
            self.first_audio_s = fault.delay_ms / 1000.0
        self.chunk_interval_s = prof.chunk_interval_ms / 1000.0
        self.chunk_ms = prof.chunk_ms
        self.fmt: tuple[Literal["pcm", "mp3"], int, int] = ("pcm", 24000, 0)
        self.auto_mode = False
        self.schedule = [120, 160, 250, 290]
        self.nominal_timeout = 20.0
        self.timeout_s = 20.0
        self.conn_deadline = 0.0
        self.first_settings: Any = None
        self.saw_first = False
        self.link: Link | None = None
        self._pongs: set[asyncio.Future[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------------------
    async def run(self, q: Any, header_key: str) -> None:
        fmt = _parse_format(q.get("output_format", "mp3_44100_128"))
        if fmt is None:
            await self.fail("invalid_output_format", f"Unsupported output_format {q.get('output_format')!r}.")
            return
        self.fmt = fmt
        self.auto_mode = q.get("auto_mode", "false").lower() == "true"
        try:
            self.nominal_timeout = min(max(float(q.get("inactivity_timeout", "20")), 1.0), 180.0)
        except ValueError:
            self.nominal_timeout = 20.0
        self.timeout_s = self.nominal_timeout
        if self.server.inactivity_timeout_override is not None:
            self.timeout_s = self.server.inactivity_timeout_override
        if self.fault is not None and self.fault.kind == "input_timeout":
            self.timeout_s = self.fault.after_s
        query_key = q.get("authorization", "")
        key = header_key or (query_key[7:] if query_key.lower().startswith("bearer ") else query_key)
        if self.fault is not None and self.fault.kind == "invalid_key":
            await self.fail("invalid_api_key", "Invalid API key")
            return
        if key:
            if not self.server.key_ok(key):
                await self.fail("invalid_api_key", "Invalid API key")
                return
            self.authed = True
        self.conn_deadline = self.loop.time() + self.timeout_s
        while not self.closed:
            deadline = self._next_deadline()
            remaining = deadline - self.loop.time()
            if remaining <= 0:
                await self._on_timeout()
                continue
            try:
                msg = await self.ws.receive(timeout=remaining)
            except TimeoutError:
                await self._on_timeout()
                continue
            if msg.type == WSMsgType.TEXT:
                await self._on_message(msg.data)
            elif msg.type == WSMsgType.PING:
                self._pong(msg.data)
            elif msg.type == WSMsgType.PONG:
                continue
            elif msg.type == WSMsgType.BINARY:
                await self.fail(
                    "invalid_input_message", "Could not parse input message: binary frames are not accepted."
                )
            else:
                break

    def cancel_workers(self) -> None:
        for ctx in self.contexts.values():
            if ctx.worker is not None and not ctx.worker.done():
                ctx.worker.cancel()

    async def fail(
        self, error: str, message: str, *, context_id: str | None = None, code: int = 1008
    ) -> None:
        """Error frame then close (the real service's way of refusing anything)."""
        if self.closed:
            return
        self.closed = True
        frame: dict[str, Any] = {"message": message, "error": error, "code": code}
        if context_id is not None:
            frame[self.server.context_key] = context_id

        async def send_and_close() -> None:
            with contextlib.suppress(Exception):
                await self.ws.send_frame(orjson.dumps(frame), WSMsgType.TEXT)
            # Closing in the same instant would close the socket with the client's last messages (a flush,
            # a close_context) still unread, and the kernel answers that with a reset that throws away the
            # error frame on the client's side too: the client would see a dropped link, not the refusal.
            # The main loop reads them meanwhile, as the real service's front end does.
            await asyncio.sleep(_FAREWELL_S)
            if self.fault is not None and self.fault.close_delay_s > 0:
                await asyncio.sleep(self.fault.close_delay_s)
            with contextlib.suppress(Exception):
                await self.ws.close(code=code, message=error.encode()[:120])

        # Shielded: a context worker calling fail() is cancelled by the main loop once `closed` is set; the
        # real service still sends its error frame and close code, so must we. The handler waits for it too.
        self.farewell = asyncio.ensure_future(send_and_close())
        await asyncio.shield(self.farewell)

    # -- timers -------------------------------------------------------------------------------------------
    def _next_deadline(self) -> float:
        deadline = self.conn_deadline
        for ctx in self.contexts.values():
            if not ctx.closing and ctx.deadline < deadline:
                deadline = ctx.deadline
        return deadline

    async def _on_timeout(self) -> None:
        now = self.loop.time()
        if now >= self.conn_deadline:
            await self.fail("input_timeout_exceeded", _TIMEOUT_MESSAGE.format(secs=self.nominal_timeout))
            return
        for cid, ctx in list(self.contexts.items()):
            if not ctx.closing and now >= ctx.deadline:
                if ctx.worker is not None:
                    ctx.worker.cancel()
                del self.contexts[cid]

    # -- input --------------------------------------------------------------------------------------------
    def _pong(self, payload: bytes) -> None:
        """Answer a keep-alive ping after the link's round trip (clients measure RTT with these)."""
        now = self.loop.time()
        due = now if self.link is None else self.link.deliver(self.link.arrive(now))

        async def pong() -> None:
            await sleep_until(due)
            if not self.closed:
                with contextlib.suppress(Exception):
                    async with self.lock:
                        await self.ws.pong(payload)

        task = asyncio.ensure_future(pong())
        self._pongs.add(task)
        task.add_done_callback(self._pongs.discard)

    async def _on_message(self, raw: str) -> None:
        now = self.loop.time() if self.link is None else self.link.arrive(self.loop.time())
        try:
            msg = orjson.loads(raw)
        except orjson.JSONDecodeError:
            msg = None
        if not isinstance(msg, dict):
            await self.fail(
                "invalid_input_message", "Could not parse input message. Please check the message format."
            )
            return
        key = msg.pop("xi-api-key", None) or msg.pop("xi_api_key", None) or msg.pop("authorization", None)
        msg.pop("xi_api_key", None)
        msg.pop("authorization", None)
        self.server.ws_messages.append(msg)
        if not self.authed:
            if isinstance(key, str) and key.lower().startswith("bearer "):
                key = key[7:]
            if not key:
                await self.fail(
                    "needs_authorization",
                    "Neither authorization header nor xi-api-key received, please provide one.",
                )
                return
            if not self.server.key_ok(str(key)):
                await self.fail("invalid_api_key", "Invalid API key")
                return
            self.authed = True
        self.conn_deadline = now + self.timeout_s
        if not self.saw_first:
            self.saw_first = True
            self.first_settings = msg.get("voice_settings")
            gen = msg.get("generation_config") or msg.get("generator_config")
            if (
                isinstance(gen, dict)
                and isinstance(gen.get("chunk_length_schedule"), list)
                and gen["chunk_length_schedule"]
            ):
                self.schedule = [int(x) for x in gen["chunk_length_schedule"]]
        if self.multi:
            await self._on_multi(msg, now)
        else:
            await self._on_single(msg, now)

    async def _on_single(self, msg: dict[str, Any], now: float) -> None:
        ctx = self.contexts.get("")
        if ctx is None:
            ctx = self._open_context("", f"stream-{self.number}", self.first_settings, now)
            if msg.get("text") == " ":
                return  # the initialising message's single space carries no speech
        elif "voice_settings" in msg and msg["voice_settings"] != ctx.voice_settings:
            await self.fail("invalid_input_message", _VOICE_SETTINGS_MESSAGE)
            return
        text = msg.get("text")
        if not isinstance(text, str):
            await self.fail("invalid_input_message", "Could not parse input message: 'text' is required.")
            return
        if text == "":  # EOS: flush, finish audio, isFinal, close 1000
            self._trigger(ctx, now)
            ctx.closing = True
            ctx.jobs.put_nowait(None)
            if ctx.worker is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await ctx.worker
            if not self.closed:
                self.closed = True
                with contextlib.suppress(Exception):
                    await self.ws.close(code=1000)
            return
        self._add_text(
            ctx, text, now, flush=bool(msg.get("flush")), try_trigger=bool(msg.get("try_trigger_generation"))
        )

    async def _on_multi(self, msg: dict[str, Any], now: float) -> None:
        if msg.get("close_socket"):
            for ctx in self.contexts.values():
                if not ctx.closing:
                    ctx.closing = True
                    ctx.jobs.put_nowait(None)
            for ctx in list(self.contexts.values()):
                if ctx.worker is not None:
                    with contextlib.suppress(asyncio.CancelledError):
                        await ctx.worker
            if not self.closed:
                self.closed = True
                with contextlib.suppress(Exception):
                    await self.ws.close(code=1000)
            return
        cid = str(msg.get("context_id") or msg.get("contextId") or "default")
        ctx = self.contexts.get(cid)
        if ctx is None:
            if msg.get("close_context"):
                return  # closing a context the server never saw: nothing to do
            if len(self.contexts) >= _MAX_CONTEXTS:
                await self.fail(
                    "max_active_conversations",
                    f"Maximum simultaneous contexts per WebSocket connection exceeded ({_MAX_CONTEXTS}). "
                    "Please close an existing context before opening a new one.",
                )
                return
            ctx = self._open_context(cid, cid, msg.get("voice_settings"), now)
        elif "voice_settings" in msg and msg["voice_settings"] != ctx.voice_settings:
            await self.fail("invalid_input_message", _VOICE_SETTINGS_MESSAGE, context_id=cid)
            return
        if ctx.closing:
            return  # text after close_context is ignored
        ctx.deadline = now + self.timeout_s
        text = msg.get("text")
        if isinstance(text, str) and text:
            self._add_text(ctx, text, now, flush=bool(msg.get("flush")), try_trigger=False)
        elif msg.get("flush"):
            self._trigger(ctx, now)
        if msg.get("close_context"):
            if not self.auto_mode:
                ctx.buffer = ""  # unflushed text is dropped (real behaviour)
            ctx.closing = True
            ctx.jobs.put_nowait(None)

    def _open_context(self, cid: str, key: str, voice_settings: Any, now: float) -> _Context:
        ctx = _Context(cid, key, voice_settings, now + self.timeout_s)
        ctx.worker = asyncio.create_task(self._worker(ctx))
        self.contexts[cid] = ctx
        return ctx

    def _add_text(self, ctx: _Context, text: str, now: float, *, flush: bool, try_trigger: bool) -> None:
        ctx.buffer += text
        if self.auto_mode or flush:
            self._trigger(ctx, now)
            return
        threshold = self.schedule[min(ctx.sched_idx, len(self.schedule) - 1)]
        if len(ctx.buffer) >= threshold or (try_trigger and len(ctx.buffer) >= 50):
            ctx.sched_idx += 1
            self._trigger(ctx, now)

    def _trigger(self, ctx: _Context, now: float) -> None:
        text, ctx.buffer = ctx.buffer, ""
        if text.strip():
            ctx.jobs.put_nowait((text, now))

    # -- output -------------------------------------------------------------------------------------------
    async def _worker(self, ctx: _Context) -> None:
        while True:
            job = await ctx.jobs.get()
            if self.closed:
                return
            if job is None:
                if self.multi:
                    await self._send({"isFinal": True, self.server.context_key: ctx.id})
                    self.contexts.pop(ctx.id, None)
                else:
                    await self._send({"isFinal": True})
                return
            await self._generate(ctx, *job)

    async def _send(self, obj: dict[str, Any], at: float | None = None) -> bool:
        """Send a frame written at loop time `at` (default now); it goes out when the link delivers it."""
        if self.closed:
            return False
        if self.link is not None:
            await sleep_until(self.link.deliver(self.loop.time() if at is None else at))
            if self.closed:
                return False
        try:
            async with self.lock:
                await self.ws.send_frame(orjson.dumps(obj), WSMsgType.TEXT)
        except Exception:
            return False
        return True

    async def _frame_fault(self) -> bool:
        """Apply a per-frame fault before the next audio frame; False when the connection is gone."""
        fault = self.fault
        if fault is None or self.fault_done or self.frames_sent < fault.after_frames:
            return True
        if fault.kind == "close_1011":
            self.fault_done = self.closed = True

            async def close() -> None:
                with contextlib.suppress(Exception):
                    await self.ws.close(code=1011, message=b"internal server error")

            self.farewell = asyncio.ensure_future(close())
            await asyncio.shield(self.farewell)  # see fail(): the worker may be cancelled
            return False
        if fault.kind == "drop":
            self.fault_done = self.closed = True
            if self.transport is not None:
                self.transport.abort()
            return False
        if fault.kind == "malformed":
            self.fault_done = True
            async with self.lock:
                await self.ws.send_str("<html><body>502 Bad Gateway</body></html>")
        elif fault.kind == "unknown_context":
            self.fault_done = True
            ghost = synth_voice("ой", self.fmt[1])
            audio_log, wire_log = self.server.audio_logs(fault.context_id)
            audio_log += ghost
            wire_log += ghost
            frame: dict[str, Any] = {"audio": base64.b64encode(ghost).decode(), "isFinal": None,
                                     "alignment": None, "normalizedAlignment": None}  # fmt: skip
            frame[self.server.context_key] = fault.context_id
            await self._send(frame)
        return True

    async def _generate(self, ctx: _Context, text: str, t_trigger: float) -> None:
        if self.fault is not None and self.fault.kind == "quota" and not self.fault_done:
            self.fault_done = True
            await self.fail(
                "quota_exceeded",
                "This request exceeds your quota of 10000. You have 12 credits remaining, while "
                f"{len(text)} credits are required for this request.",
            )
            return
        kind, rate, kbps = self.fmt
        pcm = self.server.speech_fn(text, rate)
        if len(pcm) % 2:
            pcm += b"\x00"
        frame_bytes = max(2, int(rate * self.chunk_ms / 1000.0) * 2)
        total_ms = len(pcm) / 2 / rate * 1000.0
        per_char = total_ms / max(len(text), 1)
        encoder: lameenc.Encoder | None = None
        if kind == "mp3":
            encoder = lameenc.Encoder()
            encoder.set_bit_rate(kbps)
            encoder.set_in_sample_rate(rate)
            encoder.set_out_sample_rate(rate)
            encoder.set_channels(1)
            encoder.set_quality(7)
        start = max(t_trigger + self.first_audio_s, ctx.free_at)
        n_frames = (len(pcm) + frame_bytes - 1) // frame_bytes
        audio_log, wire_log = self.server.audio_logs(ctx.key)
        self.server.forget_old_audio()
        for i in range(n_frames):
            due = start + i * self.chunk_interval_s
            await sleep_until(due)
            if self.closed or not await self._frame_fault() or self.closed:
                return
            piece = pcm[i * frame_bytes : (i + 1) * frame_bytes]
            if encoder is not None:
                audio_log += piece
                payload = bytes(encoder.encode(piece))
                if i == n_frames - 1:
                    payload += bytes(encoder.flush())
            else:
                payload = piece
            if not payload:
                continue
            f0, f1 = i * self.chunk_ms, (i + 1) * self.chunk_ms
            lo, hi = (int(f0 // per_char), int(f1 // per_char) + 2) if per_char > 0 else (0, len(text))
            idx = [j for j in range(lo, min(hi, len(text))) if f0 <= j * per_char < f1]
            alignment = {
                "chars": [text[j] for j in idx],
                "charStartTimesMs": [round(j * per_char - f0) for j in idx],
                "charDurationsMs": [round(per_char)] * len(idx),
            }
            frame: dict[str, Any] = {
                "audio": base64.b64encode(payload).decode(),
                "isFinal": None,
                "normalizedAlignment": alignment,
                "alignment": alignment,
            }
            if self.multi:
                frame[self.server.context_key] = ctx.id
            if not await self._send(frame, at=due):
                return
            self.frames_sent += 1
            wire_log += payload
            if encoder is None:
                audio_log += piece
        ctx.free_at = self.loop.time()
