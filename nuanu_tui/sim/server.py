"""The emulator: one aiohttp server on 127.0.0.1 speaking the real OpenAI/Groq SSE and ElevenLabs WS protocols.

Wire details follow docs/protocols.md (§1 stream-input, §1.10 multi-stream-input, §3 Groq, §4 OpenAI). Delays are
injected against absolute `loop.time()` deadlines taken at request arrival (or at a generation's trigger), so
they never accumulate drift; everything else is a JSON dump and a write.

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
import random
import re
import socket
import threading
import time
import uuid
import weakref
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, MutableSequence
from functools import lru_cache
from typing import Any, Literal

import lameenc
import numpy as np
import orjson
from aiohttp import WSMsgType, web

from nuanu_tui.sim.faults import Faults, LLMFault, TTSFault
from nuanu_tui.sim.network import Link, NetProfile, parse_net
from nuanu_tui.sim.profiles import Flavor, ProfileSet, TTSProfile, get_profile

ReplyFn = Callable[[str, str], str]
SpeechFn = Callable[[str, int], bytes]

DEFAULT_MODELS: tuple[str, ...] = (
    "llama-3.1-8b-instant",
    "llama-3.3-70b-versatile",
    "gpt-4o-mini",
    "openai/gpt-oss-20b",
    "qwen2.5",
)

# ---------------------------------------------------------------------------------------------------------
# Default content: replies, tokens, voice
# ---------------------------------------------------------------------------------------------------------

_REPLIES: tuple[str, ...] = (
    "Вот это да, слон на мопеде! Держитесь крепче, друзья.",
    "Ого, кто-то явно спешит на пляж раньше нас!",
    "Смотрите налево: местные жители, и они нам машут!",
    "Так, без паники, это просто очень уверенная собака.",
    "Кажется, у нас пробка из кокосов. Объезжаем!",
    "Приветствую! Шаттл едет, настроение отличное, солнце на месте.",
)
_REASONING = (
    "The user describes a scene from the shuttle camera; answer with one short funny line in Russian."
)


def default_reply(trigger_text: str, model: str) -> str:
    """A Russian one-liner chosen deterministically from the trigger (model does not matter)."""
    return _REPLIES[zlib.crc32(trigger_text.encode("utf-8")) % len(_REPLIES)]


_TOKEN_RE = re.compile(r"\s*[\w'-]+|\s*[^\w\s]+|\s+")


def tokenize(text: str) -> list[str]:
    """Split text into LLM-like pieces: words with their leading space, long words in two, punctuation
    sometimes glued to the word before it. `"".join(tokenize(t)) == t` always holds."""
    out: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        tok = m.group()
        core = tok.lstrip()
        if core and not core[0].isalnum() and out and tok == core and zlib.crc32(out[-1].encode()) % 2 == 0:
            out[-1] += tok  # punctuation right after a word: glued about half the time, deterministically
        elif len(core) > 7 and core.isalpha():
            cut = len(tok) - len(core) + len(core) // 2
            out.extend((tok[:cut], tok[cut:]))
        else:
            out.append(tok)
    return out


_CHAR_S = 0.065
_VOWELS = frozenset("aeiouyаеёиоуыэюя")


@lru_cache(maxsize=8192)
def _char_wave(ch: str, rate: int) -> bytes:
    """65 ms of a formant-ish tone (vowels), tone plus deterministic noise (consonants), a quiet hum otherwise."""
    n = int(rate * _CHAR_S)
    t = np.arange(n, dtype=np.float64) / rate
    code = ord(ch.lower())
    f0 = 110.0 + (code % 9) * 8.0
    if ch.lower() in _VOWELS:
        f1, f2 = 300.0 + (code % 11) * 60.0, 900.0 + (code % 13) * 120.0
        wave = (
            0.5 * np.sin(2 * np.pi * f0 * t)
            + 0.3 * np.sin(2 * np.pi * f1 * t)
            + 0.2 * np.sin(2 * np.pi * f2 * t)
        )
        amp = 0.6
    elif ch.isalpha():
        noise = np.random.default_rng(code).uniform(-1.0, 1.0, n)
        wave = 0.6 * noise + 0.4 * np.sin(2 * np.pi * f0 * t)
        amp = 0.35
    else:
        wave = np.sin(2 * np.pi * f0 * t)
        amp = 0.03
    env = np.hanning(n) if n > 1 else np.ones(n)
    return (wave * env * amp * 32767.0).astype("<i2").tobytes()


def synth_voice(text: str, sample_rate: int) -> bytes:
    """Default `speech_fn`: deterministic, non-silent s16le mono PCM, ~65 ms per character."""
    return b"".join(_char_wave(ch, sample_rate) for ch in text)


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------


# Spin for the last stretch of every injected delay (benchmarks): epoll rounds its timeout up to whole
# milliseconds, which would add up to 1 ms per wait to the floor and be counted as the client's overhead.
_spin_s = 0.0


def set_precise_timing(enabled: bool, spin_ms: float = 2.0) -> None:
    global _spin_s
    _spin_s = spin_ms / 1000 if enabled else 0.0


async def _sleep_until(deadline: float) -> None:
    loop = asyncio.get_running_loop()
    delay = deadline - loop.time() - _spin_s
    if delay > 0:
        await asyncio.sleep(delay)
    if _spin_s:
        while loop.time() < deadline:
            await asyncio.sleep(0)  # yields to the other connections while spinning


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=orjson.dumps(body), content_type="application/json", headers=headers
    )


def _error_body(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def _default_status_body(status: int, flavor: Flavor, model: str) -> dict[str, Any]:
    if status == 401:
        return _error_body("Invalid API Key", "invalid_request_error", "invalid_api_key")
    if status == 403:
        return _error_body(
            "Access denied. Please check your network settings.", "permission_error", "forbidden"
        )
    if status == 404:
        return _model_not_found(model)
    if status == 429:
        return _error_body(
            f"Rate limit reached for model `{model}` in organization `org_sim` service tier `on_demand` on tokens "
            "per minute (TPM): Limit 6000, Used 5800, Requested 400. Please try again in 1s.",
            "tokens",
            "rate_limit_exceeded",
        )
    if status == 503:
        return _error_body("Service Unavailable", "internal_server_error", "service_unavailable")
    if status >= 500:
        return _error_body("Internal Server Error", "internal_server_error", None)
    return _error_body(f"HTTP {status}", "invalid_request_error", None)


def _model_not_found(model: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"The model `{model}` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "code": "model_not_found",
        }
    }


def _last_user_text(messages: list[Any]) -> str:
    for msg in reversed(messages):
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(
                    p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
                )
    return ""


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
LINK = web.RequestKey("nuanu.link", Link)


def _at(request: web.Request, t: float) -> float:
    """When a write scheduled for loop time `t` reaches the client over this request's link."""
    link = request.get(LINK)
    return t if link is None else link.deliver(t)


