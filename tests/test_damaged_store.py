"""A damaged or failing database: `bench` moves a damaged one aside and says so, and never reports success
for results that did not reach the database (issue 11, damaged files)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nuanu_tui.cli.bench import STORE_FAILED
from nuanu_tui.core.store import Store
from tests.test_store import damage, filled

pytestmark = pytest.mark.slow


def bench(data_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A real one-utterance offline benchmark (phrasebook + espeak, silent paced output)."""
    triggers = cwd / "one.txt"
    triggers.write_text("две собаки слева\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUANU_", "GROQ_", "OPENAI_", "ELEVEN"))}
    env["NUANU_DATA_DIR"] = str(data_dir)
    args = ["bench", "--llm", "offline/phrasebook", "--tts", "espeak", "--audio", "null"]
    return subprocess.run(
        [sys.executable, "-m", "nuanu_tui", *args, "--runs", "1", "--no-warmup", "--triggers", str(triggers)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bench_on_a_damaged_database_moves_it_aside_and_stores_the_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    filled(data / "nuanu.db")
    damage(data / "nuanu.db")
    proc = bench(data, tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "damaged" in ln]
    assert len(lines) == 1 and "moved it to" in lines[0] and "started a fresh one" in lines[0]
    assert "store write failed" not in proc.stderr
    with Store(data / "nuanu.db") as store:
        assert len(store.utterances()) == 1
        assert [r["status"] for r in store.bench_runs()] == ["done"]


def test_bench_whose_writes_fail_does_not_report_success(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    filled(data / "nuanu.db", 1)
    conn = sqlite3.connect(data / "nuanu.db")  # sound file, but every new utterance row is refused
    conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON utterances BEGIN SELECT RAISE(FAIL, 'disk says no'); END"
    )
    conn.close()
    proc = bench(data, tmp_path)
    assert proc.returncode == STORE_FAILED, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("store: 1 of ") and "not (fully) stored" in last and "disk says no" in last
