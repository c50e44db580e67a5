"""The ride view's messages and the plain records they carry (no engine objects: the ride bridge converts)."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

BADGES = {
    ("spoken", "ok"): "SPOKEN",
    ("spoken", "barge_in"): "BARGE-IN",
    ("skipped", "duplicate"): "DUPLICATE",
    ("skipped", "cooldown"): "COOLDOWN",
    ("skipped", "busy"): "BUSY",
    ("skipped", "stale"): "STALE",
    ("skipped", "low_confidence"): "LOW CONF",
    ("skipped", "rate_limit"): "RATE",
    ("skipped", "paused"): "PAUSED",
}


def badge(decision: str, reason: str) -> str:
    """SPOKEN, BARGE-IN, DUPLICATE, … ; a rejection says why: REJECTED malformed."""
    if decision == "rejected":
        return f"REJECTED {reason}"
    return BADGES.get((decision, reason), f"{decision.upper()} {reason}")


@dataclass(frozen=True, slots=True)
class RideLine:
    """One event in the feed: when, what, how sure, and the decision."""

    received_at: float
    what: str  # "dog ×2 left" or the text trigger, or the rejection's detail
    confidence: float | None
    priority: str | None
    decision: str
    reason: str
    source: str
    detail: str = ""

    @property
    def badge(self) -> str:
        return badge(self.decision, self.reason)


@dataclass(frozen=True, slots=True)
class CameraLine:
    """One camera in the ride view: how many frames a second, and its confirmed tracks per side."""

    camera: str
    mounting: str
    fps: float
    sides: tuple[tuple[str, int], ...]  # (side, confirmed tracks), ahead/left/right/behind


@dataclass(frozen=True, slots=True)
class RideCounters:
    received: int = 0
    spoken: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    events_per_s: float = 0.0
    e2a_p50: float | None = None
    e2a_p95: float | None = None
    e2a_n: int = 0
    queued: int = 0
    paused: bool = False
    listening: tuple[str, ...] = ()
    cameras: tuple[CameraLine, ...] = ()
    frames: int = 0  # camera frames received (apart from events)
    frames_rejected: int = 0
    feeds: tuple[str, ...] = ()  # connection lines of the feeds that keep one (MQTT)
    feeds_ok: bool = True  # False while a feed's broker is away


class RideStarted(Message, bubble=False):
    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what


class RideBatch(Message, bubble=False):
    """The newest decisions since the last batch (at most a couple of hundred) and the counts so far."""

    def __init__(self, lines: tuple[RideLine, ...], dropped: int, counters: RideCounters) -> None:
        super().__init__()
        self.lines = lines
        self.dropped = dropped
        self.counters = counters


class RideStopped(Message, bubble=False):
    def __init__(self, what: str, error: str | None = None, recording: str | None = None) -> None:
        super().__init__()
        self.what = what
        self.error = error
        self.recording = recording


class DirectorChanged(Message, bubble=False):
    def __init__(self, settings: dict[str, object], error: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.error = error
