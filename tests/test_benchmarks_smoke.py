"""The benchmark harness works (a few utterances); the real numbers come from `python -m benchmarks.run`."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.run import first_flush_token, table

ROOT = Path(__file__).resolve().parent.parent


def test_floor_uses_the_first_flushable_clause() -> None:
    # «Вот это да, …»: the comma arrives as token 3 (0-based), and the chunker cuts right there
    assert first_flush_token() == 3


def test_table_renders_the_committed_results() -> None:
    data = json.loads((ROOT / "benchmarks/results/latest.json").read_text(encoding="utf-8"))
    text = table(data)
    for row in ("overhead headless, PCM", "TUI running − headless", "(a) prototype design", "peak RSS"):
        assert row in text
    assert "nan" not in text


def quick_run(part: str) -> dict[str, Any]:
    """`benchmarks.run --quick --only PART` in its own process, as a user would run it; its JSON."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--only", part],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.mark.slow
def test_quick_headless_run_measures_every_utterance() -> None:
    data = quick_run("headless")
    for key in ("headless_pcm", "headless_mp3"):
        result = data[key]
        assert result["errors"] == []
        assert result["overhead"]["n"] == data["runs"] == 5
        assert result["minimal"]["n"] == 5
        # first audio can never beat the injected floor (a small negative slack for clock granularity)
        assert result["overhead"]["p50"] > -0.5 and math.isfinite(result["overhead"]["max"])
        # counted, not judged: an underrun depends on the machine's load, and this is a test, not the benchmark
        assert isinstance(result["underruns"], int) and result["underruns"] >= 0


@pytest.mark.slow
def test_quick_tui_run_counts_both_processes() -> None:
    data = quick_run("tui")
    for key in ("tui_pcm", "tui_mp3"):
        result = data[key]
        assert result["errors"] == [] and result["overhead"]["n"] == 5
        assert result["separate_process"] is True
        # the engine process reported its own memory and CPU; the console's share alone cannot be all of it
        assert result["host_rss_peak_mb"] > 20
        assert result["overhead"]["p50"] > -0.5 and result["cpu_per_utt_ms"] > 0


@pytest.mark.slow
@pytest.mark.skipif(
    sys.platform == "win32", reason="the benchmark uses a pseudo-terminal, SIGINT and getloadavg"
)
def test_startup_benchmark_times_launches_from_outside(tmp_path: Path) -> None:
    """`benchmarks.startup` launches the real CLI and finds each moment it times (one counted run)."""
    out = tmp_path / "startup.json"
    cases = "say-cloud,ride,console,collector"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.startup", "--runs", "1", "--cases", cases, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    cloud, ride, collector = data["say-cloud"]["new"], data["ride"]["new"], data["collector"]["new"]
    assert 0 < cloud["ms_median"] < 60_000 and cloud["runs"][0]["json_wait_ms"] is not None
    assert ride["runs"][0]["signal"] == "ready" and ride["runs"][0]["tracebacks"] == 0
    assert ride["runs"][0]["exit"] == 0  # stopped by SIGINT: the ride's own clean stop
    typed = data["console"]["new"]["runs"][0]  # typed once, when the header was drawn, and kept until ready
    assert 0 < typed["typed_ms"] < typed["ms"] and typed["retyped"] == 0
    run = collector["runs"][0]
    assert "unreachable" in run["dead_stderr"][0]
    assert not any("collector" in line for line in run["plain_stderr"])
    for name in ("dead", "plain"):  # the remark's own time is taken out of each wall, and is less than it
        assert 0 < run[f"{name}_remark"] < run[name]
        assert run[f"{name}_rest"] == pytest.approx(run[name] - run[f"{name}_remark"])
    assert run["ms"] == pytest.approx(run["dead_rest"] - run["plain_rest"])
