"""Headless benchmark: many utterances per LLM spec, interleaved fairly, summarised and stored as they land.

Fairness rules (why the loop looks like this):
- one warm-up utterance per spec first, not counted: the first turn pays for connection set-up and would
  otherwise skew whichever spec happens to go first;
- specs alternate in ABBA order (A B, B A, A B, ...) round by round, so slow drift of the network or the
  machine hits every spec equally; within a round every spec gets the same trigger (a paired comparison);
- each finished utterance goes to the store at once (with the run id), so a crash or a cancel keeps it.
An utterance interrupted by a cancel is dropped: its stages are incomplete and would lie about latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from nuanu_tui.core.config import parse_llm_spec
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.events import PipelineEvent
from nuanu_tui.core.quality import RemarkSession
from nuanu_tui.core.stats import QualitySummary, SpecSummary, summarize_quality, summarize_runs
from nuanu_tui.core.store import Store
from nuanu_tui.core.store_rows import result_json
from nuanu_tui.core.timeline import STAGE_LABELS, STAGES, UtteranceResult

BENCH_SOURCE = "bench"
WARMUP_SOURCE = "bench-warmup"


class SaysThings(Protocol):
    """The slice of `Engine` the bench needs."""

    async def say(
        self,
        trigger: str,
        *,
        llm: str | None = None,
        on_event: Callable[[PipelineEvent], None] | None = None,
        source: str = "cli",
        run_id: str | None = None,
        prompt: str | None = None,
        remarks: RemarkSession | None = None,
    ) -> UtteranceResult: ...


@dataclass(slots=True)
class BenchConfig:
    """`prompts` (names) are crossed with `llms`: each pair is a configuration of its own, summarised
    apart. Empty: the engine's prompt for every LLM, and the summary is keyed by LLM spec alone."""

    llms: list[str]
    triggers: list[str]
    runs: int  # counted utterances per configuration (LLM spec × prompt)
    pause_s: float = 0.0  # between consecutive utterances
    warmup: bool = True
    tts: str = ""  # recorded for the report; the engine's TTS is what is used
    label: str = ""
    prompts: list[str] = field(default_factory=list)

    def validate(self) -> None:
        """Raise a one-line config error before anything is spoken."""
        if not self.llms:
            raise NuanuError("config", "bench needs at least one --llm spec")
        for spec in self.llms:
            parse_llm_spec(spec)
        if len(set(self.llms)) != len(self.llms):
            raise NuanuError("config", "bench --llm specs must be different (each is summarised on its own)")
        if len(set(self.prompts)) != len(self.prompts):
            raise NuanuError(
                "config", "bench --prompt names must be different (each is summarised on its own)"
            )
        if not self.triggers or not all(t.strip() for t in self.triggers):
            raise NuanuError("config", "bench needs a non-empty trigger list without blank triggers")
        if self.runs < 1:
            raise NuanuError("config", f"bench --runs must be at least 1 (got {self.runs})")
        if self.pause_s < 0:
            raise NuanuError("config", f"bench pause must not be negative (got {self.pause_s})")

    @property
    def configs(self) -> list[tuple[str, str | None]]:
        """(LLM spec, prompt name or None) for every configuration, LLM-major."""
        return [(spec, prompt) for spec in self.llms for prompt in (self.prompts or [None])]

    @property
    def total(self) -> int:
        return self.runs * len(self.configs)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class BenchProgress:
    """Sent before each utterance (`current` is None) and after it (`current` is its result)."""

    done: int  # counted utterances finished so far
    total: int
    current: UtteranceResult | None
    spec: str
    trigger: str
    warmup: bool = False
    prompt: str | None = None  # the prompt name asked for (None: the engine's)


@dataclass(frozen=True, slots=True)
class Slot:
    """One planned utterance: which round, which spec (and prompt), which trigger."""

    round: int
    spec: str
    trigger: str
    prompt: str | None = None


def schedule(llms: list[str], triggers: list[str], runs: int, prompts: list[str] | None = None) -> list[Slot]:
    """ABBA interleaving over the configurations (LLM × prompt): even rounds in the given order, odd rounds
    reversed; triggers cycle per round, so every configuration gets the same trigger in a round."""
    configs = [(spec, prompt) for spec in llms for prompt in (prompts or [None])]
    slots: list[Slot] = []
    for rnd in range(runs):
        order = configs if rnd % 2 == 0 else list(reversed(configs))
        trigger = triggers[rnd % len(triggers)]
        slots.extend(Slot(rnd, spec, trigger, prompt) for spec, prompt in order)
    return slots


def config_key(spec: str, prompt_label: str | None) -> str:
    """A configuration's name in summaries: the LLM spec, and the prompt when prompts are compared."""
    return spec if prompt_label is None else f"{spec} · {prompt_label}"


