"""ElevenLabs streaming TTS over one long-lived WebSocket (`multi-stream-input`), or `stream-input` per utterance.

multi: one socket opened at start-up and kept alive; one context per utterance (init, chunks, flush,
close_context); audio for closed or unknown contexts is ignored. single: each utterance uses its own
`stream-input` socket; a spare is opened ahead of time so the next utterance does not pay the handshake.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.protocol import State

from nuanu_tui.core.audio import optional
from nuanu_tui.core.audio.base import AudioFormat
from nuanu_tui.core.clock import now_ns
from nuanu_tui.core.config import Settings
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.redact import redacting_logger, scrub
from nuanu_tui.core.tts.elevenlabs_errors import MAX_CONTEXTS, error_from_close, error_from_frame

VOICE_SETTINGS = {
    "stability": 0.5,
    "similarity_boost": 0.8,
    "use_speaker_boost": False,
    "style": 0.0,
    "speed": 1.0,
}
KEEPALIVE_CONTEXT = "nuanu-keepalive"
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 15.0
PERSISTENT_FAULTS = frozenset({"tts_auth", "tts_quota"})
_END = None


def _dumps(obj: dict[str, Any]) -> str:
    return orjson.dumps(obj).decode()  # text frames only: the service never accepts binary frames


def _ws_base(url: str) -> str:
    parts = urlsplit(url.rstrip("/"))
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


class _Context:
    __slots__ = ("active_at", "chars", "closed", "id", "queue")

    def __init__(self, context_id: str) -> None:
        self.id = context_id
        self.chars = 0  # characters the service has sent audio for (from alignment), for a fallback to resume
        self.queue: asyncio.Queue[bytes | NuanuError | None] = asyncio.Queue()
        self.closed = False
        self.active_at: float | None = None  # monotonic time of the last text sent or audio received

    def end(self, item: NuanuError | None = _END) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(item)


async def _iter_audio(ctx: _Context, timeout: float) -> AsyncIterator[bytes]:
    """Audio until the context ends. The read timeout runs only once text has gone out: while the LLM is
    still thinking the service owes nothing, and a hung LLM must be reported as the LLM's fault."""
    while True:
        since = ctx.active_at
        wait = timeout if since is None else max(0.0, since + timeout - time.monotonic())
        try:
            async with asyncio.timeout(wait):
                item = await ctx.queue.get()
        except TimeoutError:
            if ctx.active_at is None or time.monotonic() - ctx.active_at < timeout:
                continue  # nothing asked yet, or more text went out since: the clock restarts from there
            raise NuanuError("tts_timeout", f"ElevenLabs sent no audio for {timeout:g} s") from None
        if item is None:
            return
        if isinstance(item, NuanuError):
            raise item
        ctx.active_at = time.monotonic()
        yield item


