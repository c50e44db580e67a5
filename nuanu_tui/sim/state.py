"""The seam between the server and its protocol handlers: what a handler reads and records on its server.

`SimServer` implements it; `openai_sse` and `elevenlabs_ws` see only this, so they never import the server
that composes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableSequence
from typing import Any, Literal, Protocol

from aiohttp import web

from nuanu_tui.sim.content import ReplyFn, SpeechFn
from nuanu_tui.sim.faults import Faults
from nuanu_tui.sim.profiles import ProfileSet


class EmulatorState(Protocol):
    profile: ProfileSet
    faults: Faults
    api_keys: set[str] | None
    models: list[str]
    reply_fn: ReplyFn
    speech_fn: SpeechFn
    requests: MutableSequence[dict[str, Any]]  # every parsed chat request body
    ws_messages: MutableSequence[dict[str, Any]]  # every parsed client WS message (keys removed)
    ws_connections: int
    websockets: set[web.WebSocketResponse]
    context_key: Literal["contextId", "context_id"]
    inactivity_timeout_override: float | None
    stopping: asyncio.Event

    def key_ok(self, key: str) -> bool: ...

    def audio_logs(self, key: str) -> tuple[bytearray, bytearray]: ...

    def forget_old_audio(self) -> None: ...
