"""One camera event: the schema, its validation, and the reasons a raw message is refused.

Every transport hands raw bytes (or a line) to `parse_event`; what comes back is a `RideEvent`, a camera
`Frame` (an object with `"type": "detections"`, see `frames`), or a `Rejection` with a reason (`malformed`,
`unauthorized`) and a one-line detail. The token is compared before the message is validated and never
appears in a detail.
"""

from __future__ import annotations

import hmac
import itertools
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nuanu_tui.core.llm.prompts import clean_trigger
from nuanu_tui.core.ride.clock import epoch_seconds
from nuanu_tui.core.ride.frames import Frame, frame_from, is_frame
from nuanu_tui.core.ride.vocab import SIDES, vocabulary

MAX_EVENT_BYTES = 8192
MAX_TEXT_CHARS = 500
PRIORITIES = ("normal", "high", "safety")
REJECT_REASONS = ("malformed", "unauthorized", "overflow")


@dataclass(frozen=True, slots=True)
class Origin:
    """What a camera event came from: the confirmed tracks it counts and the frames that saw them."""

    camera: str
    track_ids: tuple[int | str, ...]
    first_frame: int
    last_frame: int

    def to_json(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "track_ids": list(self.track_ids),
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
        }


@dataclass(frozen=True, slots=True)
class RideEvent:
    """A validated event. `ts` is wall-clock seconds (the sender's); `received_at` is ours on arrival."""

    id: str
    ts: float
    received_at: float
    label: str | None = None
    count: int = 1
    side: str | None = None
    confidence: float = 1.0
    priority: str = "normal"
    text: str | None = None
    source: str = "feed"  # ws | udp | stdin | mqtt | file | replay | operator | camera:NAME
    origin: Origin | None = None  # set on events the tracker made from frames

    @property
    def key(self) -> tuple[str, str]:
        """What `duplicate` compares: label and side (a text trigger: its text)."""
        return (self.label or f"text:{self.text}", self.side or "")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts,
            "label": self.label,
            "count": self.count,
            "side": self.side,
            "confidence": self.confidence,
            "priority": self.priority,
            "text": self.text,
            **({"source": self.source, "origin": self.origin.to_json()} if self.origin else {}),
        }


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message that did not become an event; it still counts as received."""

    reason: str  # one of REJECT_REASONS
    detail: str
    received_at: float
    source: str = "feed"
    id: str = ""
    event: RideEvent | Frame | None = None  # set for `overflow`: the event (or frame) that was dropped
    raw: str | None = None  # a malformed message's text (not for oversize or non-UTF-8), so a replay meets it
    frame: bool = False  # the message was a camera frame (counted with frames, not events)


class _Schema(BaseModel):
    """Strict: `"2"` is not a count and `true` is not a confidence."""

    model_config = ConfigDict(strict=True, extra="ignore")

    id: str | None = Field(None, min_length=1, max_length=64)
    ts: float | None = None
    label: str | None = None
    count: int = Field(1, ge=1, le=999)
    side: Literal["left", "right", "ahead", "behind"] | None = None
    confidence: float = Field(1.0, ge=0.0, le=1.0)
    priority: Literal["normal", "high", "safety"] = "normal"
    text: str | None = Field(None, max_length=MAX_TEXT_CHARS)

    @field_validator("ts", mode="before")
    @classmethod
    def _ts(cls, value: Any) -> Any:
        return epoch_seconds(value)

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # 1 is a fine confidence
        return value

    @field_validator("label")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        if value is not None and value not in vocabulary():
            raise ValueError(f"unknown label {value[:40]!r} (see assets/labels.json)")
        return value


# A message too big (or too broken) to parse still counts as a frame when it says so near its start.
_FRAME_MARK = re.compile(rb'"type"\s*:\s*"detections"')
_session = os.urandom(2).hex()
_ids = itertools.count(1)


def _new_id() -> str:
    return f"e{_session}-{next(_ids)}"


def _first_error(exc: ValidationError, whole: str = "event") -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or whole
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def parse_event(
    raw: bytes | str,
    *,
    source: str = "feed",
    token: str | None = None,
    received_at: float | None = None,
) -> RideEvent | Frame | Rejection:
    """Validate one message. `token` set means the message must carry it in a `token` field (UDP)."""
    now = time.time() if received_at is None else received_at

    def reject(reason: str, detail: str, keep: str | None = None, frame: bool = False) -> Rejection:
        keep = keep if reason == "malformed" else None
        return Rejection(reason, detail, now, source, _new_id(), raw=keep, frame=frame)

    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_EVENT_BYTES:
        head = raw[:256] if isinstance(raw, bytes) else raw[:256].encode("utf-8", "replace")
        oversize = f"oversize: {size} bytes (at most {MAX_EVENT_BYTES})"
        return reject("malformed", oversize, frame=_FRAME_MARK.search(head) is not None)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return reject("malformed", "not UTF-8")
    text = raw.strip()
    if not text:
        return reject("malformed", "empty message")
    obj: Any
    if text[0] in '{["':
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            return reject(
                "malformed", "not valid JSON", text, frame=_FRAME_MARK.search(text[:256].encode()) is not None
            )
    else:
        obj = text  # a plain line is a text trigger
    if token is not None:
        given = obj.get("token") if isinstance(obj, dict) else None
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
            return reject("unauthorized", "missing or wrong token", frame=is_frame(obj))
    if is_frame(obj):
        try:
            return frame_from(obj, source=source, received_at=now, id=_new_id())
        except ValidationError as exc:
            return reject("malformed", "frame " + _first_error(exc, ""), text, frame=True)
    if isinstance(obj, str):
        obj = {"text": obj}
    if not isinstance(obj, dict):
        return reject("malformed", f"expected a JSON object, got {type(obj).__name__}", text)
    try:
        data = _Schema.model_validate(obj)
    except ValidationError as exc:
        return reject("malformed", _first_error(exc), text)
    trigger = None
    if data.text is not None:
        trigger, _ = clean_trigger(data.text)
        if not trigger:
            return reject("malformed", "text: empty after cleaning", text)
    if data.label is None and trigger is None:
        return reject("malformed", "needs a label or a text", text)
    return RideEvent(
        id=data.id or _new_id(),
        ts=data.ts if data.ts is not None else now,
        received_at=now,
        label=data.label,
        count=data.count,
        side=data.side,
        confidence=data.confidence,
        priority=data.priority,
        text=trigger,
        source=source,
    )


def trigger_of(event: RideEvent) -> str:
    """The trigger the remark is about: the event's own text, else one written from its label."""
    if event.text is not None:
        return event.text
    assert event.label is not None
    return vocabulary().trigger(event.label, event.count, event.side)


__all__ = [
    "MAX_EVENT_BYTES",
    "PRIORITIES",
    "REJECT_REASONS",
    "SIDES",
    "Frame",
    "Origin",
    "Rejection",
    "RideEvent",
    "parse_event",
    "trigger_of",
]
