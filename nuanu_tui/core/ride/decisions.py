"""What a ride decided about each event, and the counts that add up (`ride --json` events and summary)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from nuanu_tui.core.ride.events import RideEvent
from nuanu_tui.core.ride.tracker import Tracker
from nuanu_tui.core.stats import summarize


@dataclass(slots=True)
class RideDecision:
    """One event's outcome. `to_json` is the `ride --json` event object."""

    id: str
    received_at: float
    source: str
    decision: str  # spoken | skipped | rejected
    reason: str
    event: RideEvent | None = None
    trigger: str | None = None
    detail: str = ""
    utterance_id: str | None = None
    event_age_ms: float | None = None
    raw: str | None = None  # a malformed message's text, recorded so a replay meets it again
    final: bool = False  # everything about it is known (a spoken one: once its utterance has ended)
    frame: bool = False  # a camera frame refused (counted with frames, not events)

    def to_json(self) -> dict[str, Any]:
        e = self.event
        return {
            "id": self.id,
            "received_at": self.received_at,
            "label": e.label if e else None,
            "count": e.count if e else None,
            "side": e.side if e else None,
            "confidence": e.confidence if e else None,
            "priority": e.priority if e else None,
            "source": self.source,
            "trigger": self.trigger,
            "decision": self.decision,
            "reason": self.reason,
            "detail": self.detail or None,
            "utterance_id": self.utterance_id,
            "event_age_ms": None if self.event_age_ms is None else round(self.event_age_ms, 3),
            **({"ts": e.ts, "origin": e.origin.to_json()} if e is not None and e.origin is not None else {}),
            **({"frame": True} if self.frame else {}),
        }

    def record_line(self) -> dict[str, Any]:
        """The recording's line: the event with its original timestamp, so the ride replays as it was."""
        line = self.to_json()
        line["event"] = self.event.to_json() if self.event is not None else None
        return line


@dataclass(slots=True)
class RideTally:
    """Counts that always add up: received = spoken + skipped + rejected."""

    received: int = 0
    spoken: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    spoken_reasons: Counter[str] = field(default_factory=Counter)
    event_to_first_audio: list[float] = field(default_factory=list)
    frames_received: int = 0  # camera frames, apart from events: received = taken + rejected
    frames_rejected: Counter[str] = field(default_factory=Counter)
    tracker: Tracker | None = None  # for the frames' unmapped and low-confidence counts

    def add(self, d: RideDecision) -> None:
        if d.frame:
            self.frames_received += 1
            self.frames_rejected[d.reason] += 1
            return
        self.received += 1
        if d.decision == "spoken":
            self.spoken += 1
            self.spoken_reasons[d.reason] += 1
        elif d.decision == "skipped":
            self.skipped[d.reason] += 1
        else:
            self.rejected[d.reason] += 1

    def summary(self) -> dict[str, Any]:
        s = summarize(self.event_to_first_audio)
        return {
            "received": self.received,
            "spoken": self.spoken,
            "spoken_by_reason": dict(sorted(self.spoken_reasons.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "rejected": dict(sorted(self.rejected.items())),
            "event_to_first_audio": {"n": s.n, "p50": _r(s.p50), "p95": _r(s.p95), "max": _r(s.max)},
            "frames": self.frames_summary(),
        }

    def frames_summary(self) -> dict[str, Any]:
        t = self.tracker
        return {
            "received": self.frames_received,
            "rejected": dict(sorted(self.frames_rejected.items())),
            "unmapped": sum(t.unmapped.values()) if t is not None else 0,
            "low_confidence": t.low_confidence if t is not None else 0,
            "cameras": {v.camera: v.frames for v in t.cameras()} if t is not None else {},
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)
