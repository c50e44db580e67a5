"""No keys, no network: the README's first command must still make a joke and say it (issue: offline default)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from nuanu_tui.sim.profiles import DEMO

pytestmark = pytest.mark.slow


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("NUANU_", "GROQ_", "OPENAI_", "ELEVENLABS_"))
    }
    # Any accidental network use would go nowhere: every endpoint points at a closed port.
    env.update(
        GROQ_BASE_URL="http://127.0.0.1:9",
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",
        ELEVENLABS_BASE_URL="ws://127.0.0.1:9",
        NUANU_DATA_DIR=os.environ["NUANU_DATA_DIR"],
        **extra,
    )
    return env


def say(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nuanu_tui", "say", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_offline_say_writes_speech(tmp_path: Path) -> None:
    out = tmp_path / "offline.wav"
    proc = say(["две собаки слева", "--audio", f"wav:{out}", "--json"], clean_env(), tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True
    assert data["offline"] is True and data["simulated"] is False
    assert data["llm"] == "offline/phrasebook" and data["tts"].startswith("espeak/")
    assert data["ws_reused"] is None  # espeak has no socket
    assert "собак" in data["text"].lower()
    # one plain line says which parts are offline and why
    offline_lines = [line for line in proc.stderr.splitlines() if line.startswith("OFFLINE")]
    assert len(offline_lines) == 1
    assert "GROQ_API_KEY" in offline_lines[0] and "ELEVENLABS_API_KEY" in offline_lines[0]
    with wave.open(str(out), "rb") as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    samples = np.frombuffer(frames, dtype=np.int16).astype(np.float64)
    assert rate == 22050
    assert len(samples) / rate > 0.5
    rms = float(np.sqrt(np.mean(samples**2)))
    assert rms > 500, rms  # clearly speech, not silence (int16 full scale is 32767)
    stages = data["stages_ms"]
    assert all(v is not None for v in stages.values())
    assert stages["ttft"] <= stages["first_flush"] <= stages["first_audio_byte"] <= stages["first_audio"]


def test_demo_say_follows_profile(tmp_path: Path) -> None:
    proc = say(["две собаки слева", "--demo", "--audio", "null", "--json"], clean_env(), tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["simulated"] is True and data["offline"] is False
    assert data["llm"] == "groq/llama-3.1-8b-instant"
    assert "SIMULATED" in proc.stderr
    stages = data["stages_ms"]
    groq = DEMO.llm_for("llama-3.1-8b-instant", "groq")
    # t0 is when the CLI accepted the trigger: start-up shows up as wait_ms, then the profile's own delays
    assert data["wait_ms"] is not None and 0 <= data["wait_ms"] <= stages["ttft"]
    # correctness against the injected profile, with room for a loaded CI machine
    assert groq.ttft_ms <= stages["ttft"] - data["wait_ms"] <= groq.ttft_ms + 60
    tts_delay = stages["first_audio_byte"] - stages["first_flush"]
    assert DEMO.tts.first_audio_ms - 5 <= tts_delay <= DEMO.tts.first_audio_ms + 60
    assert 0 <= stages["first_audio"] - stages["first_audio_byte"] <= 30
    assert data["ws_reused"] is True


def test_english_offline(tmp_path: Path) -> None:
    proc = say(["two dogs on the left", "--lang", "en", "--audio", "null", "--json"], clean_env(), tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["tts"] == "espeak/en"
    assert "dog" in data["text"].lower()


def test_weird_trigger_does_not_crash(tmp_path: Path) -> None:
    proc = say(
        ["\x07камера 🐕🐕 dogs 21 собака\x1b", "--audio", "null", "--json", "--seed", "3"],
        clean_env(),
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    text = json.loads(proc.stdout)["text"]
    assert not any(ch.isdigit() for ch in text)
    assert "\x07" not in text and "🐕" not in text
