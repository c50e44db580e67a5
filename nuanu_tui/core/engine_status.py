"""What the engine reports to front ends between utterances: the status snapshot and the lost-device line."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nuanu_tui.core.audio.player import DeviceLost


@dataclass(slots=True)
class EngineStatus:
    """A snapshot for the status bar: connection states, audio device, badges, session numbers."""

    llm: str
    llm_state: str
    tts: str
    tts_state: str
    audio: str
    sample_rate: int
    audio_warning: str | None
    offline_reasons: tuple[str, ...]
    simulated: bool
    utterances: int = 0
    ttfa_ms: list[float] = field(default_factory=list)
    unavailable: tuple[str, ...] = ()  # providers failing right now (probed in the background)
    fallback_tts: str | None = None
    audio_lost: str | None = None  # "DEVICE since HH:MM:SS — why" while the output device is gone
    audio_back: str | None = None  # "since HH:MM:SS" once a lost device works again
    audio_policy: str = "hold"  # while lost: "hold" remarks (drop stale ones) or "keep" generating unheard
    net: str | None = None  # the emulated network's profile under --demo
    net_rtt: tuple[tuple[str, float | None], ...] = ()  # (provider, last RTT ms), LLM first
    net_degraded: tuple[str, ...] = ()  # providers whose link is past NUANU_NET_WARN_MS
    telemetry_problem: str | None = None  # OpenTelemetry export failing (one line), None when fine or off


def clock_time(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall))


def lost_line(lost: DeviceLost) -> str:
    """One line for the status bar and cards: which device, since when, why."""
    return f"{lost.device} since {clock_time(lost.since)}: {lost.reason}"
