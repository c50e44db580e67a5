"""Statistics match a numpy reference and follow the documented conventions."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pytest

from nuanu_tui.core.stats import STAT_FIELDS, SpecSummary, compare_runs, summarize, summarize_runs
from nuanu_tui.core.timeline import STAGES, UtteranceResult

DATA = [612.5, 380.25, 401.0, 1380.0, 455.5, 390.75, 398.0, 2210.125, 420.0, 377.5, 405.25]


def test_summarize_matches_numpy_reference() -> None:
    s = summarize(DATA)
    arr = np.array(DATA)
    assert s.n == len(DATA)
    assert s.mean == pytest.approx(arr.mean())
    assert s.p50 == pytest.approx(np.percentile(arr, 50))
    assert s.p90 == pytest.approx(np.percentile(arr, 90))
    assert s.p95 == pytest.approx(np.percentile(arr, 95))
    assert s.min == 377.5
    assert s.max == 2210.125
    assert s.stdev == pytest.approx(statistics.stdev(DATA))  # sample stdev, ddof=1
    # hand-checked values so a change of percentile method is caught even if numpy's default changed
    assert s.p50 == 405.25
    assert s.p90 == pytest.approx(1380.0)
    assert s.p95 == pytest.approx(1380.0 + 0.5 * (2210.125 - 1380.0))


def test_summarize_ignores_none() -> None:
    s = summarize([None, 10.0, None, 30.0, 20.0, None])
    assert s.n == 3
    assert s.p50 == 20.0
    assert s.mean == pytest.approx(20.0)
    assert s.stdev == pytest.approx(10.0)


def test_summarize_empty_and_all_none() -> None:
    for values in ([], [None, None]):
        s = summarize(values)
        assert s.n == 0
        assert all(getattr(s, name) is None for name in STAT_FIELDS if name != "n")
        assert s.to_json() == {"n": 0, **{k: None for k in STAT_FIELDS if k != "n"}}


def test_summarize_single_value() -> None:
    s = summarize([None, 607.0])
    assert (s.n, s.mean, s.p50, s.p90, s.p95, s.min, s.max) == (1, 607.0, 607.0, 607.0, 607.0, 607.0, 607.0)
    assert s.stdev == 0.0


def test_summarize_two_values_interpolates_linearly() -> None:
    s = summarize([100.0, 200.0])
    assert s.p50 == pytest.approx(150.0)
    assert s.p90 == pytest.approx(190.0)
    assert s.p95 == pytest.approx(195.0)
    assert s.stdev == pytest.approx(np.std([100.0, 200.0], ddof=1))


def _result(
    llm: str, ttfa: float | None, *, error_kind: str | None = None, degraded: bool = False
) -> UtteranceResult:
    r = UtteranceResult(trigger="t", llm=llm, tts="espeak")
    r.stages_ms = dict.fromkeys(STAGES)
    if ttfa is not None:
        r.stages_ms["ttft"] = ttfa / 2
        r.stages_ms["first_audio"] = ttfa
    if error_kind:
        r.error, r.error_kind = f"{error_kind} failed", error_kind
    r.degraded = degraded
    return r


def test_summarize_runs_groups_by_spec_and_counts_errors() -> None:
    results = [
        _result("groq/a", 600.0),
        _result("openai/b", 1400.0),
        _result("groq/a", 620.0),
        _result("openai/b", None, error_kind="timeout"),
        _result("groq/a", 640.0),
        _result("openai/b", 300.0, error_kind="network"),  # failed turn: latencies excluded
        _result("openai/b", None, error_kind="timeout"),
        _result("groq/a", 50.0, degraded=True),  # served by a fallback: counted ok, excluded from stats
    ]
    out = summarize_runs(results)
    assert list(out) == ["groq/a", "openai/b"]
    groq, gpt = out["groq/a"], out["openai/b"]
    assert (groq.total, groq.ok, groq.errors, groq.degraded) == (4, 4, 0, 1)
    assert groq.stages["first_audio"].n == 3
    assert groq.stages["first_audio"].p50 == 620.0
    assert groq.stages["ttft"].p50 == 310.0
    assert groq.stages["playback_done"].n == 0
    assert set(groq.stages) == set(STAGES)
    assert (gpt.total, gpt.ok, gpt.errors) == (4, 1, 3)
    assert gpt.errors_by_kind == {"network": 1, "timeout": 2}
    assert gpt.success_rate == pytest.approx(0.25)
    assert gpt.stages["first_audio"].n == 1
    assert gpt.stages["first_audio"].p50 == 1400.0


def test_spec_summary_json_shape() -> None:
    js = summarize_runs([_result("groq/a", 600.0), _result("groq/a", None, error_kind="auth")])[
        "groq/a"
    ].to_json()
    json.dumps(js, allow_nan=False)
    for stage in STAGES:
        assert set(js[stage]) == set(STAT_FIELDS)
    assert js["ok"] == 1
    assert js["errors"] == 1
    assert js["errors_by_kind"] == {"auth": 1}
    assert js["success_rate"] == 0.5
    assert js["first_audio"]["p50"] == 600.0


def test_compare_runs_live_and_json() -> None:
    old = summarize_runs([_result("groq/a", 600.0), _result("groq/a", 700.0), _result("x/y", 1.0)])
    new = summarize_runs([_result("groq/a", 500.0), _result("groq/a", 520.0), _result("new/z", 1.0)])
    for old_in in (old, {k: v.to_json() for k, v in old.items()}):
        cmp = compare_runs(old_in, new)
        assert list(cmp) == ["groq/a"]
        d = cmp["groq/a"]["first_audio"]
        assert d.old_p50 == pytest.approx(650.0)
        assert d.new_p50 == pytest.approx(510.0)
        assert d.delta_ms == pytest.approx(-140.0)
        assert d.ratio == pytest.approx(510.0 / 650.0)
        assert cmp["groq/a"]["playback_done"].delta_ms is None
        assert cmp["groq/a"]["playback_done"].ratio is None


def test_success_rate_of_empty_summary() -> None:
    assert SpecSummary(spec="s", stages={}, total=0, ok=0, errors=0).success_rate == 0.0