@dataclass(slots=True)
class BenchResult:
    run_id: str
    config: BenchConfig
    runs: list[UtteranceResult] = field(default_factory=list)
    warmups: list[UtteranceResult] = field(default_factory=list)
    summary: dict[str, SpecSummary] = field(default_factory=dict)  # by configuration (config_key)
    keys: list[str] = field(default_factory=list)  # each counted run's configuration, parallel to `runs`
    quality_by_prompt: dict[str, QualitySummary] = field(default_factory=dict)  # when prompts are compared
    status: str = "running"  # running | done | cancelled
    started_at: float = 0.0  # wall clock
    finished_at: float | None = None
    session_id: str | None = None

    def round_of(self, index: int) -> int:
        return index // len(self.config.llms)

    def to_json(self) -> dict[str, Any]:
        """The `bench --json` file: config, every counted run (the `say` shape plus metadata), summary."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "label": self.config.label,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "config": self.config.to_json(),
            "runs": [result_json(r, run_index=i, round=self.round_of(i)) for i, r in enumerate(self.runs)],
            "warmups": [result_json(r) for r in self.warmups],
            "summary": {spec: s.to_json() for spec, s in self.summary.items()},
            "quality_by_llm": {
                spec: summarize_quality(r for r in self.runs if r.llm == spec).to_json()
                for spec in self.config.llms
            },
            "quality_by_prompt": {label: q.to_json() for label, q in self.quality_by_prompt.items()},
        }

    def write_csv(self, path: str | os.PathLike[str]) -> int:
        """One row per counted run with every stage in ms. Returns the number of rows."""
        columns = [
            "run_index",
            "round",
            "utterance_id",
            "llm",
            "tts",
            "trigger",
            "ok",
            "error_kind",
            "error",
            *(f"{stage}_ms" for stage in STAGES),
            "ws_reused",
            "offline",
            "simulated",
            "served_by",
            "voiced_by",
            "degraded",
            "filtered",
            "tokens",
            "chars",
            "audio_seconds",
            "interjection",
            "gap_ms",
            "text",
            "net_rtt_llm_ms",
            "net_rtt_tts_ms",
            "prompt",
            *(f"quality_{name}" for name in QUALITY_COLUMNS),
        ]
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            for i, r in enumerate(self.runs):
                writer.writerow(
                    [
                        i,
                        self.round_of(i),
                        r.utterance_id,
                        r.llm,
                        r.tts,
                        r.trigger,
                        r.ok,
                        r.error_kind or "",
                        r.error or "",
                        *("" if r.stages_ms.get(stage) is None else r.stages_ms[stage] for stage in STAGES),
                        "" if r.ws_reused is None else r.ws_reused,
                        r.offline,
                        r.simulated,
                        r.served_by or "",
                        " ".join(r.voiced_by),
                        r.degraded,
                        r.filtered,
                        r.tokens,
                        r.chars,
                        r.audio_seconds,
                        r.interjection or "",
                        "" if r.gap_ms is None else r.gap_ms,
                        r.text,
                        *("" if r.net_rtt_ms.get(k) is None else r.net_rtt_ms[k] for k in ("llm", "tts")),
                        r.prompt or "",
                        *_quality_cells(r),
                    ]
                )
        return len(self.runs)


QUALITY_COLUMNS = ("words", "sentences", "seconds", "latin_words", "on_topic", "complete", "repeats", "flags")


def _quality_cells(result: UtteranceResult) -> list[Any]:
    """The rubric in CSV cells: empty when there was no remark to judge; flags space-separated."""
    if result.quality is None:
        return [""] * len(QUALITY_COLUMNS)
    js = result.quality.to_json()
    return ["" if js[k] is None else " ".join(js[k]) if k == "flags" else js[k] for k in QUALITY_COLUMNS]


def _failed(
    trigger: str, spec: str, tts: str, source: str, run_id: str | None, exc: Exception
) -> UtteranceResult:
    """A failed result for an engine that raised instead of reporting: the bench keeps going."""
    result = UtteranceResult(trigger=trigger, llm=spec, tts=tts, source=source, run_id=run_id)
    if isinstance(exc, NuanuError):
        result.error, result.error_kind = exc.message, exc.kind
    else:
        result.error, result.error_kind = " ".join(f"{type(exc).__name__}: {exc}".split()), "internal"
    return result


async def _say(
    engine: SaysThings,
    slot: Slot,
    *,
    tts: str,
    source: str,
    run_id: str | None,
    on_event: Callable[[PipelineEvent], None] | None,
    cancel: asyncio.Event,
    remarks: RemarkSession,
) -> UtteranceResult | None:
    """One utterance, raced against `cancel`. None when cancelled before it finished."""
    task = asyncio.ensure_future(
        engine.say(
            slot.trigger,
            llm=slot.spec,
            on_event=on_event,
            source=source,
            run_id=run_id,
            prompt=slot.prompt,
            remarks=remarks,
        )
    )
    stop = asyncio.ensure_future(cancel.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        stop.cancel()
        await _abort(engine, task)
        raise
    stop.cancel()
    if not task.done():
        await _abort(engine, task)
        return None
    if task.cancelled():
        return None
    exc = task.exception()
    if exc is not None:
        if not isinstance(exc, Exception):
            raise exc
        return _failed(slot.trigger, slot.spec, tts, source, run_id, exc)
    return task.result()


async def _abort(engine: SaysThings, task: asyncio.Future[UtteranceResult]) -> None:
    """Stop the audio (when the engine can) and cancel the utterance, waiting for it to unwind."""
    interrupt = getattr(engine, "interrupt", None)
    if callable(interrupt):
        with contextlib.suppress(Exception):
            interrupt()
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


async def _pause(seconds: float, cancel: asyncio.Event) -> None:
    if seconds > 0:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await cancel.wait()


async def run_bench(
    engine: SaysThings,
    config: BenchConfig,
    *,
    on_progress: Callable[[BenchProgress], None] | None = None,
    on_event: Callable[[PipelineEvent], None] | None = None,
    cancel: asyncio.Event | None = None,
    store: Store | None = None,
    session_id: str | None = None,
) -> BenchResult:
    """Run the benchmark. Setting `cancel` stops it at once, keeping every finished utterance.

    With a `store`, a bench session is started unless `session_id` is given; warm-ups are stored with the
    session (source `bench-warmup`) but without the run id, so run queries hold counted utterances only.
    """
    config.validate()
    # Labels ("NAME@VERSION") up front: an unknown prompt name raises here, before a run is stored or spoken.
    label_of = getattr(engine, "prompt_label", None)
    labels = {p: label_of(p) if callable(label_of) else p for p in config.prompts}
    cancel = cancel if cancel is not None else asyncio.Event()
    result = BenchResult(run_id=uuid.uuid4().hex, config=config, started_at=time.time())
    if store is not None:
        if session_id is None:
            session_id = store.start_session("bench", config.label)
        store.start_bench_run(config.to_json(), session_id=session_id, run_id=result.run_id)
    result.session_id = session_id
    total = config.total
    first = True
    # Each configuration is a session of its own for the rubric's `repeats` (as a compare lane is): within
    # a round every configuration gets the same trigger, so one shared memory would call the second
    # configuration's remark a repeat of the first's. Warm-ups remember nothing.
    sessions = {(spec, prompt): RemarkSession() for spec, prompt in config.configs}

    def key(slot: Slot) -> str:
        return config_key(slot.spec, labels.get(slot.prompt))  # no prompts compared: the spec alone

    def progress(done: int, current: UtteranceResult | None, slot: Slot, warmup: bool = False) -> None:
        if on_progress is not None:
            on_progress(BenchProgress(done, total, current, slot.spec, slot.trigger, warmup, slot.prompt))

    async def one(slot: Slot, *, warmup: bool) -> UtteranceResult | None:
        nonlocal first
        if not first:
            await _pause(config.pause_s, cancel)
        first = False
        if cancel.is_set():
            return None
        progress(len(result.runs), None, slot, warmup)
        said = await _say(
            engine,
            slot,
            tts=config.tts,
            source=WARMUP_SOURCE if warmup else BENCH_SOURCE,
            run_id=None if warmup else result.run_id,
            on_event=on_event,
            cancel=cancel,
            remarks=RemarkSession() if warmup else sessions[(slot.spec, slot.prompt)],
        )
        if said is None:
            return None
        if warmup:
            result.warmups.append(said)
        else:
            result.runs.append(said)
            result.keys.append(key(slot))
        if store is not None:
            store.record(said, session_id, None if warmup else result.run_id)
        progress(len(result.runs), said, slot, warmup)
        return said

    try:
        if config.warmup:  # one per LLM: warming connects the provider, whichever prompt it is asked with
            for spec in config.llms:
                prompt = config.prompts[0] if config.prompts else None
                if await one(Slot(-1, spec, config.triggers[0], prompt), warmup=True) is None:
                    break
        if not cancel.is_set():
            for slot in schedule(config.llms, config.triggers, config.runs, config.prompts):
                if await one(slot, warmup=False) is None:
                    break
        status = "cancelled" if cancel.is_set() else "done"
    except asyncio.CancelledError:
        _finish(result, "cancelled", store)
        raise
    _finish(result, status, store)
    return result


def _finish(result: BenchResult, status: str, store: Store | None) -> None:
    result.status = status
    result.finished_at = time.time()
    keys = dict(zip(map(id, result.runs), result.keys, strict=True))
    result.summary = summarize_runs(result.runs, key=lambda r: keys[id(r)])
    if result.config.prompts:
        by_prompt: dict[str, list[UtteranceResult]] = {}
        for run, name in zip(result.runs, result.keys, strict=True):
            by_prompt.setdefault(name.rpartition(" · ")[2], []).append(run)
        result.quality_by_prompt = {label: summarize_quality(runs) for label, runs in by_prompt.items()}
    if store is not None:
        summary = {spec: s.to_json() for spec, s in result.summary.items()}
        store.finish_bench_run(result.run_id, summary, status)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def quality_cells(js: Mapping[str, Any]) -> tuple[str, str, str]:
    """(clean share, median words, median seconds) of a summary's `quality`, as the tables show them."""
    q = js.get("quality") or {}
    share = q.get("clean_share")
    clean = "—" if share is None else f"{100.0 * share:.0f}%"
    words = "—" if q.get("words_p50") is None else f"{q['words_p50']:g}"
    seconds = "—" if q.get("seconds_p50") is None else f"{q['seconds_p50']:.1f}"
    return clean, words, seconds


