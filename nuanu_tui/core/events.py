"""Plain events the engine emits while an utterance runs; the UI bridge turns them into messages."""

from __future__ import annotations

from dataclasses import dataclass

from nuanu_tui.core.timeline import UtteranceResult


@dataclass(frozen=True, slots=True)
class UtteranceStarted:
    utterance_id: str
    trigger: str
    llm: str
    tts: str
    offline: bool
    simulated: bool
    started_at: float


@dataclass(frozen=True, slots=True)
class TextDelta:
    utterance_id: str
    text: str


@dataclass(frozen=True, slots=True)
class StageReached:
    utterance_id: str
    stage: str
    ms: float


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the operator should know that is not fatal (trigger cut, fallback used...)."""

    utterance_id: str
    message: str


@dataclass(frozen=True, slots=True)
class UtteranceFinished:
    result: UtteranceResult


PipelineEvent = UtteranceStarted | TextDelta | StageReached | Notice | UtteranceFinished
