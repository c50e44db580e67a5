"""Who really spoke: with Groq and ElevenLabs keys whose hosts are down (real closed ports), the phrasebook
writes and espeak speaks, and say --json, the database, exports, bench files and the UI card all say so."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.store import Store
from nuanu_tui.ui.views import view_of
from nuanu_tui.ui.widgets.transcript import UtteranceCard
from tests.conftest import FAKE_KEYS

GROQ = "groq/llama-3.1-8b-instant"
CLOSED = "127.0.0.1:9"  # nothing listens on the discard port here: connection refused at once


def dead_cloud_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("NUANU_", "GROQ_", "OPENAI_", "ELEVENLABS_"))
    }
    env.update(
        GROQ_API_KEY=FAKE_KEYS["GROQ_API_KEY"],
        ELEVENLABS_API_KEY=FAKE_KEYS["ELEVENLABS_API_KEY"],
        GROQ_BASE_URL=f"http://{CLOSED}",
        ELEVENLABS_BASE_URL=f"ws://{CLOSED}",
        NUANU_DATA_DIR=str(tmp_path / "data"),
        NUANU_CONNECT_TIMEOUT="1",
    )
    return env


def assert_fallback_spoke(item: dict[str, object]) -> None:
    assert item["llm"] == GROQ and str(item["tts"]).startswith("elevenlabs")  # what was asked for
    assert item["served_by"] == "offline/phrasebook"
    assert item["voiced_by"] == ["espeak/ru"]
    assert item["offline"] is True and item["degraded"] is True
    notices = " ".join(item["notices"])  # type: ignore[arg-type]
    assert (
        "answered by offline/phrasebook" in notices
        and f"Groq (http://{CLOSED}): connection refused" in notices
    )
    assert "TTS fell back to espeak/ru" in notices


@pytest.mark.slow
def test_say_json_names_who_spoke(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nuanu_tui", "say", "две собаки", "--llm", GROQ, "--audio", "null", "--json"],
        env=dead_cloud_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True and data["text"]
    assert_fallback_spoke(data)


@pytest.mark.slow
def test_bench_database_and_exports_name_who_spoke(tmp_path: Path) -> None:
    triggers = tmp_path / "one.txt"
    triggers.write_text("две собаки\n", encoding="utf-8")
    bench_json, bench_csv = tmp_path / "bench.json", tmp_path / "bench.csv"
    env = dead_cloud_env(tmp_path)
    proc = subprocess.run(
        [
            *[sys.executable, "-m", "nuanu_tui", "bench", "--llm", GROQ, "--runs", "1", "--no-warmup"],
            *["--triggers", str(triggers), "--audio", "null"],
            *["--json", str(bench_json), "--csv", str(bench_csv)],
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr  # 1: the degraded run is not counted as an ok spec
    (run,) = json.loads(bench_json.read_text(encoding="utf-8"))["runs"]
    assert_fallback_spoke(run)
    with bench_csv.open(encoding="utf-8") as f:
        (row,) = list(csv.DictReader(f))
    assert row["served_by"] == "offline/phrasebook" and row["voiced_by"] == "espeak/ru"
    with Store(Path(env["NUANU_DATA_DIR"]) / "nuanu.db") as store:
        (stored,) = store.utterances()
        assert stored["served_by"] == "offline/phrasebook" and stored["voiced_by"] == ["espeak/ru"]
        assert stored["offline"] is True and stored["degraded"] is True
        assert store.export_json(tmp_path / "export.json") == 1
        (exported,) = json.loads((tmp_path / "export.json").read_text(encoding="utf-8"))
        assert_fallback_spoke(exported)
        store.export_csv(tmp_path / "export.csv")
        with (tmp_path / "export.csv").open(encoding="utf-8") as f:
            (row,) = list(csv.DictReader(f))
        assert json.loads(row["voiced_by"]) == ["espeak/ru"]


@pytest.mark.slow
async def test_ui_card_names_who_spoke() -> None:
    settings = Settings().model_copy(
        update={
            "groq_api_key": SecretStr(FAKE_KEYS["GROQ_API_KEY"]),
            "elevenlabs_api_key": SecretStr(FAKE_KEYS["ELEVENLABS_API_KEY"]),
            "groq_base_url": f"http://{CLOSED}",
            "elevenlabs_base_url": f"ws://{CLOSED}",
            "connect_timeout": 1.0,
        }
    )
    engine = await Engine.create(settings, llm=GROQ, tts="elevenlabs", audio="null")
    try:
        result = await engine.say("две собаки")
    finally:
        await engine.aclose()
    assert result.ok, result.error
    assert result.served_by == "offline/phrasebook" and result.voiced_by == ["espeak/ru"]
    assert result.offline and result.degraded
    head = UtteranceCard(view_of(result))._head()
    assert f"offline/phrasebook → espeak/ru (asked {GROQ} → {result.tts})" in head
    assert "OFFLINE" in head and "DEGRADED" in head