def quality_line(js: Mapping[str, Any]) -> str | None:
    """ "7/10 clean (70%); flags: off_topic×3, cut_off×1" for a summary's `quality` (None: nothing judged)."""
    q = js.get("quality") or {}
    if not q.get("n"):
        return None
    line = f"{q['clean']}/{q['n']} clean ({100.0 * q['clean'] / q['n']:.0f}%)"
    flags = q.get("flags") or {}
    return line + ("; flags: " + ", ".join(f"{k}×{n}" for k, n in flags.items()) if flags else "")


def format_overview(summary: Mapping[str, SpecSummary | Mapping[str, Any]]) -> str:
    """One row per configuration: TTFA beside the rubric (share of clean remarks, median words and seconds)."""
    rows = [("configuration", "ok", "TTFA p50", "TTFA p90", "clean", "words", "sec")]
    for spec, item in summary.items():
        js = item.to_json() if isinstance(item, SpecSummary) else dict(item)
        ttfa = js.get("first_audio") or {}
        total = js.get("total", js.get("ok", 0) + js.get("errors", 0))
        rows.append(
            (
                spec,
                f"{js.get('ok', 0)}/{total}",
                _fmt(ttfa.get("p50")),
                _fmt(ttfa.get("p90")),
                *quality_cells(js),
            )
        )
    width = max(len(r[0]) for r in rows)
    return "\n".join(
        f"{r[0]:<{width}}  {r[1]:>7} {r[2]:>9} {r[3]:>9} {r[4]:>6} {r[5]:>6} {r[6]:>5}".rstrip() for r in rows
    )