class ElevenLabsTTS:
    """TTSProvider for ElevenLabs. Keeps its socket warm; reconnects transparently after a close."""

    offline = False

    def __init__(
        self, settings: Settings, *, output_format: str | None = None, mode: str | None = None
    ) -> None:
        self._key = settings.require_key("elevenlabs")
        self._settings = settings
        self.mode = mode or settings.ws_mode
        self.output_format = output_format or settings.output_format
        self.format = AudioFormat.parse(self.output_format)
        if self.format.encoding == "mp3":
            optional.miniaudio("MP3 output formats")  # say so now, not on the first utterance
        self.model_id = settings.elevenlabs_model_id
        self.spec = f"elevenlabs/{self.model_id}"
        self.voice_id = settings.elevenlabs_voice_id
        self.host = urlsplit(_ws_base(settings.elevenlabs_base_url)).hostname or ""  # an emulator's voice is
        # not the cloud's: cached interjections are keyed by it too
        self._ws: ClientConnection | None = None
        self._recv_task: asyncio.Task[None] | None = None
        self._ka_task: asyncio.Task[None] | None = None
        self._contexts: dict[str, _Context] = {}
        self._order: list[str] = []
        self._closing: set[str] = set()  # contexts we closed; they count toward the cap until their isFinal
        self._slot = asyncio.Event()  # set whenever a context stops counting toward the cap
        self._lock = asyncio.Lock()
        self._last_send_ns = 0
        self._ka_open = False
        self._state = "closed"
        self._spare: ClientConnection | None = None
        self._spare_task: asyncio.Task[None] | None = None
        self.connects = 0
        self.ignored_frames = 0
        self.malformed_frames = 0
        self.last_error: str | None = None
        self._seq = itertools.count(1)
        self._failures = 0
        self._last_fault: NuanuError | None = None
        self._retry_at = 0.0

    # --- connection -----------------------------------------------------------------------------
    def url(self, endpoint: str | None = None) -> str:
        endpoint = endpoint or ("multi-stream-input" if self.mode == "multi" else "stream-input")
        query = {
            "model_id": self.model_id,
            "output_format": self.output_format,
            "inactivity_timeout": self._settings.inactivity_timeout,
            "auto_mode": "true",
        }
        if self._settings.lang in ("ru", "en") and "v2_5" in self.model_id:
            query["language_code"] = self._settings.lang
        base = _ws_base(self._settings.elevenlabs_base_url)
        return f"{base}/v1/text-to-speech/{self._settings.elevenlabs_voice_id}/{endpoint}?{urlencode(query)}"

    @property
    def state(self) -> str:
        return self._state

    async def _open(self, endpoint: str | None = None) -> ClientConnection:
        try:
            ws = await connect(
                self.url(endpoint),
                additional_headers={"xi-api-key": self._key},
                open_timeout=self._settings.connect_timeout,
                compression=None,
                max_size=None,
                ping_interval=20,
                ping_timeout=20,
                proxy=None,
                logger=redacting_logger("nuanu_tui.elevenlabs.ws", [self._key]),
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                kind, msg = (
                    "tts_auth",
                    f"ElevenLabs refused the connection (HTTP {status}): check ELEVENLABS_API_KEY in .env",
                )
            else:
                kind, msg = "tts_handshake", f"ElevenLabs handshake failed (HTTP {status})"
            raise self._fail(NuanuError(kind, msg)) from None
        except TimeoutError:
            raise self._fail(
                NuanuError(
                    "tts_timeout",
                    f"ElevenLabs ({self._host()}) did not answer within {self._settings.connect_timeout:.0f} s",
                )
            ) from None
        except InvalidHandshake as exc:
            raise self._fail(NuanuError("tts_handshake", f"ElevenLabs handshake failed: {exc}")) from None
        except OSError as exc:
            why = (
                "host name not found (DNS)"
                if "Name or service" in str(exc) or "getaddrinfo" in str(exc)
                else (
                    "connection refused"
                    if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower()
                    else str(exc)
                )
            )
            kind = "tts_dns" if "DNS" in why else "tts_connection"
            raise self._fail(NuanuError(kind, f"ElevenLabs ({self._host()}): {why}")) from None
        self.connects += 1
        return ws

    def _clean(self, err: NuanuError) -> NuanuError:
        """Error frames and close reasons are the service's words: they could quote the key."""
        return NuanuError(err.kind, scrub(err.message, [self._key]) or err.kind)

    def _host(self) -> str:
        return urlsplit(_ws_base(self._settings.elevenlabs_base_url)).netloc

    def _fail(self, err: NuanuError) -> NuanuError:
        self.last_error = err.message
        self._state = "closed"
        return err

    async def connect(self) -> None:
        if self.mode == "multi":
            await self._ensure_socket()
        else:
            self._ensure_spare()

    async def _ensure_socket(self) -> bool:
        """Returns True when the socket was already open (reused)."""
        ws = self._ws
        if ws is not None and ws.state is State.OPEN:
            return True
        async with self._lock:
            if self._ws is not None and self._ws.state is State.OPEN:
                return True
            wait = self._retry_at - time.monotonic()
            if self._last_fault is not None and wait > 0:
                # Backing off: fail at once with the known cause, so a fallback can speak without waiting.
                raise NuanuError(self._last_fault.kind, f"{self._last_fault.message} (retry in {wait:.1f} s)")
            self._state = "reconnecting" if self.connects else "connecting"
            try:
                ws = await self._open()
            except NuanuError as exc:
                self._back_off(exc)
                raise
            self._failures = 0
            self._last_fault = None
            self._ws = ws
            self._ka_open = False
            self._state = "connected"
            self.last_error = None
            self._recv_task = asyncio.create_task(self._receive(ws), name="elevenlabs-recv")
            if self._ka_task is None or self._ka_task.done():
                self._ka_task = asyncio.create_task(self._keepalive(), name="elevenlabs-keepalive")
            return False

    async def ping_ms(self, timeout: float = 2.0) -> float | None:
        """Round trip of a keep-alive ping on the open socket (no quota, no text): the network RTT to the
        service, measured for free. None when no socket is open or the pong does not come in time."""
        ws = self._ws if self._ws is not None else self._spare
        if ws is None or ws.state is not State.OPEN:
            return None
        try:
            async with asyncio.timeout(timeout):  # not wait_for: 3.11's can swallow a cancel
                waiter = await ws.ping()
                return float(await waiter) * 1000.0
        except (ConnectionClosed, TimeoutError, RuntimeError):
            return None

    def _back_off(self, fault: NuanuError) -> None:
        self._failures += 1
        self._last_fault = fault
        self._retry_at = time.monotonic() + min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** (self._failures - 1))
        self._state = "reconnecting"

    def _detach(self, ws: ClientConnection, err: NuanuError) -> None:
        """The service sends an error frame and then closes: stop handing this socket out at the frame,
        not at the close, or an utterance started in between dies with the old error."""
        if self._ws is not ws:
            return
        self._ws = None
        self._drop_contexts(err)
        self.last_error = err.message
        if err.kind in PERSISTENT_FAULTS:
            self._back_off(err)  # a bad key or an empty quota will not heal by reconnecting at once
        else:
            self._state = "reconnecting"

    def _drop_contexts(self, err: NuanuError) -> None:
        for ctx in list(self._contexts.values()):
            ctx.end(err)
        self._contexts.clear()
        self._order.clear()
        self._closing.clear()
        self._slot.set()

    async def _send(self, ws: ClientConnection, obj: dict[str, Any]) -> None:
        try:
            await ws.send(_dumps(obj))
        except ConnectionClosed as exc:
            raise error_from_close(
                exc.rcvd.code if exc.rcvd else None, exc.rcvd.reason if exc.rcvd else ""
            ) from None
        self._last_send_ns = now_ns()

    async def _keepalive(self) -> None:
        """The service closes an idle socket after inactivity_timeout; a keep-alive context resets its timer."""
        interval = self._settings.keepalive_s
        while True:
            await asyncio.sleep(interval / 2)
            ws = self._ws
            if ws is None or ws.state is not State.OPEN:
                continue
            if now_ns() - self._last_send_ns < interval * 1e9:
                continue
            try:
                if not self._ka_open:
                    await self._send(
                        ws, {"text": " ", "context_id": KEEPALIVE_CONTEXT, "voice_settings": VOICE_SETTINGS}
                    )
                    self._ka_open = True
                else:
                    await self._send(ws, {"text": "", "context_id": KEEPALIVE_CONTEXT})
            except NuanuError:
                continue

    async def _receive(self, ws: ClientConnection) -> None:
        err: NuanuError | None = None
        try:
            async for raw in ws:
                fault = self._dispatch(raw, None)
                if fault is not None:
                    self._detach(ws, fault)
        except ConnectionClosed:
            pass
        finally:
            rcvd = ws.protocol.close_rcvd  # the close frame the service sent (None: the TCP link dropped)
            if err is None:
                err = self._clean(error_from_close(rcvd.code if rcvd else None, rcvd.reason if rcvd else ""))
            if self._ws is ws or self._ws is None:  # not once a newer socket carries the contexts
                self._drop_contexts(err)
            if self._ws is ws:
                self._ws = None
                self._state = "reconnecting"
                if rcvd is None or rcvd.code != 1000:
                    self.last_error = err.message

    def _dispatch(self, raw: str | bytes, only: _Context | None) -> NuanuError | None:
        """Route one frame; returns the error when it was an error frame (the socket is closing)."""
        try:
            msg = orjson.loads(raw)
            if not isinstance(msg, dict):
                raise ValueError
        except ValueError:
            self.malformed_frames += 1
            return None
        ctx_id = msg.get("contextId") or msg.get("context_id")
        if only is not None:
            ctx: _Context | None = only
        else:
            ctx = self._contexts.get(ctx_id) if ctx_id else None
        if msg.get("error") or (msg.get("message") and not msg.get("audio")):
            err = self._clean(error_from_frame(msg))
            self.last_error = err.message
            targets = [ctx] if ctx is not None else list(self._contexts.values()) if only is None else [only]
            for target in targets:
                target.end(err)
            return err
        if ctx is None and ctx_id in self._closing and (msg.get("isFinal") or msg.get("is_final")):
            self._closing.discard(ctx_id)  # the service confirmed the close: its slot is free
            self._slot.set()
            return None
        if ctx is None or ctx.closed:
            if ctx_id != KEEPALIVE_CONTEXT:
                self.ignored_frames += 1
            return None
        alignment = msg.get("alignment") or msg.get("normalizedAlignment")
        if isinstance(alignment, dict) and isinstance(alignment.get("chars"), list):
            ctx.chars += len(alignment["chars"])
        audio = msg.get("audio")
        if audio:
            try:
                ctx.queue.put_nowait(base64.b64decode(audio))
            except (ValueError, TypeError):
                self.malformed_frames += 1
        if msg.get("isFinal") or msg.get("is_final"):
            ctx.end()
            self._forget(ctx.id)
        return None

    def _forget(self, context_id: str) -> None:
        self._contexts.pop(context_id, None)
        with contextlib.suppress(ValueError):
            self._order.remove(context_id)
        self._slot.set()

    # --- utterances -------------------------------------------------------------------------------
    async def start(self, utterance_id: str) -> _MultiUtterance | _SingleUtterance:
        if self.mode != "multi":
            return await self._start_single(utterance_id)
        reused = await self._ensure_socket()
        ws = self._ws
        assert ws is not None
        await self._free_slot()
        ctx = _Context(utterance_id)  # registered with no await since the slot check
        self._contexts[utterance_id] = ctx
        self._order.append(utterance_id)
        await self._send(ws, {"text": " ", "context_id": utterance_id, "voice_settings": VOICE_SETTINGS})
        return _MultiUtterance(self, ws, ctx, reused)

    async def _free_slot(self) -> None:
        """Stay under the service's context cap (one slot is the keep-alive context). A closed context
        counts until the service confirms it with isFinal, so wait for a slot to free; only if none does
        within the connect timeout, stop waiting for confirmations and close the oldest live context."""
        deadline = time.monotonic() + self._settings.connect_timeout
        while len(self._order) + len(self._closing) >= MAX_CONTEXTS - 1:
            wait = deadline - time.monotonic()
            if wait <= 0:
                self._closing.clear()
                if len(self._order) >= MAX_CONTEXTS - 1:
                    await self._close_context(self._order[0])
                    self._closing.clear()
                continue
            self._slot.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._slot.wait()

    async def _close_context(self, context_id: str) -> None:
        ctx = self._contexts.get(context_id)
        self._forget(context_id)
        if ctx is not None:
            ctx.end()
        ws = self._ws
        if ws is not None and ws.state is State.OPEN:
            self._closing.add(context_id)
            try:
                await self._send(ws, {"context_id": context_id, "close_context": True})
            except NuanuError:
                self._closing.discard(context_id)

    def _ensure_spare(self) -> None:
        if self._spare_task is None or self._spare_task.done():
            self._spare_task = asyncio.create_task(self._open_spare(), name="elevenlabs-spare")

    async def _open_spare(self) -> None:
        try:
            ws = await self._open("stream-input")
            await ws.send(_dumps({"text": " ", "voice_settings": VOICE_SETTINGS}))
            self._spare = ws
            self._state = "connected"
        except NuanuError:
            self._spare = None

    async def _start_single(self, utterance_id: str) -> _SingleUtterance:
        ws = self._spare
        self._spare = None
        reused = ws is not None and ws.state is State.OPEN
        if not reused:
            if self._spare_task is not None and not self._spare_task.done():
                self._spare_task.cancel()
            ws = await self._open("stream-input")
            await ws.send(_dumps({"text": " ", "voice_settings": VOICE_SETTINGS}))
        assert ws is not None
        self._ensure_spare()
        utt = _SingleUtterance(self, ws, _Context(utterance_id), reused)
        utt.start_receiver()
        return utt

    async def aclose(self) -> None:
        for task in (self._ka_task, self._spare_task):
            if task is not None:
                task.cancel()
        for ws in (self._ws, self._spare):
            if ws is not None:
                with contextlib.suppress(Exception):
                    if ws is self._ws:
                        await ws.send(_dumps({"close_socket": True}))
                    async with asyncio.timeout(2.0):
                        await ws.close()
        if self._recv_task is not None:
            self._recv_task.cancel()
            with contextlib.suppress(BaseException):
                await self._recv_task
        self._ws = None
        self._spare = None
        self._state = "closed"