# ---------------------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------------------


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
        self._net_rng = random.Random(net_seed)
        self._links: weakref.WeakKeyDictionary[Any, Link] = weakref.WeakKeyDictionary()
        self.connections_opened = 0  # TCP connections that paid the handshakes (HTTP and WebSocket)
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
        self._open: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

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

    def _forget_old_audio(self) -> None:
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
        return len(self._open)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(middlewares=[self._network])
        app.router.add_get("/", self._root)
        app.router.add_post("/v1/chat/completions", self._chat_openai)
        app.router.add_post("/openai/v1/chat/completions", self._chat_groq)
        app.router.add_get("/v1/models", self._models_openai)
        app.router.add_get("/openai/v1/models", self._models_groq)
        app.router.add_get("/v1/text-to-speech/{voice_id}/stream-input", self._tts_single)
        app.router.add_get("/v1/text-to-speech/{voice_id}/multi-stream-input", self._tts_multi)
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        self._stopping.set()
        for ws in list(self._open):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1001, message=b"server shutdown"), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- network emulation ------------------------------------------------------------------------------
    def _link(self, request: web.Request) -> tuple[Link, bool]:
        """The connection's link, and whether this is its first request (the handshakes are still due)."""
        transport = request.transport
        link = self._links.get(transport) if transport is not None else None
        if link is not None:
            return link, False
        link = Link(self, self._net_rng)
        self.connections_opened += 1
        if transport is not None:
            self._links[transport] = link
        return link, True

    @web.middleware
    async def _network(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        """TCP + TLS 1.3 handshakes on a new connection, the request's trip in, a plain reply's trip out.
        Streaming handlers time their own writes with `request[LINK]` (see `_at`)."""
        link, fresh = self._link(request)
        request[LINK] = link
        loop = asyncio.get_running_loop()
        if fresh:
            await _sleep_until(loop.time() + link.handshake_s(2))
        await _sleep_until(link.arrive(loop.time()))
        try:
            resp = await handler(request)
        except web.HTTPException:
            await _sleep_until(link.deliver(loop.time()))
            raise
        if not resp.prepared:
            await _sleep_until(link.deliver(loop.time()))
        return resp

    async def _root(self, request: web.Request) -> web.StreamResponse:
        """What a provider's front door answers without a key: enough for an RTT probe, no quota spent."""
        return web.Response(status=200, text="ok")

    # -- LLM: auth, models ------------------------------------------------------------------------------
    def _check_bearer(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        key = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not key:
            return _json_response(
                401,
                _error_body(
                    "You didn't provide an API key. You need to provide your API key in an Authorization header "
                    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    "invalid_request_error",
                ),
            )
        if self.api_keys is not None and key not in self.api_keys:
            return _json_response(
                401, _error_body("Invalid API Key", "invalid_request_error", "invalid_api_key")
            )
        return None

    async def _models_openai(self, request: web.Request) -> web.StreamResponse:
        return self._models(request, "openai")

    async def _models_groq(self, request: web.Request) -> web.StreamResponse:
        return self._models(request, "groq")

    def _models(self, request: web.Request, flavor: Flavor) -> web.Response:
        denied = self._check_bearer(request)
        if denied is not None:
            return denied
        owner = "Groq" if flavor == "groq" else "system"
        data = [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": owner} for m in self.models
        ]
        if flavor == "groq":
            for item in data:
                item.update(active=True, context_window=131072)
        return _json_response(200, {"object": "list", "data": data})

    # -- LLM: chat completions --------------------------------------------------------------------------
    async def _chat_openai(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, "openai")

    async def _chat_groq(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, "groq")

    def _rate_headers(self, flavor: Flavor) -> dict[str, str]:
        headers = {"x-request-id": f"req_{uuid.uuid4().hex[:26]}"}
        if flavor == "groq":
            headers.update(
                {
                    "x-ratelimit-limit-requests": "14400",
                    "x-ratelimit-limit-tokens": "6000",
                    "x-ratelimit-remaining-requests": "14399",
                    "x-ratelimit-remaining-tokens": "5900",
                    "x-ratelimit-reset-requests": "6s",
                    "x-ratelimit-reset-tokens": "1s",
                }
            )
        return headers

    def _fault_response(self, fault: LLMFault, flavor: Flavor, model: str) -> web.Response:
        headers = dict(fault.headers)
        if fault.status == 429 and not any(h.lower() == "retry-after" for h in headers):
            headers["retry-after"] = f"{fault.retry_after:g}"
        body = fault.body if fault.body is not None else _default_status_body(fault.status, flavor, model)
        if isinstance(body, (bytes, str)):
            return web.Response(
                status=fault.status, body=body, headers=headers, content_type="application/json"
            )
        return _json_response(fault.status, body, headers)

    async def _chat(self, request: web.Request, flavor: Flavor) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        fault = self.faults.take_llm()
        denied = self._check_bearer(request)
        if denied is not None:
            return denied
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _json_response(
                400, _error_body("We could not parse the JSON body of your request.", "invalid_request_error")
            )
        if not isinstance(body, dict):
            return _json_response(
                400, _error_body("Request body must be a JSON object.", "invalid_request_error")
            )
        self.requests.append(body)
        model = str(body.get("model", ""))
        if fault is not None and fault.kind == "status":
            return self._fault_response(fault, flavor, model)
        if fault is not None and fault.kind == "hang":
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), fault.hang_s)
            return _json_response(504, _error_body("Gateway Timeout", "internal_server_error"))
        if model not in self.models:
            return _json_response(404, _model_not_found(model))
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _json_response(
                400,
                _error_body("'messages' must be a non-empty array", "invalid_request_error", "invalid_value"),
            )
        reply = self.reply_fn(_last_user_text(messages), model)
        tokens = [] if fault is not None and fault.kind == "empty" else tokenize(reply)
        hide = (
            body.get("reasoning_format") == "hidden"
            or "reasoning_effort" in body
            or body.get("include_reasoning") is False
        )
        reasoning = tokenize(_REASONING) if "gpt-oss" in model and not hide else []
        prof = self.profile.llm_for(model, flavor)
        ttft_at = t0 + prof.ttft_ms / 1000.0
        step = prof.token_interval_ms / 1000.0
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages if isinstance(m, dict)) // 4 + 8
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokens) + len(reasoning),
            "total_tokens": prompt_tokens + len(tokens) + len(reasoning),
        }
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if not body.get("stream"):
            await _sleep_until(ttft_at + max(len(tokens) - 1, 0) * step)
            message: dict[str, Any] = {"role": "assistant", "content": "".join(tokens)}
            if reasoning:
                message["reasoning"] = "".join(reasoning)
            result: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
                "usage": usage,
                "system_fingerprint": "fp_sim",
            }
            if flavor == "groq":
                result["x_groq"] = {"id": f"req_{uuid.uuid4().hex[:26]}"}
            return _json_response(200, result, self._rate_headers(flavor))
        return await self._stream(
            request, flavor, body, model, tokens, reasoning, usage, cid, created, t0, fault
        )

    async def _stream(
        self,
        request: web.Request,
        flavor: Flavor,
        body: dict[str, Any],
        model: str,
        tokens: list[str],
        reasoning: list[str],
        usage: dict[str, Any],
        cid: str,
        created: int,
        t0: float,
        fault: LLMFault | None,
    ) -> web.StreamResponse:
        prof = self.profile.llm_for(model, flavor)
        ttft_at = t0 + prof.ttft_ms / 1000.0
        step = prof.token_interval_ms / 1000.0
        opts = body.get("stream_options")
        include_usage = isinstance(opts, dict) and bool(opts.get("include_usage"))
        req_id = f"req_{uuid.uuid4().hex[:26]}"
        head = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_sim"}  # fmt: skip
        prefix = b"data: " + orjson.dumps(head)[:-1] + b',"choices":[{"index":0,"delta":{'
        suffix = (
            b'},"logprobs":null,"finish_reason":null}]'
            + (b',"usage":null' if include_usage else b"")
            + b"}\n\n"
        )

        def chunk(extra: dict[str, Any], delta: dict[str, Any], finish: str | None) -> bytes:
            obj: dict[str, Any] = {
                **head,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                obj["usage"] = None
            obj.update(extra)
            return b"data: " + orjson.dumps(obj) + b"\n\n"

        # reasoning (if any) ends right before the first content token; headers go out with the first event
        first_at = ttft_at - len(reasoning) * step
        await _sleep_until(_at(request, first_at))
        resp = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                **self._rate_headers(flavor),
            },
        )
        try:
            await resp.prepare(request)
            first_extra = {"x_groq": {"id": req_id}} if flavor == "groq" else {}
            await resp.write(chunk(first_extra, {"role": "assistant", "content": ""}, None))
            for i, tok in enumerate(reasoning):
                await _sleep_until(_at(request, first_at + i * step))
                await resp.write(prefix + b'"reasoning":' + orjson.dumps(tok) + suffix)
            broken_after = (
                fault.after_tokens
                if fault is not None and fault.kind in ("drop", "malformed", "error_event")
                else -1
            )
            for i, tok in enumerate(tokens):
                if i == broken_after:
                    break
                await _sleep_until(_at(request, ttft_at + i * step))
                await resp.write(prefix + b'"content":' + orjson.dumps(tok) + suffix)
            if fault is not None and broken_after >= 0:
                return await self._break_stream(request, resp, fault)
            done_at = asyncio.get_running_loop().time()
            final_extra: dict[str, Any] = {}
            if flavor == "groq":
                completion_time = round(max(done_at - ttft_at, 0.0) + step, 4)
                prompt_time = round(prof.ttft_ms / 2000.0, 4)
                queue_time = round(prof.ttft_ms / 4000.0, 4)
                final_extra["x_groq"] = {
                    "id": req_id,
                    "usage": {
                        "queue_time": queue_time,
                        "prompt_time": prompt_time,
                        "completion_time": completion_time,
                        "total_time": round(prompt_time + completion_time, 4),
                        **usage,
                    },
                }
            await resp.write(chunk(final_extra, {}, "stop"))
            if include_usage:
                obj = {**head, "choices": [], "usage": usage}
                await resp.write(b"data: " + orjson.dumps(obj) + b"\n\n")
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
        except ConnectionError:
            pass  # the client went away mid-stream: nothing left to tell it
        return resp

    async def _break_stream(
        self, request: web.Request, resp: web.StreamResponse, fault: LLMFault
    ) -> web.StreamResponse:
        if fault.kind == "drop":
            if request.transport is not None:
                request.transport.abort()
            return resp
        if fault.kind == "malformed":
            await resp.write(b'data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":\n\n')
        else:  # error_event
            err = _error_body(
                "The server had an error while processing your request.", "internal_server_error"
            )
            await resp.write(b"data: " + orjson.dumps(err) + b"\n\n")
        await resp.write_eof()
        return resp

    # -- ElevenLabs -------------------------------------------------------------------------------------
    async def _tts_single(self, request: web.Request) -> web.StreamResponse:
        return await self._tts(request, multi=False)

    async def _tts_multi(self, request: web.Request) -> web.StreamResponse:
        return await self._tts(request, multi=True)

    def _key_ok(self, key: str) -> bool:
        return bool(key) and (self.api_keys is None or key in self.api_keys)

    async def _tts(self, request: web.Request, *, multi: bool) -> web.StreamResponse:
        fault = self.faults.take_tts()
        if fault is not None and fault.kind == "reject":
            return _json_response(
                fault.status,
                {"detail": {"status": "rejected", "message": f"Handshake rejected ({fault.status})"}},
            )
        q = request.query
        model_id = q.get("model_id", "")
        if multi and model_id.startswith("eleven_v3"):
            return _json_response(
                403,
                {"detail": {"status": "model_not_supported", "message": "eleven_v3 is not supported here"}},
            )
        transport = request.transport
        # Pings are answered by hand, so a pong pays the link's round trip like any other message.
        ws = web.WebSocketResponse(compress=False, autoping=False, timeout=2.0)
        await _sleep_until(_at(request, asyncio.get_running_loop().time()))  # the 101 travels back
        await ws.prepare(request)
        self.ws_connections += 1
        self._open.add(ws)
        conn = _TTSConnection(self, ws, transport, multi=multi, number=self.ws_connections, fault=fault)
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
            self._open.discard(ws)
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


_FAREWELL_S = 0.02  # between an error frame and the close that follows it (see _TTSConnection.fail)


class _TTSConnection:
    """One ElevenLabs WebSocket: receive loop, per-context workers, timers and faults."""

    def __init__(
        self,
        server: SimServer,
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
            if not self.server._key_ok(key):
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
            await _sleep_until(due)
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
            if not self.server._key_ok(str(key)):
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
            await _sleep_until(self.link.deliver(self.loop.time() if at is None else at))
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
            self.server._audio[fault.context_id] += ghost
            self.server._encoded[fault.context_id] += ghost
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
        audio_log = self.server._audio[ctx.key]
        wire_log = self.server._encoded[ctx.key]
        self.server._forget_old_audio()
        for i in range(n_frames):
            due = start + i * self.chunk_interval_s
            await _sleep_until(due)
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


# ---------------------------------------------------------------------------------------------------------
# Running it
# ---------------------------------------------------------------------------------------------------------


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