def format_table(summary: Mapping[str, SpecSummary | Mapping[str, Any]]) -> str:
    """Plain-text report: an overview (TTFA and quality per configuration), then per configuration a success
    line, the rubric's flags, and p50/p90/mean per stage in ms.

    Takes live summaries or their JSON form (e.g. a stored bench run), so history can print it too.
    """
    if not summary:
        return "no runs"
    blocks: list[str] = [format_overview(summary)]
    width = max(len(STAGE_LABELS[s]) for s in STAGES) + len(" (TTFA)")
    for spec, item in summary.items():
        js = item.to_json() if isinstance(item, SpecSummary) else dict(item)
        total, ok = js.get("total", js.get("ok", 0) + js.get("errors", 0)), js.get("ok", 0)
        rate = f"{100.0 * ok / total:.1f}%" if total else "—"
        head = f"{spec}  ok {ok}/{total} ({rate})"
        kinds = js.get("errors_by_kind") or {}
        if kinds:
            head += "  errors: " + ", ".join(f"{k}×{n}" for k, n in kinds.items())
        if js.get("degraded"):
            head += f"  degraded: {js['degraded']} (not in stats)"
        lines = [head]
        quality = quality_line(js)
        if quality is not None:
            lines.append(f"  quality: {quality}")
        lines.append(f"  {'stage':<{width}} {'n':>4} {'p50 ms':>9} {'p90 ms':>9} {'mean ms':>9}")
        for stage in STAGES:
            st = js.get(stage) or {}
            label = STAGE_LABELS[stage] + (" (TTFA)" if stage == "first_audio" else "")
            lines.append(
                f"  {label:<{width}} {st.get('n', 0):>4} {_fmt(st.get('p50')):>9} {_fmt(st.get('p90')):>9}"
                f" {_fmt(st.get('mean')):>9}"
            )
        gap = js.get("gap_ms")
        if gap:  # instant reactions: the pause the listener hears between the interjection and the remark
            lines.append(
                f"  {'interjection gap':<{width}} {gap.get('n', 0):>4} {_fmt(gap.get('p50')):>9}"
                f" {_fmt(gap.get('p90')):>9} {_fmt(gap.get('mean')):>9}"
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
