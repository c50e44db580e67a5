"""Textual messages the bridge posts, and the plain view records they carry.

They do not bubble: the bridge posts each one to the screen that handles it.

Widgets only ever see these records, never engine objects: the bridge converts engine events into them,
so nothing outside `bridge.py` needs to import `nuanu_tui.core`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message


@dataclass(frozen=True, slots=True)
class Catalog:
    """What the UI may offer: stages in order, seed triggers, provider presets, formats."""

    stages: tuple[str, ...]
    stage_labels: dict[str, str]
    seeds: tuple[str, ...]
    llm_presets: tuple[str, ...]
    tts_choices: tuple[str, ...]
    output_formats: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UtteranceView:
    """One utterance as the transcript and waterfall show it (final when `done`)."""

    utterance_id: str
    trigger: str
    llm: str
    tts: str
    started_at: float
    offline: bool = False
    simulated: bool = False
    text: str = ""
    stages_ms: dict[str, float | None] = field(default_factory=dict)
    done: bool = False
    error: str | None = None
    error_kind: str | None = None
    ws_reused: bool | None = None
    floor_ms: float | None = None  # provider-reported queue+prompt time (Groq), when known
    notices: tuple[str, ...] = ()

    @property
    def ttfa(self) -> float | None:
        return self.stages_ms.get("first_audio")


@dataclass(frozen=True, slots=True)
class StatusView:
    """A snapshot for the status bar."""

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
    ttfa_n: int = 0
    ttfa_p50: float | None = None
    ttfa_p90: float | None = None
    last_ws_reused: bool | None = None
    busy: bool = False
    queued: int = 0
    output_format: str = ""


class EngineReady(Message, bubble=False):
    """The engine is created and warm (or warmed with recorded failures)."""

    def __init__(self, status: StatusView, warm_errors: dict[str, str]) -> None:
        super().__init__()
        self.status = status
        self.warm_errors = warm_errors


class EngineFailed(Message, bubble=False):
    """The engine could not start; the UI stays up and says why."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class UtteranceBegan(Message, bubble=False):
    def __init__(self, view: UtteranceView) -> None:
        super().__init__()
        self.view = view


class TextArrived(Message, bubble=False):
    """Coalesced remark text (many LLM deltas joined, at most ~30 per second)."""

    def __init__(self, utterance_id: str, text: str) -> None:
        super().__init__()
        self.utterance_id = utterance_id
        self.text = text


class StageArrived(Message, bubble=False):
    def __init__(self, utterance_id: str, stage: str, ms: float) -> None:
        super().__init__()
        self.utterance_id = utterance_id
        self.stage = stage
        self.ms = ms


class NoticeArrived(Message, bubble=False):
    def __init__(self, utterance_id: str, message: str) -> None:
        super().__init__()
        self.utterance_id = utterance_id
        self.message = message


class UtteranceDone(Message, bubble=False):
    def __init__(self, view: UtteranceView) -> None:
        super().__init__()
        self.view = view


class StatusChanged(Message, bubble=False):
    """Snapshot payload: a newer one replaces an older one still waiting in the queue."""

    def __init__(self, status: StatusView) -> None:
        super().__init__()
        self.status = status

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StatusChanged)


class ModelsListed(Message, bubble=False):
    """What a provider's /models offered (fetched off the UI loop)."""

    def __init__(self, provider: str, models: tuple[str, ...], error: str | None = None) -> None:
        super().__init__()
        self.provider = provider
        self.models = models
        self.error = error


class ProviderSwitched(Message, bubble=False):
    """An LLM/TTS/format switch finished; `error` is a one-line cause when it did not take."""

    def __init__(self, kind: str, spec: str, error: str | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.spec = spec
        self.error = error
