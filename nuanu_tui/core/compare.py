"""Compare mode: one trigger on two LLM lanes at the same instant, one shared TTS, one lane heard.

Why it looks like this:
- both lanes start together (two tasks released by one gate, `queue=False` so the engine's utterance lock
  does not serialise them): they meet the same network and the same emulator/service load;
- only one lane is heard. The other plays into the engine's silent, real-time-paced player, so its
  `first_audio` is stamped exactly the same way (a writer thread handing samples to a paced sink);
- the heard lane is decided at the first audio byte (the pipeline asks for its player then): by default
  the first lane to get audio wins the speaker, or a fixed lane when the operator picked one;
- "sequential" runs the lanes one after the other, both heard, alternating which goes first, like the
  seed prototype did — useful to listen to both, useless for a same-conditions race.
The tally counts TTFA wins and keeps per-lane medians; every result is stored with `source="compare"` and
the round id as `run_id`. No textual here: a UI drives `CompareSession.run` and listens to the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from nuanu_tui.core.config import LLM_PRESETS, parse_llm_spec
from nuanu_tui.core.errors import ConfigError, NuanuError
from nuanu_tui.core.events import PipelineEvent, UtteranceStarted
from nuanu_tui.core.llm.prompts import clean_trigger
from nuanu_tui.core.quality import RemarkSession
from nuanu_tui.core.stats import StageStats, summarize
from nuanu_tui.core.timeline import STAGES, UtteranceResult

if TYPE_CHECKING:  # the console imports this module; the audio stack (numpy, miniaudio) lives in the engine's
    from nuanu_tui.core.audio.player import Player

COMPARE_SOURCE = "compare"
DEFAULT_OPENAI_LANE = "openai/gpt-4o-mini"
TIE_MS = 1.0  # TTFA differences below this are noise (timer and scheduling jitter), not a win
WIN_STAGE = "first_audio"  # TTFA, the headline

Outcome = Literal["win", "tie", "void"]


def default_lanes() -> tuple[str, str]:
    """The first Groq preset against GPT-4o-mini (the prototype's head-to-head)."""
    groq = next(spec for spec in LLM_PRESETS if spec.startswith("groq/"))
    return groq, DEFAULT_OPENAI_LANE


@dataclass(frozen=True, slots=True)
class CompareConfig:
    """`audible`: the lane index that is heard, or None for whichever lane gets audio first.
    `sequential`: lanes one after the other, both heard, order alternating per trigger."""

    lanes: tuple[str, str] = field(default_factory=default_lanes)
    audible: int | None = None
    sequential: bool = False
    tie_ms: float = TIE_MS
    # Per lane: an interjection before the remark. Off by default: a lane that reacts first takes the audible
    # output at its trigger, and its remark waits behind the interjection, which is not the LLM's doing.
    instant: tuple[bool, bool] = (False, False)
    # Per lane: the prompt file by name (None: the engine's current prompt), so prompts can race too.
    prompts: tuple[str | None, str | None] = (None, None)

    def validate(self) -> None:
        """Raise a one-line ConfigError before anything is spoken."""
        if len(self.lanes) != 2:
            raise ConfigError(f"compare needs exactly two LLM specs (got {len(self.lanes)})")
        for spec in self.lanes:
            parse_llm_spec(spec)
        if self.audible not in (None, 0, 1):
            raise ConfigError(f"compare audible lane must be 0, 1 or unset (got {self.audible!r})")
        if self.tie_ms < 0:
            raise ConfigError(f"compare tie margin must not be negative (got {self.tie_ms})")
        if len(self.prompts) != 2:
            raise ConfigError(f"compare needs a prompt (or None) per lane (got {len(self.prompts)})")


class CompareEngine(Protocol):
    """The slice of `Engine` compare mode needs (a fake engine can stand in for UI tests)."""

    player: Player

    def silent_player(self) -> Player: ...

    def llm(self, spec: str) -> Any: ...

    async def say(
        self,
        trigger: str,
        *,
        llm: str | None = None,
        on_event: Callable[[PipelineEvent], None] | None = None,
        source: str = "cli",
        run_id: str | None = None,
        player: Player | Callable[[], Player] | None = None,
        queue: bool = True,
        failover: bool = True,
        instant: bool | None = None,
        prompt: str | None = None,
        remarks: RemarkSession | None = None,
    ) -> UtteranceResult: ...


# --- events -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CompareStarted:
    """A round begins: clear both lanes. `order` is the start order (matters in sequential mode)."""

    round: int
    run_id: str
    trigger: str
    lanes: tuple[str, str]
    order: tuple[int, int]
    sequential: bool


@dataclass(frozen=True, slots=True)
class LaneEvent:
    """An engine event of one lane's utterance."""

    lane: int
    event: PipelineEvent
    round: int = 0


@dataclass(frozen=True, slots=True)
class LaneAudible:
    """`lane` got the speaker this round (parallel mode; emitted at that lane's first audio byte)."""

    round: int
    lane: int


@dataclass(frozen=True, slots=True)
class LaneDiff:
    """Lane B against lane A on one stage's median: `delta_ms = b - a`, `ratio = b / a`."""

    a_ms: float | None
    b_ms: float | None
    delta_ms: float | None
    ratio: float | None


def lane_clean(result: UtteranceResult) -> bool:
    """The lane measured its own provider end to end: no error, no failover or fallback, audio played."""
    return result.ok and not result.degraded and result.ttfa is not None


@dataclass(slots=True)
class Tally:
    """Running score: TTFA wins (a failed lane loses, near-equal TTFAs tie, both failed is void) and the
    per-lane samples of every stage from clean lanes, for medians and the B − A difference.

    A degraded lane (answered by a failover provider, or finished by the fallback voice) did not measure
    its own path, so it counts like a failed one: it loses, and its stages stay out of the medians — the
    same rule as the bench summaries (`stats.summarize_runs`)."""

    lanes: tuple[str, str]
    tie_ms: float = TIE_MS
    rounds: int = 0
    wins: list[int] = field(default_factory=lambda: [0, 0])
    ties: int = 0
    void: int = 0
    errors: list[int] = field(default_factory=lambda: [0, 0])
    degraded: list[int] = field(default_factory=lambda: [0, 0])
    samples: tuple[dict[str, list[float]], dict[str, list[float]]] = field(
        default_factory=lambda: ({s: [] for s in STAGES}, {s: [] for s in STAGES})
    )

    def add(self, results: tuple[UtteranceResult, UtteranceResult]) -> tuple[Outcome, int | None]:
        """Count one round; returns the outcome and the winning lane (None unless the outcome is a win)."""
        self.rounds += 1
        ttfa: list[float | None] = []
        for lane, result in enumerate(results):
            ok = lane_clean(result)
            ttfa.append(result.ttfa if ok else None)
            if not result.ok:
                self.errors[lane] += 1
            elif result.degraded:
                self.degraded[lane] += 1
            if ok:
                for stage in STAGES:
                    value = result.stages_ms.get(stage)
                    if value is not None:
                        self.samples[lane][stage].append(value)
        a, b = ttfa
        if a is None and b is None:
            self.void += 1
            return "void", None
        if a is not None and b is not None and abs(a - b) <= self.tie_ms:
            self.ties += 1
            return "tie", None
        winner = 0 if b is None or (a is not None and a < b) else 1
        self.wins[winner] += 1
        return "win", winner

    def stats(self, lane: int, stage: str = WIN_STAGE) -> StageStats:
        return summarize(self.samples[lane][stage])

    def median(self, lane: int, stage: str = WIN_STAGE) -> float | None:
        return self.stats(lane, stage).p50

    def diff(self, stage: str = WIN_STAGE) -> LaneDiff:
        """Lane 1 minus lane 0 on the medians of `stage`."""
        a, b = self.median(0, stage), self.median(1, stage)
        delta = None if a is None or b is None else b - a
        ratio = None if a is None or b is None or a == 0 else b / a
        return LaneDiff(a, b, delta, ratio)

    def copy(self) -> Tally:
        """An independent snapshot (events carry one, so a UI thread never sees it change under it)."""
        return Tally(
            lanes=self.lanes,
            tie_ms=self.tie_ms,
            rounds=self.rounds,
            wins=list(self.wins),
            ties=self.ties,
            void=self.void,
            errors=list(self.errors),
            degraded=list(self.degraded),
            samples=(
                {s: list(v) for s, v in self.samples[0].items()},
                {s: list(v) for s, v in self.samples[1].items()},
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "lanes": list(self.lanes),
            "rounds": self.rounds,
            "wins": list(self.wins),
            "ties": self.ties,
            "void": self.void,
            "errors": list(self.errors),
            "degraded": list(self.degraded),
            "median_ms": {
                stage: [self.median(0, stage), self.median(1, stage)] for stage in ("ttft", WIN_STAGE)
            },
            "diff": {
                stage: {"b_minus_a_ms": d.delta_ms, "ratio": d.ratio}
                for stage in ("ttft", WIN_STAGE)
                for d in (self.diff(stage),)
            },
        }


@dataclass(frozen=True, slots=True)
class CompareRound:
    """One trigger on both lanes. Indexes are lane indexes: `results[1]` is lane 1 whatever the order.

    `t0_ns` is each lane's pipeline start (perf_counter_ns taken when its `UtteranceStarted` is emitted,
    a few microseconds after the pipeline's own t0); `call_ns` just before `engine.say` was called;
    `end_ns` when `say` returned. `start_skew_ms` = |t0 lane 1 − t0 lane 0|. `audible` is the heard
    lane (None in sequential mode, where both are heard, or when neither produced audio).
    """

    round: int
    run_id: str
    trigger: str
    lanes: tuple[str, str]
    results: tuple[UtteranceResult, UtteranceResult]
    order: tuple[int, int]
    sequential: bool
    audible: int | None
    call_ns: tuple[int, int]
    t0_ns: tuple[int, int]
    end_ns: tuple[int, int]
    outcome: Outcome
    winner: int | None

    @property
    def start_skew_ms(self) -> float:
        return abs(self.t0_ns[1] - self.t0_ns[0]) / 1e6

    @property
    def call_skew_ms(self) -> float:
        return abs(self.call_ns[1] - self.call_ns[0]) / 1e6


@dataclass(frozen=True, slots=True)
class CompareFinished:
    round: int
    results: tuple[UtteranceResult, UtteranceResult]
    tally: Tally  # a snapshot taken after this round was counted
    start_skew_ms: float
    outcome: Outcome = "void"
    winner: int | None = None
    audible: int | None = None


CompareEvent = CompareStarted | LaneEvent | LaneAudible | CompareFinished


class AudioClaim:
    """Hands out outputs at each lane's first audio byte: the heard lane gets the engine's player, the
    other the silent paced one. Lock-free on purpose: the pipeline calls it on the event loop, so the
    check-and-set below cannot interleave with another lane's."""

    def __init__(
        self,
        main: Player,
        silent: Callable[[], Player],
        fixed: int | None = None,
        on_claim: Callable[[int], None] | None = None,
    ) -> None:
        self._main = main
        self._silent = silent
        self._fixed = fixed
        self._on_claim = on_claim
        self.lane: int | None = None  # the lane that got the main player

    def for_lane(self, lane: int) -> Callable[[], Player]:
        def pick() -> Player:
            heard = lane == self._fixed if self._fixed is not None else self.lane is None
            if heard:
                self.lane = lane
                player = self._main
                if self._on_claim is not None:
                    self._on_claim(lane)
            else:
                player = self._silent()
            return player

        return pick


class CompareSession:
    """Runs compare rounds on one engine and keeps the tally. Rounds never overlap (a second `run`
    waits). `on_event` is called on the engine's event loop: a UI posts from there to its own thread."""

    def __init__(self, engine: CompareEngine, config: CompareConfig | None = None) -> None:
        self.engine = engine
        self.config = config or CompareConfig()
        self.config.validate()
        self.tally = Tally(self.config.lanes, tie_ms=self.config.tie_ms)
        self.rounds: list[CompareRound] = []
        self.remarks = (RemarkSession(), RemarkSession())  # each lane is a session for the rubric's `repeats`
        self._lock = asyncio.Lock()
        self._warmed: set[str] = set()
        self._sequential_rounds = 0
        self._tasks: list[asyncio.Task[UtteranceResult]] = []
        self._players: list[Player] = []
        self._interrupted = False

    def configure(self, config: CompareConfig) -> None:
        """Change lanes / audible lane / mode for the next round. New lanes start a new tally."""
        config.validate()
        if (config.lanes, config.prompts, config.tie_ms) != (
            self.config.lanes,
            self.config.prompts,
            self.config.tie_ms,
        ):
            self.reset(config)
        self.config = config

    def reset(self, config: CompareConfig | None = None) -> None:
        """Forget the score (the rounds list too); the engine's own records are untouched."""
        config = config or self.config
        self.tally = Tally(config.lanes, tie_ms=config.tie_ms)
        self.rounds = []
        self.remarks = (RemarkSession(), RemarkSession())
        self._sequential_rounds = 0

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def warm(self) -> None:
        """Warm both lanes' LLM connections, so the first round is not a race of cold starts."""
        specs = [spec for spec in dict.fromkeys(self.config.lanes) if spec not in self._warmed]

        async def one(spec: str) -> None:
            self._warmed.add(spec)
            with contextlib.suppress(NuanuError):  # a bad lane shows up as that lane's error instead
                await self.engine.llm(spec).warm()

        await asyncio.gather(*(one(spec) for spec in specs))

    def interrupt(self) -> None:
        """Stop the running round: cancel both lanes and silence their outputs. `run` then raises
        NuanuError('cancelled') and the round is not counted."""
        if not self._tasks:
            return
        self._interrupted = True
        for task in self._tasks:
            task.cancel()
        for player in {id(p): p for p in self._players}.values():
            player.interrupt()

    async def run(self, trigger: str, on_event: Callable[[CompareEvent], None] | None = None) -> CompareRound:
        """One trigger on both lanes; returns the round (also appended to `rounds`, counted in `tally`).
        Provider faults are lane errors, not exceptions; raises NuanuError for an empty trigger or an
        interrupt."""
        text, _ = clean_trigger(trigger)
        if not text:
            raise NuanuError("input", "empty trigger: type what the camera sees")
        async with self._lock:
            await self.warm()
            return await self._run(trigger, on_event or _ignore)

    async def _run(self, trigger: str, emit: Callable[[CompareEvent], None]) -> CompareRound:
        config = self.config
        number = len(self.rounds) + 1
        run_id = f"cmp-{uuid.uuid4().hex[:12]}"
        order = (0, 1)
        if config.sequential:
            if self._sequential_rounds % 2:
                order = (1, 0)
            self._sequential_rounds += 1
        emit(CompareStarted(number, run_id, trigger, config.lanes, order, config.sequential))

        call_ns = [0, 0]
        t0_ns = [0, 0]
        end_ns = [0, 0]

        def lane_events(lane: int) -> Callable[[PipelineEvent], None]:
            def forward(event: PipelineEvent) -> None:
                if isinstance(event, UtteranceStarted) and not t0_ns[lane]:
                    t0_ns[lane] = time.perf_counter_ns()
                emit(LaneEvent(lane, event, number))

            return forward

        async def lane_task(
            lane: int, player: Callable[[], Player] | None, gate: asyncio.Event | None
        ) -> UtteranceResult:
            if gate is not None:
                await gate.wait()
            call_ns[lane] = time.perf_counter_ns()
            try:
                return await self.engine.say(
                    trigger,
                    llm=config.lanes[lane],
                    on_event=lane_events(lane),
                    source=COMPARE_SOURCE,
                    run_id=run_id,
                    player=player,
                    queue=False,
                    failover=False,  # a lane must be answered by its own provider, or lose
                    instant=config.instant[lane],
                    prompt=config.prompts[lane],
                    remarks=self.remarks[lane],
                )
            finally:
                end_ns[lane] = time.perf_counter_ns()

        results: list[UtteranceResult | None] = [None, None]
        claim: AudioClaim | None = None
        self._interrupted = False
        self._players = [self.engine.player]
        try:
            if config.sequential:
                for lane in order:
                    task = asyncio.create_task(lane_task(lane, None, None), name=f"compare-lane{lane}")
                    self._tasks = [task]
                    results[lane] = await task
            else:
                claim = AudioClaim(
                    self.engine.player,
                    self._silent,
                    config.audible,
                    on_claim=lambda lane: emit(LaneAudible(number, lane)),
                )
                gate = asyncio.Event()
                self._tasks = [
                    asyncio.create_task(
                        lane_task(lane, claim.for_lane(lane), gate), name=f"compare-lane{lane}"
                    )
                    for lane in (0, 1)
                ]
                gate.set()  # both tasks exist and wait on the same gate: released in the same loop turn
                done = await asyncio.gather(*self._tasks)
                results = list(done)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._interrupted and current is not None and not current.cancelling():
                raise NuanuError("cancelled", "compare round interrupted by the operator") from None
            raise
        finally:
            for task in self._tasks:
                if not task.done():
                    task.cancel()
            for task in self._tasks:
                with contextlib.suppress(BaseException):
                    await task
            self._tasks = []
            self._players = []

        pair = (results[0], results[1])
        assert pair[0] is not None and pair[1] is not None
        outcome, winner = self.tally.add(pair)  # type: ignore[arg-type]
        audible = None if config.sequential or claim is None else claim.lane
        round_ = CompareRound(
            round=number,
            run_id=run_id,
            trigger=trigger,
            lanes=config.lanes,
            results=pair,  # type: ignore[arg-type]
            order=order,
            sequential=config.sequential,
            audible=audible,
            call_ns=(call_ns[0], call_ns[1]),
            t0_ns=(t0_ns[0], t0_ns[1]),
            end_ns=(end_ns[0], end_ns[1]),
            outcome=outcome,
            winner=winner,
        )
        self.rounds.append(round_)
        emit(
            CompareFinished(
                number,
                round_.results,
                self.tally.copy(),
                round_.start_skew_ms,
                outcome=outcome,
                winner=winner,
                audible=audible,
            )
        )
        return round_

    def _silent(self) -> Player:
        player = self.engine.silent_player()
        self._players.append(player)
        return player


def _ignore(_: CompareEvent) -> None:
    return None
