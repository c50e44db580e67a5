"""The director: for each event, is it worth saying now? Pure policy on a ride clock; no I/O, no engine.

Rules, in the order they apply (the first that matches decides):
  1. `stale`          the event is older than `stale_ms` when it would start
  2. `low_confidence` confidence below `min_confidence`
  3. safety events speak now (`barge_in` when a remark is playing, else `ok`): they bypass the rest
  4. `paused`         the operator paused the director
  5. `duplicate`      the same label and side was spoken in the last `dedup_s`
  6. `rate_limit`     `max_per_min` remarks already started in the last 60 s
  7. `busy`           a remark is playing: the event waits in a one-place slot (a `high` one is not displaced
                      by a `normal` one); whatever it displaces is skipped as `busy`. When the remark ends the
                      waiting event is judged again from rule 1.
  8. `cooldown`       less than `cooldown_s` since the last remark ended
Otherwise the event is spoken (`ok`). Boundaries are inclusive of "fine": an event exactly `stale_ms` old, a
confidence exactly `min_confidence`, a remark exactly `cooldown_s` ago, a duplicate exactly `dedup_s` ago
all pass.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, fields

from nuanu_tui.core.ride.events import RideEvent

RATE_WINDOW_S = 60.0
# `not_ready` is the session's, not a rule: the ride ended before the engine could speak at all.
SKIP_REASONS = (
    "stale",
    "low_confidence",
    "duplicate",
    "cooldown",
    "busy",
    "rate_limit",
    "paused",
    "not_ready",
)
SPOKEN_REASONS = ("ok", "barge_in")


@dataclass(slots=True)
class DirectorConfig:
    """Defaults are what a ride needs; `Settings` carries the NUANU_* overrides."""

    stale_ms: float = 1500.0
    min_confidence: float = 0.5
    dedup_s: float = 20.0
    cooldown_s: float = 6.0
    max_per_min: int = 6
    paused: bool = False

    @classmethod
    def from_settings(cls, settings: object) -> DirectorConfig:
        return cls(**{f.name: getattr(settings, f"ride_{f.name}") for f in fields(cls) if f.name != "paused"})

    def update(self, **changes: object) -> None:
        """Live edits from the UI: only known knobs, coerced to their types, sane ranges."""
        for name, value in changes.items():
            if name not in {f.name for f in fields(self)}:
                raise ValueError(f"unknown director setting {name!r}")
            current = getattr(self, name)
            new = type(current)(value)  # type: ignore[call-arg]
            if not isinstance(new, bool) and new < 0:
                raise ValueError(f"{name} must not be negative")
            setattr(self, name, new)


@dataclass(frozen=True, slots=True)
class Verdict:
    """`decision` is spoken | skipped | held (held: waiting in the busy slot, decided later)."""

    event: RideEvent
    decision: str
    reason: str


class Director:
    """Holds what the rules need to remember: the remark playing, when the last one ended, what was said."""

    def __init__(self, config: DirectorConfig | None = None) -> None:
        self.config = config or DirectorConfig()
        self.speaking: bool = False
        self.last_end: float | None = None
        self._spoken: dict[tuple[str, str], float] = {}  # key -> when it was last spoken
        self._starts: deque[float] = deque()
        self.held: RideEvent | None = None

    # --- the rules ------------------------------------------------------------------------------------
    def judge(self, event: RideEvent, now: float) -> list[Verdict]:
        """Decide `event` at ride time `now`. Returns its verdict, preceded by the verdict of an event it
        displaced from the busy slot, if any."""
        c = self.config
        if (now - event.ts) * 1000.0 > c.stale_ms:
            return [Verdict(event, "skipped", "stale")]
        if event.confidence < c.min_confidence:
            return [Verdict(event, "skipped", "low_confidence")]
        if event.priority == "safety":
            return [Verdict(event, "spoken", "barge_in" if self.speaking else "ok")]
        if c.paused:
            return [Verdict(event, "skipped", "paused")]
        said = self._spoken.get(event.key)
        if said is not None and now - said < c.dedup_s:
            return [Verdict(event, "skipped", "duplicate")]
        self._expire(now)
        if len(self._starts) >= c.max_per_min:
            return [Verdict(event, "skipped", "rate_limit")]
        if self.speaking:
            return self._hold(event)
        if self.last_end is not None and now - self.last_end < c.cooldown_s:
            return [Verdict(event, "skipped", "cooldown")]
        return [Verdict(event, "spoken", "ok")]

    def _hold(self, event: RideEvent) -> list[Verdict]:
        waiting = self.held
        if waiting is not None and waiting.priority == "high" and event.priority != "high":
            return [Verdict(event, "skipped", "busy")]  # high goes before normal
        self.held = event
        out = [Verdict(waiting, "skipped", "busy")] if waiting is not None else []
        return [*out, Verdict(event, "held", "busy")]

    def _expire(self, now: float) -> None:
        while self._starts and now - self._starts[0] >= RATE_WINDOW_S:
            self._starts.popleft()

    # --- what the ride tells the director ---------------------------------------------------------------
    def started(self, event: RideEvent | None, now: float) -> None:
        """A remark started (an event's, or the operator's own when `event` is None)."""
        self.speaking = True
        self._starts.append(now)
        if event is not None:
            self._spoken[event.key] = now
        if len(self._spoken) > 512:  # forget what no dedup window can still see
            horizon = now - self.config.dedup_s
            self._spoken = {k: t for k, t in self._spoken.items() if t >= horizon}

    def ended(self, now: float) -> RideEvent | None:
        """The remark ended; returns the event waiting in the slot (to be judged again), if any."""
        self.speaking = False
        self.last_end = now
        waiting, self.held = self.held, None
        return waiting

    def drop_held(self) -> RideEvent | None:
        """The ride ends: the waiting event, if any, is skipped as busy by the caller."""
        waiting, self.held = self.held, None
        return waiting


__all__ = ["SKIP_REASONS", "SPOKEN_REASONS", "Director", "DirectorConfig", "Verdict"]
