"""The ride's live event feed: newest first, a bounded number of lines, repainted once per batch."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable

from rich.text import Text
from textual.widget import Widget

from nuanu_tui.ui.ride_messages import RideCounters, RideLine

FEED_LINES = 200  # what the feed keeps; a flood scrolls through it, never grows it
BADGE_STYLES = {
    "SPOKEN": "bold green",
    "BARGE-IN": "bold red",
    "PAUSED": "yellow",
}


def badge_style(badge: str) -> str:
    if badge.startswith("REJECTED"):
        return "bold magenta"
    return BADGE_STYLES.get(badge, "dim")


def feed_line(line: RideLine) -> Text:
    stamp = time.strftime("%H:%M:%S", time.localtime(line.received_at))
    conf = "   " if line.confidence is None else f"{line.confidence:.2f}"
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{stamp} ", style="dim")
    text.append(f"{line.badge:<20} ", style=badge_style(line.badge))
    text.append(f"{conf} ", style="dim")
    if line.priority in ("high", "safety"):
        text.append(
            f"{line.priority.upper()} ", style="bold yellow" if line.priority == "high" else "bold red"
        )
    text.append(line.what)
    if line.detail and line.decision == "rejected":
        text.append(f"  ({line.detail})", style="dim")
    text.append(f"  [{line.source}]", style="dim")
    return text


class RideFeed(Widget):
    """Lines arrive in batches (at most ten a second); each batch is one repaint of what fits."""

    DEFAULT_CSS = """
    RideFeed { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lines: deque[RideLine] = deque(maxlen=FEED_LINES)
        self.skipped_lines = 0  # lines of a flood that went by unseen (counted, not drawn)

    def add(self, lines: Iterable[RideLine], dropped: int = 0) -> None:
        self.lines.extend(lines)
        self.skipped_lines += dropped
        self.refresh()

    def clear(self) -> None:
        self.lines.clear()
        self.refresh()

    def render(self) -> Text:
        if not self.lines:
            return Text("No events yet. Send them over UDP or WebSocket, or replay a ride (F3).", style="dim")
        height = max(self.size.height, 1)
        rows = [feed_line(line) for line in list(self.lines)[-height:][::-1]]
        return Text("\n").join(rows)


SIDE_MARKS = {"ahead": "A", "left": "L", "right": "R", "behind": "B"}


def cameras_text(c: RideCounters) -> Text:
    """`front 30 fps L2 A1 R0 B0 · rear 29 fps …  mqtt AWAY …`: empty when no camera and no broker."""
    t = Text(no_wrap=True, overflow="ellipsis")
    for i, cam in enumerate(c.cameras):
        if i:
            t.append(" · ", style="dim")
        t.append(f"{cam.camera} ", style="bold")
        t.append(f"{cam.fps:.0f} fps ", style="dim")
        t.append(" ".join(f"{SIDE_MARKS.get(side, side)}{n}" for side, n in cam.sides))
    if c.frames_rejected:
        t.append(f"  frames rejected {c.frames_rejected}", style="magenta")
    for line in c.feeds:
        if t:
            t.append("  ")
        t.append(line, style="dim" if c.feeds_ok else "bold red")
    return t


def counters_text(c: RideCounters) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f"{c.events_per_s:5.0f} ev/s  ", style="bold")
    t.append(f"received {c.received}  ")
    t.append(f"spoken {c.spoken}  ", style="green")
    skipped = " ".join(f"{k} {v}" for k, v in c.skipped.items()) or "0"
    t.append(f"skipped: {skipped}  ", style="dim")
    rejected = " ".join(f"{k} {v}" for k, v in c.rejected.items()) or "0"
    t.append(f"rejected: {rejected}  ", style="magenta")
    p = "—" if c.e2a_p50 is None else f"p50 {c.e2a_p50:.0f} / p95 {c.e2a_p95:.0f} ms"
    t.append(f"event→first audio {p}", style="bold")
    if c.paused:
        t.append("  PAUSED", style="bold yellow")
    return t
