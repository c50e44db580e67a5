"""Latency statistics over many utterances: per-stage summaries, per-LLM-spec rollups and run comparison.

Conventions (part of the bench JSON interface):
- percentiles interpolate linearly between order statistics (numpy's default ``method="linear"``, which is
  ``statistics.quantiles(method="inclusive")``; the stdlib keeps numpy out of the console's process), so
  n=1 gives the value itself for every percentile and n=2 interpolates between the two values;
- ``stdev`` is the *sample* standard deviation (``ddof=1``); with a single value it is defined as ``0.0``
  rather than NaN so the JSON never holds NaN;
- ``None`` values (a stage that did not happen) are ignored; no values at all gives ``n=0`` and ``None``
  for every statistic.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nuanu_tui.core.timeline import STAGES, UtteranceResult

STAT_FIELDS = ("n", "mean", "p50", "p90", "p95", "min", "max", "stdev")


@dataclass(frozen=True, slots=True)
class StageStats:
    """Summary of one stage's latencies in milliseconds."""

    n: int
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    min: float | None = None
    max: float | None = None
    stdev: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {name: _round(getattr(self, name)) for name in STAT_FIELDS}


def _round(value: float | int | None) -> float | int | None:
    if value is None or isinstance(value, int):
        return value
    return round(float(value), 4)


def summarize(values: Iterable[float | None]) -> StageStats:
    """Statistics of the non-None values (see module docstring for the conventions)."""
    data = [float(v) for v in values if v is not None]
    n = len(data)
    if n == 0:
        return StageStats(n=0)
    if n == 1:
        p50 = p90 = p95 = data[0]
    else:
        # "inclusive" is linear interpolation between order statistics: numpy's default percentile method
        cuts = statistics.quantiles(data, n=100, method="inclusive")
        p50, p90, p95 = cuts[49], cuts[89], cuts[94]
    return StageStats(
        n=n,
        mean=statistics.fmean(data),
        p50=p50,
        p90=p90,
        p95=p95,
        min=min(data),
        max=max(data),
        stdev=statistics.stdev(data) if n > 1 else 0.0,
    )


@dataclass(frozen=True, slots=True)
class QualitySummary:
    """The rubric over a group of utterances: how many remarks were judged, how many had no flag, each
    flag's count (in the rubric's order), and the median length in words and audio seconds."""

    n: int
    clean: int
    flags: dict[str, int] = field(default_factory=dict)
    words_p50: float | None = None
    seconds_p50: float | None = None

    @property
    def clean_share(self) -> float | None:
        return self.clean / self.n if self.n else None

    def to_json(self) -> dict[str, Any]:
        share = self.clean_share
        return {
            "n": self.n,
            "clean": self.clean,
            "clean_share": None if share is None else round(share, 4),
            "flags": dict(self.flags),
            "words_p50": _round(self.words_p50),
            "seconds_p50": _round(self.seconds_p50),
        }


def summarize_quality(results: Iterable[UtteranceResult]) -> QualitySummary:
    """Rubric counts over the results that carry a verdict (a result with no text has none). A remark
    another LLM wrote (failover) is left out: it says nothing about the LLM this group is for."""
    from nuanu_tui.core.quality import FLAGS

    judged = [r.quality for r in results if r.quality is not None and r.served_by in (None, r.llm)]
    counts = Counter(flag for q in judged for flag in q.flags)
    return QualitySummary(
        n=len(judged),
        clean=sum(1 for q in judged if not q.flags),
        flags={flag: counts[flag] for flag in FLAGS if counts[flag]},
        words_p50=summarize(q.words for q in judged).p50,
        seconds_p50=summarize(q.seconds for q in judged).p50,
    )


