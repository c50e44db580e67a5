"""Textual messages the bridge posts, and the plain view records they carry.

They do not bubble: the bridge posts each one to the screen that handles it.

Widgets only ever see these records, never engine objects: the bridge converts engine events into them,
so nothing outside the bridge modules needs to import `nuanu_tui.core`.
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
    compare_lanes: tuple[str, str] = ("groq/llama-3.1-8b-instant", "openai/gpt-4o-mini")
    trigger_sets: tuple[str, ...] = ("seed", "ride")
    # The emulated networks a --demo console can switch to: (name, RTT ms, jitter ms, loss %).
    net_profiles: tuple[tuple[str, float, float, float], ...] = ()
    prompts: tuple[str, ...] = ("default",)  # prompt files by name (shipped and the user's)
    prompt: str = "default"  # the one in use at start (NUANU_PROMPT / --prompt, else the lang's default)
    quality_flags: tuple[str, ...] = ()  # the rubric's flags, for the history filter


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
    mark: str | None = None  # "interrupted" or "dropped" (see UtteranceResult.mark)
    served_by: str | None = None  # who really spoke (final views only)
    voiced_by: tuple[str, ...] = ()
    degraded: bool = False
    interjection: str | None = None  # the instant reaction, once the utterance is done
    interjection_ms: float | None = None  # its length: the waterfall marks first_sound … its end
    gap_ms: float | None = None
    net_rtt_ms: dict[str, float | None] = field(default_factory=dict)  # at the start, {"llm", "tts"}
    net_split: dict[str, float] | None = (
        None  # TTFA split: network / provider / rest (core.timeline.split_ms)
    )
    prompt: str | None = None  # "NAME@VERSION" the remark was asked with (final views only)
    flags: tuple[str, ...] | None = None  # the quality rubric's flags; None: not judged (no text)

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
    unavailable: tuple[str, ...] = ()  # providers failing right now, probed in the background
    fallback_tts: str | None = None
    last_served_by: str | None = None
    last_degraded: bool = False
    audio_lost: str | None = None  # "DEVICE since HH:MM:SS: why" while the speaker is gone
    audio_back: str | None = None  # "since HH:MM:SS" once it works again
    audio_policy: str = "hold"  # while it is gone: hold remarks, or keep generating them unheard
    store_failed: int = 0  # writes to the database that failed this session
    store_error: str | None = None  # the last one's error
    net: str | None = None  # emulated network profile (demo)
    net_rtt: tuple[tuple[str, float | None], ...] = ()  # (provider, RTT ms), LLM first
    net_degraded: tuple[str, ...] = ()
    net_warn_ms: float = 200.0
    net_good_ms: float = 120.0
    telemetry_problem: str | None = None


class EngineReady(Message, bubble=False):
    """The engine is created and warm (or warmed with recorded failures)."""

    def __init__(self, status: StatusView, warm_errors: dict[str, str], *, restarted: bool = False) -> None:
        super().__init__()
        self.status = status
        self.warm_errors = warm_errors
        self.restarted = restarted  # back after the engine process died


class EngineFailed(Message, bubble=False):
    """The engine could not start, or died; the UI stays up and says why (and when it restarts)."""

    def __init__(self, message: str, *, restart_in: float | None = None) -> None:
        super().__init__()
        self.message = message
        self.restart_in = restart_in  # seconds until the next restart attempt; None: no restart


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


class AudioDevicesListed(Message, bubble=False):
    """The output devices the engine's PortAudio lists, as `device:NAME` specs for the picker."""

    def __init__(self, devices: tuple[str, ...]) -> None:
        super().__init__()
        self.devices = devices


class ProviderSwitched(Message, bubble=False):
    """An LLM/TTS/format switch finished; `error` is a one-line cause when it did not take."""

    def __init__(self, kind: str, spec: str, error: str | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.spec = spec
        self.error = error


# --- compare mode ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TallyView:
    """The compare score after a round: wins on TTFA, per-lane medians and B − A (delta, ratio)."""

    lanes: tuple[str, str]
    rounds: int = 0
    wins: tuple[int, int] = (0, 0)
    ties: int = 0
    void: int = 0
    errors: tuple[int, int] = (0, 0)
    degraded: tuple[int, int] = (0, 0)
    ttft_p50: tuple[float | None, float | None] = (None, None)
    ttfa_p50: tuple[float | None, float | None] = (None, None)
    ttft_diff: tuple[float | None, float | None] = (None, None)  # (b - a ms, b / a)
    ttfa_diff: tuple[float | None, float | None] = (None, None)


class RoundBegan(Message, bubble=False):
    """A compare round starts: both lanes are about to be released together (or one after the other)."""

    def __init__(
        self, round: int, trigger: str, lanes: tuple[str, str], order: tuple[int, int], sequential: bool
    ) -> None:
        super().__init__()
        self.round = round
        self.trigger = trigger
        self.lanes = lanes
        self.order = order
        self.sequential = sequential


class LaneHeard(Message, bubble=False):
    """`lane` got the speaker this round (the other lane played into the silent paced output)."""

    def __init__(self, round: int, lane: int) -> None:
        super().__init__()
        self.round = round
        self.lane = lane


class RoundDone(Message, bubble=False):
    def __init__(
        self,
        round: int,
        views: tuple[UtteranceView, UtteranceView],
        tally: TallyView,
        *,
        outcome: str,
        winner: int | None,
        audible: int | None,
        start_skew_ms: float,
    ) -> None:
        super().__init__()
        self.round = round
        self.views = views
        self.tally = tally
        self.outcome = outcome
        self.winner = winner
        self.audible = audible
        self.start_skew_ms = start_skew_ms


# --- bench mode -----------------------------------------------------------------------------------------
# A spec summary travels as the bench JSON shape: {stage: {n, mean, p50, p90, p95, min, max, stdev}, total,
# ok, errors, errors_by_kind, degraded, success_rate}; the same shape the store keeps for history.
Summary = dict[str, dict[str, object]]


class BenchStarted(Message, bubble=False):
    def __init__(self, total: int, llms: tuple[str, ...], triggers: str) -> None:
        super().__init__()
        self.total = total
        self.llms = llms
        self.triggers = triggers


class BenchStep(Message, bubble=False):
    """The next utterance is starting (snapshot payload: a newer one replaces a queued older one)."""

    def __init__(self, done: int, total: int, spec: str, trigger: str, warmup: bool) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.spec = spec
        self.trigger = trigger
        self.warmup = warmup

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BenchStep)


class BenchRunDone(Message, bubble=False):
    """One utterance of the benchmark finished; `summary` covers every counted run so far."""

    def __init__(self, done: int, total: int, view: UtteranceView, warmup: bool, summary: Summary) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.view = view
        self.warmup = warmup
        self.summary = summary


class BenchFinished(Message, bubble=False):
    """The run ended: `status` is done or cancelled (finished utterances are kept either way)."""

    def __init__(self, run_id: str, status: str, summary: Summary, runs: int, total: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.status = status
        self.summary = summary
        self.runs = runs
        self.total = total


@dataclass(frozen=True, slots=True)
class StageDeltaView:
    """One stage's median, an earlier run against this one: `delta_ms = new - old`, `ratio = new / old`."""

    old_p50: float | None
    new_p50: float | None
    delta_ms: float | None
    ratio: float | None