class _Utterance:
    """What both socket modes share: the context's audio queue and how much of the text it has voiced."""

    def __init__(self, owner: ElevenLabsTTS, ws: ClientConnection, ctx: _Context, reused: bool) -> None:
        self._owner = owner
        self._ws = ws
        self._ctx = ctx
        self.reused = reused
        self.format = owner.format

    def audio(self) -> AsyncIterator[bytes]:
        return _iter_audio(self._ctx, self._owner._settings.read_timeout)

    @property
    def chars_spoken(self) -> int:
        return self._ctx.chars


class _MultiUtterance(_Utterance):
    """One context on the shared socket."""

    async def send(self, text: str) -> None:
        if self._ctx.closed:
            return
        await self._owner._send(self._ws, {"text": text, "context_id": self._ctx.id})
        self._ctx.active_at = time.monotonic()

    async def finish(self) -> None:
        if self._ctx.closed:
            return
        await self._owner._send(self._ws, {"text": "", "context_id": self._ctx.id, "flush": True})
        self._ctx.active_at = time.monotonic()
        await self._owner._send(self._ws, {"context_id": self._ctx.id, "close_context": True})

    async def cancel(self) -> None:
        if self._ctx.id in self._owner._contexts:
            await self._owner._close_context(self._ctx.id)
        self._ctx.end()


