"""End to end through the emulator: real SDK clients, our WebSocket client, the real player and WAV sink."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.tts.elevenlabs import KEEPALIVE_CONTEXT
from tests.conftest import FAKE_KEYS, TTFT_MS

STRICT = ["say", "--no-failover"]
# One strict cloud utterance to silent audio: the shape of every "unreachable host" row.
STRICT_SAY = [
    *STRICT,
    "две собаки",
    "--llm",
    "groq/llama-3.1-8b-instant",
    "--tts",
    "elevenlabs",
    "--audio",
    "null",
]
ORDER = ("ttft", "first_flush", "first_audio_byte", "first_audio", "playback_done")


def run_cli(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nuanu_tui", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wav_frames(path: Path) -> tuple[int, bytes]:
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.readframes(w.getnframes())


def contexts_since(sim: object, before: set[str]) -> list[str]:
    return [c for c in sim.sent_audio if c not in before and c != KEEPALIVE_CONTEXT]  # type: ignore[attr-defined]


@pytest.mark.parametrize("llm", ["groq/llama-3.1-8b-instant", "openai/gpt-4o-mini"])
@pytest.mark.slow
def test_say_json_groq_and_openai(llm: str, sim: object, sim_env: dict[str, str], tmp_path: Path) -> None:
    before = set(sim.sent_audio)  # type: ignore[attr-defined]
    out = tmp_path / "out.wav"
    # Strict: start-up waits for the warm-up, so the utterance runs on warm connections and the bound on
    # what our client adds holds (with failover, warm-up runs on in the background: see test_dead_endpoint).
    proc = run_cli(
        [*STRICT, "две собаки слева", "--llm", llm, "--tts", "elevenlabs", "--audio", f"wav:{out}", "--json"],
        sim_env,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # stdout is exactly one JSON object
    assert set(data) == {
        "ok",
        "error",
        "error_kind",
        "trigger",
        "llm",
        "tts",
        "text",
        "stages_ms",
        "wait_ms",
        "ws_reused",
        "offline",
        "simulated",
        "served_by",
        "voiced_by",
        "degraded",
        "notices",
        "interjection",
        "gap_ms",
        "net_rtt_ms",
        "prompt",
        "quality",
    }
    assert data["prompt"] == "default@1"
    assert set(data["quality"]) == {
        "words", "sentences", "seconds", "latin_words", "on_topic", "complete", "repeats", "flags"
    }  # fmt: skip
    assert data["quality"]["words"] == len(data["text"].split()) and data["quality"]["repeats"] is None
    assert data["interjection"] is None and data["gap_ms"] is None  # NUANU_INSTANT=0 in this suite
    assert data["served_by"] == llm and data["voiced_by"] == [data["tts"]]
    assert data["offline"] is False and data["degraded"] is False and data["error_kind"] is None
    assert data["ok"] is True and data["error"] is None
    assert data["llm"] == llm and data["tts"] == "elevenlabs/eleven_flash_v2_5"
    assert data["trigger"] == "две собаки слева"
    assert data["text"]
    assert data["offline"] is False and data["simulated"] is False
    stages = data["stages_ms"]
    assert set(stages) == {
        "first_sound",
        "ttft",
        "first_flush",
        "first_audio_byte",
        "first_audio",
        "llm_done",
        "tts_done",
        "playback_done",
    }
    assert all(stages[s] is not None for s in stages)
    values = [stages[s] for s in ORDER]
    assert values == sorted(values), stages
    # correctness, not speed: TTFT cannot beat the injected delay and our client adds little on top.
    # t0 is when the CLI accepted the trigger: start-up is the wait before the utterance, counted in TTFT.
    assert data["wait_ms"] > 0
    assert TTFT_MS <= stages["ttft"] - data["wait_ms"] <= TTFT_MS + 50
    assert data["ws_reused"] is True  # the socket was opened at start-up, before the trigger
    # the WAV holds exactly the PCM the emulator sent for this utterance's context
    new = contexts_since(sim, before)
    assert len(new) == 1
    rate, frames = wav_frames(out)
    assert rate == 24000
    assert frames == sim.sent_audio[new[0]]  # type: ignore[attr-defined]
    assert len(frames) > 24000  # more than half a second of speech


@pytest.mark.slow
def test_say_with_failover_on_healthy_hosts_is_not_degraded(sim_env: dict[str, str], tmp_path: Path) -> None:
    """Default mode (warm-up in the background): healthy hosts still serve it, nothing is marked degraded."""
    proc = run_cli(
        [
            "say",
            "две собаки",
            "--llm",
            "groq/llama-3.1-8b-instant",
            "--tts",
            "elevenlabs",
            "--audio",
            "null",
            "--json",
        ],
        sim_env,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["served_by"] == "groq/llama-3.1-8b-instant"
    assert data["voiced_by"] == ["elevenlabs/eleven_flash_v2_5"]
    assert data["degraded"] is False and data["offline"] is False and data["notices"] == []
    assert data["stages_ms"]["ttft"] - data["wait_ms"] >= TTFT_MS


@pytest.mark.slow
async def test_second_utterance_reuses_socket(sim: object) -> None:
    settings = Settings().model_copy(
        update={
            "groq_base_url": sim.groq_base_url,  # type: ignore[attr-defined]
            "elevenlabs_base_url": sim.elevenlabs_base_url,  # type: ignore[attr-defined]
        }
    )
    from pydantic import SecretStr

    settings = settings.model_copy(
        update={
            "groq_api_key": SecretStr(FAKE_KEYS["GROQ_API_KEY"]),
            "elevenlabs_api_key": SecretStr(FAKE_KEYS["ELEVENLABS_API_KEY"]),
        }
    )
    engine = await Engine.create(settings, llm="groq/llama-3.1-8b-instant", tts="elevenlabs", audio="null")
    try:
        connects_after_warm = engine.tts.connects  # type: ignore[attr-defined]
        first = await engine.say("справа скутер обгоняет")
        second = await engine.say("проезжаем рисовые поля, красиво")
    finally:
        await engine.aclose()
    assert first.ok and second.ok, (first.error, second.error)
    assert first.ws_reused is True and second.ws_reused is True
    assert engine.tts.connects == connects_after_warm == 1  # type: ignore[attr-defined]
    assert second.text and second.stages_ms["first_audio"] is not None


def test_empty_trigger_is_an_error(sim_env: dict[str, str], tmp_path: Path) -> None:
    proc = run_cli(["say", "   ", "--audio", "null"], sim_env, tmp_path)
    assert proc.returncode != 0
    assert "empty trigger" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_long_trigger_is_cut_with_notice(sim_env: dict[str, str], tmp_path: Path) -> None:
    long = "собака " * 120
    proc = run_cli(
        ["say", long, "--llm", "groq/llama-3.1-8b-instant", "--audio", "null", "--json"], sim_env, tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "trigger cut to" in proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True


def test_missing_key_names_variable_and_env(sim_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(sim_env)
    del env["GROQ_API_KEY"]
    proc = run_cli(
        [*STRICT, "две собаки", "--llm", "groq/llama-3.1-8b-instant", "--audio", "null"], env, tmp_path
    )
    assert proc.returncode != 0
    line = proc.stderr.strip().splitlines()[-1]
    assert "GROQ_API_KEY" in line and ".env" in line
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_missing_key_with_failover_falls_back_and_speaks(sim_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(sim_env)
    del env["GROQ_API_KEY"]
    del env["OPENAI_API_KEY"]  # so the chain is groq -> offline/phrasebook
    proc = run_cli(
        ["say", "две собаки", "--llm", "groq/llama-3.1-8b-instant", "--audio", "null", "--json"],
        env,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True and data["text"] and data["stages_ms"]["first_audio"] is not None
    assert data["llm"] == "groq/llama-3.1-8b-instant" and data["served_by"] == "offline/phrasebook"
    assert data["degraded"] is True and data["offline"] is True
    assert any("GROQ_API_KEY is not set" in n for n in data["notices"])
    assert "Traceback" not in proc.stderr


def test_missing_key_strict_is_one_line_naming_the_env_file(sim_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(sim_env)
    del env["GROQ_API_KEY"]
    proc = run_cli(
        [*STRICT, "две собаки", "--llm", "groq/llama-3.1-8b-instant", "--audio", "null"], env, tmp_path
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"nuanu-tui: error: GROQ_API_KEY is not set: put GROQ_API_KEY=... in the .env file {tmp_path / '.env'}"
        " (see .env.example) or the environment"
    ]


@pytest.mark.slow
def test_missing_tts_key_with_fallback_speaks_with_espeak(sim_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(sim_env)
    del env["ELEVENLABS_API_KEY"]
    args = [
        "say",
        "две собаки",
        "--llm",
        "groq/llama-3.1-8b-instant",
        "--tts",
        "elevenlabs",
        "--audio",
        "null",
    ]
    proc = run_cli([*args, "--json"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True and data["voiced_by"] == ["espeak/ru"] and data["offline"] is True
    assert proc.stderr.strip().splitlines() == ["OFFLINE: TTS offline: no ELEVENLABS_API_KEY"]
    strict = run_cli(["say", "--no-failover", *args[1:]], env, tmp_path)
    assert strict.returncode == 1
    assert strict.stderr.strip().splitlines() == [
        f"nuanu-tui: error: ELEVENLABS_API_KEY is not set: put ELEVENLABS_API_KEY=... in the .env file"
        f" {tmp_path / '.env'} (see .env.example) or the environment"
    ]


def test_bad_llm_spec_lists_providers(sim_env: dict[str, str], tmp_path: Path) -> None:
    proc = run_cli(["say", "две собаки", "--llm", "gemini-pro", "--audio", "null"], sim_env, tmp_path)
    assert proc.returncode != 0
    line = proc.stderr.strip().splitlines()[-1]
    for provider in ("groq", "openai", "ollama", "local", "offline"):
        assert provider in line
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("which", ["llm", "tts"])
def test_unreachable_host_fails_fast_without_traceback(
    which: str, sim_env: dict[str, str], tmp_path: Path, silent_port: int
) -> None:
    env = dict(sim_env)
    env["NUANU_CONNECT_TIMEOUT"] = "2"
    if which == "llm":
        env["GROQ_BASE_URL"] = f"http://127.0.0.1:{silent_port}"
    else:
        env["ELEVENLABS_BASE_URL"] = f"ws://127.0.0.1:{silent_port}"
    started = time.monotonic()
    proc = run_cli(
        STRICT_SAY,
        env,
        tmp_path,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2
    assert elapsed < 15  # generous bound on the whole process; the connect timeout itself is 2 s
    assert ("timed out" in proc.stderr) or ("did not answer" in proc.stderr)


@pytest.mark.parametrize(
    ("url_var", "url", "expect"),
    [
        ("GROQ_BASE_URL", "http://127.0.0.1:9", "connection refused"),
        ("GROQ_BASE_URL", "http://no-such-host.invalid", "DNS"),
        ("ELEVENLABS_BASE_URL", "ws://127.0.0.1:9", "connection refused"),
        ("ELEVENLABS_BASE_URL", "ws://no-such-host.invalid", "DNS"),
    ],
)
def test_refused_and_dns_failures_are_one_line(
    url_var: str, url: str, expect: str, sim_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(sim_env)
    env[url_var] = url
    proc = run_cli(
        STRICT_SAY,
        env,
        tmp_path,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert expect in proc.stderr.strip().splitlines()[-1]


def test_secrets_never_printed(sim_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(sim_env)
    env["GROQ_BASE_URL"] = "http://127.0.0.1:9"  # refused
    proc = run_cli(
        [*STRICT, "две собаки", "--llm", "groq/llama-3.1-8b-instant", "--audio", "null", "--json"],
        env,
        tmp_path,
    )
    assert proc.returncode != 0
    for key in FAKE_KEYS.values():
        assert key not in proc.stdout and key not in proc.stderr


@pytest.mark.slow
def test_unreachable_llm_and_tts_fail_over_and_keep_talking(
    sim_env: dict[str, str], tmp_path: Path, silent_port: int
) -> None:
    """Default behaviour: a dead cloud is reported in one line per fault and the offline parts speak."""
    env = dict(sim_env)
    env["GROQ_BASE_URL"] = "http://127.0.0.1:9"  # refused
    env["ELEVENLABS_BASE_URL"] = f"ws://127.0.0.1:{silent_port}"  # never answers
    env["NUANU_CONNECT_TIMEOUT"] = "1"
    del env["OPENAI_API_KEY"]  # so the chain is groq -> offline/phrasebook
    out = tmp_path / "fallback.wav"
    proc = run_cli(
        ["say", "две собаки слева", "--llm", "groq/llama-3.1-8b-instant", "--audio", f"wav:{out}", "--json"],
        env,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True and data["text"]
    assert data["stages_ms"]["first_audio"] is not None
    assert "Traceback" not in proc.stderr
    assert "connection refused" in proc.stderr  # the LLM fault, one line
    assert "did not answer" in proc.stderr  # the TTS fault, one line
    assert "offline/phrasebook" in proc.stderr  # who answered instead
    rate, frames = wav_frames(out)
    assert rate == 24000 and len(frames) > 24000  # espeak audio resampled into the running 24 kHz stream


def test_models_lists_what_the_provider_offers(sim_env: dict[str, str], tmp_path: Path) -> None:
    proc = run_cli(["models", "groq"], sim_env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = proc.stdout.split()
    assert "llama-3.1-8b-instant" in names and "openai/gpt-oss-20b" in names


def test_retired_model_names_the_available_ones(sim_env: dict[str, str], tmp_path: Path) -> None:
    proc = run_cli(
        [*STRICT, "две собаки", "--llm", "groq/llama-2-retired", "--audio", "null"], sim_env, tmp_path
    )
    assert proc.returncode != 0
    line = proc.stderr.strip().splitlines()[-1]
    assert "llama-2-retired" in line and "available:" in line and "llama-3.1-8b-instant" in line


@pytest.mark.slow
def test_stream_input_mode_and_mp3_output(sim: object, sim_env: dict[str, str], tmp_path: Path) -> None:
    """`--ws-mode single` (stream-input, one socket per utterance) with MP3 decoded by the continuous decoder."""
    before = set(sim.sent_audio)  # type: ignore[attr-defined]
    out = tmp_path / "mp3.wav"
    args = ["say", "справа скутер обгоняет", "--llm", "groq/llama-3.1-8b-instant", "--ws-mode", "single"]
    proc = run_cli(
        [*args, "--output-format", "mp3_44100_128", "--audio", f"wav:{out}", "--json"], sim_env, tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] and data["tts"] == "elevenlabs/eleven_flash_v2_5"
    new = [c for c in sim.sent_audio if c not in before and c.startswith("stream-")]  # type: ignore[attr-defined]
    assert len(new) == 1
    rate, frames = wav_frames(out)
    sent = sim.sent_audio[new[0]]  # type: ignore[attr-defined]
    assert rate == 44100
    # MP3 adds encoder padding; the decoded length matches the sent PCM within a few frames, never less
    assert len(sent) <= len(frames) <= len(sent) + 4 * 1152 * 2 + 4096
    stages = data["stages_ms"]
    assert stages["first_audio_byte"] <= stages["first_audio"] <= stages["playback_done"]
