"""Fault injection for the emulator: every failure the real services show, on demand.

A fault is a small value (`LLMFault`, `TTSFault`). `Faults` holds a persistent fault per side (applies to
every request/connection until cleared) and a one-shot queue (`next_llm`/`next_tts`) that applies to the next
request/connection only and wins over the persistent one. Tests flip these between requests.
How an LLM fault answers (`fault_response`, `break_stream`) is here too; a TTS fault acts on the socket's
state, so the ElevenLabs connection (sim/elevenlabs_ws.py) applies it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from aiohttp import web

from nuanu_tui.sim.errors import error_body, json_response, status_body
from nuanu_tui.sim.profiles import Flavor

LLMFaultKind = Literal["status", "hang", "drop", "malformed", "empty", "error_event"]
TTSFaultKind = Literal[
    "reject",  # HTTP status at the WebSocket handshake (403, 500, ...)
    "invalid_key",  # upgrade accepted, then an error frame and close 1008 on the first message
    "quota",  # quota_exceeded error frame then close 1008 when the first generation would start
    "input_timeout",  # the connection idles out after `after_s` (input_timeout_exceeded, 1008)
    "close_1011",  # close 1011 after `after_frames` audio frames
    "drop",  # abort TCP (no close frame) after `after_frames` audio frames
    "malformed",  # one non-JSON text frame after `after_frames` audio frames, then carry on
    "unknown_context",  # one audio frame for a context id the client never opened, then carry on
    "first_audio_delay",  # override the profile's first_audio_ms for this connection
]

LLM_KINDS: tuple[str, ...] = LLMFaultKind.__args__  # type: ignore[attr-defined]
TTS_KINDS: tuple[str, ...] = TTSFaultKind.__args__  # type: ignore[attr-defined]


@dataclass(slots=True)
class LLMFault:
    """One LLM failure.

    - `status`: reply `status` with `body` (default: the real-looking error JSON for that status) and `headers`
      (429 gets `retry-after: <retry_after>` unless given).
    - `hang`: accept the request and send nothing (no headers) for `hang_s` — exercises read timeouts.
    - `drop`: stream `after_tokens` content tokens, then cut the TCP connection mid-body.
    - `malformed`: stream `after_tokens` tokens, then one broken `data:` line, then stop.
    - `empty`: a well-formed stream with no content at all (role chunk, stop chunk, [DONE]).
    - `error_event`: stream `after_tokens` tokens, then `data: {"error": {...}}`, then stop.
    """

    kind: LLMFaultKind
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float = 1.0
    after_tokens: int = 0
    hang_s: float = 3600.0


@dataclass(slots=True)
class TTSFault:
    """One ElevenLabs failure; see `TTSFaultKind` for the kinds. `context_id` names the ghost context for
    `unknown_context`; `delay_ms` is the first-audio override for `first_audio_delay`; `close_delay_s` holds
    the close back after an error frame (a slow link: the frame arrives well before the close)."""

    kind: TTSFaultKind
    status: int = 403
    after_frames: int = 0
    after_s: float = 0.05
    delay_ms: float = 0.0
    context_id: str = "ghost-context"
    close_delay_s: float = 0.0


class Faults:
    """Mutable fault switchboard on a running `SimServer`."""

    def __init__(self) -> None:
        self.llm: LLMFault | None = None
        self.tts: TTSFault | None = None
        self._llm_once: deque[LLMFault] = deque()
        self._tts_once: deque[TTSFault] = deque()

    def next_llm(self, fault: LLMFault | LLMFaultKind, **kwargs: Any) -> LLMFault:
        """Queue a fault for the next LLM request only: `next_llm("status", status=429, retry_after=2)`."""
        value = fault if isinstance(fault, LLMFault) else LLMFault(fault, **kwargs)
        if value.kind not in LLM_KINDS:
            raise ValueError(f"unknown LLM fault {value.kind!r}")
        self._llm_once.append(value)
        return value

    def next_tts(self, fault: TTSFault | TTSFaultKind, **kwargs: Any) -> TTSFault:
        """Queue a fault for the next TTS WebSocket connection only: `next_tts("close_1011", after_frames=2)`."""
        value = fault if isinstance(fault, TTSFault) else TTSFault(fault, **kwargs)
        if value.kind not in TTS_KINDS:
            raise ValueError(f"unknown TTS fault {value.kind!r}")
        self._tts_once.append(value)
        return value

    def take_llm(self) -> LLMFault | None:
        return self._llm_once.popleft() if self._llm_once else self.llm

    def take_tts(self) -> TTSFault | None:
        return self._tts_once.popleft() if self._tts_once else self.tts

    def clear(self) -> None:
        self.llm = None
        self.tts = None
        self._llm_once.clear()
        self._tts_once.clear()


def fault_response(fault: LLMFault, flavor: Flavor, model: str) -> web.Response:
    """A `status` fault's reply: its body (default: the provider's own for that status) and headers."""
    headers = dict(fault.headers)
    if fault.status == 429 and not any(h.lower() == "retry-after" for h in headers):
        headers["retry-after"] = f"{fault.retry_after:g}"
    body = fault.body if fault.body is not None else status_body(fault.status, flavor, model)
    if isinstance(body, (bytes, str)):
        return web.Response(status=fault.status, body=body, headers=headers, content_type="application/json")
    return json_response(fault.status, body, headers)


async def break_stream(request: web.Request, resp: web.StreamResponse, fault: LLMFault) -> web.StreamResponse:
    """End a stream the way `drop`, `malformed` or `error_event` says, after its good tokens went out."""
    if fault.kind == "drop":
        if request.transport is not None:
            request.transport.abort()
        return resp
    if fault.kind == "malformed":
        await resp.write(b'data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":\n\n')
    else:  # error_event
        err = error_body("The server had an error while processing your request.", "internal_server_error")
        await resp.write(b"data: " + orjson.dumps(err) + b"\n\n")
    await resp.write_eof()
    return resp