class _SingleUtterance(_Utterance):
    """A whole `stream-input` socket for one utterance; EOS (`""`) ends it and the server closes with 1000."""

    def __init__(self, owner: ElevenLabsTTS, ws: ClientConnection, ctx: _Context, reused: bool) -> None:
        super().__init__(owner, ws, ctx, reused)
        self._task: asyncio.Task[None] | None = None

    def start_receiver(self) -> None:
        self._task = asyncio.create_task(self._receive(), name="elevenlabs-single-recv")

    async def _receive(self) -> None:
        try:
            async for raw in self._ws:
                self._owner._dispatch(raw, self._ctx)
        except ConnectionClosed:
            pass
        finally:
            rcvd = self._ws.protocol.close_rcvd
            if rcvd is not None and rcvd.code == 1000:
                self._ctx.end()
            else:
                self._ctx.end(
                    self._owner._clean(
                        error_from_close(rcvd.code if rcvd else None, rcvd.reason if rcvd else "")
                    )
                )

    async def send(self, text: str) -> None:
        if not self._ctx.closed:
            await self._owner._send(self._ws, {"text": text, "flush": True})
            self._ctx.active_at = time.monotonic()

    async def finish(self) -> None:
        if not self._ctx.closed:
            await self._owner._send(self._ws, {"text": ""})
            self._ctx.active_at = time.monotonic()

    async def cancel(self) -> None:
        self._ctx.end()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()


__all__ = ["ElevenLabsTTS", "websockets"]
