"""Stage marks for one utterance, and the result record every front end shares."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nuanu_tui.core.clock import ms_between, now_ns

if TYPE_CHECKING:
    from nuanu_tui.core.quality import Quality

# `first_sound`: the first audible sample of anything for this trigger (an interjection or the remark);
# `first_audio` stays the remark's own first sample.
STAGES = (
    "first_sound",
    "ttft",
    "first_flush",
    "first_audio_byte",
    "first_audio",
    "llm_done",
    "tts_done",
    "playback_done",
)
STAGE_LABELS = {
    "first_sound": "first sound",
    "ttft": "TTFT",
    "first_flush": "first flush",
    "first_audio_byte": "first audio byte",
    "first_audio": "first audio",
    "llm_done": "LLM done",
    "tts_done": "TTS done",
    "playback_done": "playback done",
}


class Timeline:
    """First-write-wins stage marks in ns since t0. Safe to mark from the audio thread."""

    __slots__ = ("_lock", "marks_ns", "t0_ns")

    def __init__(self, t0_ns: int | None = None) -> None:
        self.t0_ns = now_ns() if t0_ns is None else t0_ns
        self.marks_ns: dict[str, int] = {}
        self._lock = threading.Lock()

    def mark(self, stage: str, at_ns: int | None = None) -> bool:
        """Record `stage` once; returns True only for the first mark."""
        if stage in self.marks_ns:
            return False
        at = now_ns() if at_ns is None else at_ns
        with self._lock:
            if stage in self.marks_ns:
                return False
            self.marks_ns[stage] = at
        return True

    def ms(self, stage: str) -> float | None:
        at = self.marks_ns.get(stage)
        return None if at is None else ms_between(self.t0_ns, at)

    def stages_ms(self) -> dict[str, float | None]:
        return {stage: self.ms(stage) for stage in STAGES}


def provider_floor_ms(timings: dict[str, Any]) -> float | None:
    """Groq reports queue_time + prompt_time (seconds): the part of TTFT no client can remove."""
    queue, prompt = timings.get("queue_time"), timings.get("prompt_time")
    if isinstance(queue, int | float) and isinstance(prompt, int | float):
        return (float(queue) + float(prompt)) * 1000.0
    return None


def split_ms(
    first_audio: float | None, net_rtt: dict[str, float | None], provider_ms: float | None
) -> dict[str, float] | None:
    """What TTFA can be attributed to: `network` (one LLM round trip for the request and its first token,
    one TTS round trip for the first clause and its first audio), `provider` (the server time it reports)
    and `rest` (our own work plus the providers' unreported time). None without TTFA or any RTT."""
    rtts = [v for v in (net_rtt.get("llm"), net_rtt.get("tts")) if v is not None]
    if first_audio is None or not rtts:
        return None
    network = min(sum(rtts), first_audio)
    provider = min(provider_ms or 0.0, first_audio - network)
    return {
        "network": round(network, 1),
        "provider": round(provider, 1),
        "rest": round(first_audio - network - provider, 1),
    }


@dataclass(slots=True)
class UtteranceResult:
    """Everything recorded about one utterance. `to_json` is the stable `say --json` shape."""

    trigger: str
    llm: str
    tts: str
    text: str = ""
    stages_ms: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(STAGES))
    ws_reused: bool | None = None
    offline: bool = False
    simulated: bool = False
    error: str | None = None
    error_kind: str | None = None
    utterance_id: str = ""
    started_at: float = 0.0  # wall clock, for display and storage only
    tokens: int = 0
    chars: int = 0
    audio_seconds: float = 0.0
    provider_timings: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    served_by: str | None = None  # the LLM spec that wrote the text (None: no text)
    voiced_by: list[str] = field(default_factory=list)  # TTS specs that produced audio, in order
    degraded: bool = False
    filtered: bool = False
    source: str = "cli"
    run_id: str | None = None
    wait_ms: float | None = None  # t0 (trigger accepted) -> the utterance started: start-up or queue wait
    net_rtt_ms: dict[str, float | None] = field(default_factory=lambda: {"llm": None, "tts": None})
    t0_ns: int = 0  # perf_counter_ns at t0, for cross-utterance timing (compare start skew)
    mark: str | None = None  # "interrupted" (stopped while speaking) or "dropped" (cleared from the queue)
    interjection: str | None = None  # the instant reaction played before the remark («Ого!»), if any
    interjection_ms: float | None = None  # its length: the waterfall's span starts at first_sound
    gap_ms: float | None = None  # silence between the interjection's last sample and the remark's first
    interjection_wait_ms: float | None = None  # the remark's audio was ready but waited this long behind it
    prompt: str | None = None  # "NAME@VERSION" of the prompt file the text was asked with (None: phrasebook)
    finish_reason: str | None = None  # the LLM's ("length": it hit max_tokens)
    blocked: bool = False  # the safety filter replaced a blocked word with its safe phrase
    markup: bool = False  # the safety filter stripped markdown, emoji or asides before the TTS
    quality: Quality | None = None  # the rubric, computed after the remark (None: no text to judge)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def ttfa(self) -> float | None:
        return self.stages_ms.get("first_audio")

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "error_kind": self.error_kind,
            "trigger": self.trigger,
            "llm": self.llm,
            "tts": self.tts,
            "text": self.text,
            "stages_ms": dict(self.stages_ms),
            "interjection": self.interjection,
            "gap_ms": self.gap_ms,
            "wait_ms": self.wait_ms,
            "ws_reused": self.ws_reused,
            "offline": self.offline,
            "simulated": self.simulated,
            "served_by": self.served_by,
            "voiced_by": list(self.voiced_by),
            "degraded": self.degraded,
            "notices": list(self.notices),
            "net_rtt_ms": dict(self.net_rtt_ms),
            "prompt": self.prompt,
            "quality": self.quality.to_json() if self.quality is not None else None,
        }