@dataclass(slots=True)
class SpecSummary:
    """Rollup for one LLM spec.

    Stage statistics cover successful, non-degraded utterances only: a failed or fallback-served turn
    measures a different path, and mixing it in would make the spec look faster or slower than it is.
    Those turns are still counted in ``total``/``errors``/``degraded``.
    """

    spec: str
    stages: dict[str, StageStats]
    total: int
    ok: int
    errors: int
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    degraded: int = 0
    gap: StageStats | None = None  # silence between an interjection and its remark (instant reactions)
    quality: QualitySummary | None = None  # the rubric over every judged remark (failed ones included)

    @property
    def success_rate(self) -> float:
        return self.ok / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {stage: stats.to_json() for stage, stats in self.stages.items()}
        out.update(
            total=self.total,
            ok=self.ok,
            errors=self.errors,
            errors_by_kind=dict(self.errors_by_kind),
            degraded=self.degraded,
            success_rate=round(self.success_rate, 4),
        )
        if self.gap is not None and self.gap.n:
            out["gap_ms"] = self.gap.to_json()
        if self.quality is not None:
            out["quality"] = self.quality.to_json()
        return out


def summarize_runs(
    results: Sequence[UtteranceResult], key: Callable[[UtteranceResult], str] | None = None
) -> dict[str, SpecSummary]:
    """Per-LLM-spec summaries (or per `key(result)`, e.g. spec and network condition), in order of first
    appearance."""
    by_spec: dict[str, list[UtteranceResult]] = {}
    for result in results:
        by_spec.setdefault(key(result) if key else result.llm, []).append(result)
    summaries: dict[str, SpecSummary] = {}
    for spec, group in by_spec.items():
        clean = [r for r in group if r.ok and not r.degraded]
        failed = [r for r in group if not r.ok]
        kinds = Counter(r.error_kind or "unknown" for r in failed)
        summaries[spec] = SpecSummary(
            spec=spec,
            stages={stage: summarize(r.stages_ms.get(stage) for r in clean) for stage in STAGES},
            total=len(group),
            ok=len(group) - len(failed),
            errors=len(failed),
            errors_by_kind=dict(sorted(kinds.items())),
            degraded=sum(1 for r in group if r.ok and r.degraded),
            gap=summarize(r.gap_ms for r in clean),
            quality=summarize_quality(group),
        )
    return summaries


def _p50(summary: SpecSummary | Mapping[str, Any], stage: str) -> float | None:
    if isinstance(summary, SpecSummary):
        stats = summary.stages.get(stage)
        return None if stats is None else stats.p50
    stats_json = summary.get(stage)
    return None if not isinstance(stats_json, Mapping) else stats_json.get("p50")


@dataclass(frozen=True, slots=True)
class StageDelta:
    """How one stage's median moved between two runs: ``delta_ms = new - old``, ``ratio = new / old``."""

    old_p50: float | None
    new_p50: float | None
    delta_ms: float | None
    ratio: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "old_p50": _round(self.old_p50),
            "new_p50": _round(self.new_p50),
            "delta_ms": _round(self.delta_ms),
            "ratio": _round(self.ratio),
        }


def compare_runs(
    old_summary: Mapping[str, SpecSummary | Mapping[str, Any]],
    new_summary: Mapping[str, SpecSummary | Mapping[str, Any]],
) -> dict[str, dict[str, StageDelta]]:
    """Median deltas per spec and stage, for specs present in both runs.

    Accepts live `SpecSummary` objects or their JSON form (as stored in the database / bench JSON), so an
    old run loaded from disk can be compared with a fresh one.
    """
    out: dict[str, dict[str, StageDelta]] = {}
    for spec, new in new_summary.items():
        old = old_summary.get(spec)
        if old is None:
            continue
        deltas: dict[str, StageDelta] = {}
        for stage in STAGES:
            a, b = _p50(old, stage), _p50(new, stage)
            delta = None if a is None or b is None else b - a
            ratio = None if a is None or b is None or a == 0 else b / a
            deltas[stage] = StageDelta(a, b, delta, ratio)
        out[spec] = deltas
    return out
