"""Bad settings: one line per bad variable (name, value unless secret, what is allowed, where it came from),
exit 2, no traceback, for every command and every field of Settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import AliasChoices

from nuanu_tui.cli import main
from nuanu_tui.core.config import KEY_VARS, Settings

# One bad value per field. A new field without an entry here fails `test_every_field_has_a_bad_value`.
BAD: dict[str, str] = {
    "groq_api_key": "gsk_secret with space",
    "openai_api_key": "sk-secret\twith-tab",
    "elevenlabs_api_key": "xi secret",
    "groq_base_url": "ftp://groq.example",
    "openai_base_url": "file:///tmp/x",
    "ollama_base_url": "localhost:11434",
    "local_base_url": "http://",
    "elevenlabs_base_url": "ftp://api.elevenlabs.io",
    "elevenlabs_voice_id": "two words",
    "elevenlabs_model_id": "two words",
    "llm": "gemini-pro",
    "tts": "polly",
    "audio": "speaker",
    "lang": "fr",
    "groq_model": "llama 3",
    "openai_model": "gpt 4o",
    "max_tokens": "0",
    "temperature": "hot",
    "output_format": "wav",
    "ws_mode": "both",
    "inactivity_timeout": "-5",
    "keepalive_s": "0",
    "connect_timeout": "abc",
    "read_timeout": "-1",
    "first_flush_words": "13",
    "espeak_voice": "r u",
    "espeak_rate": "1000",
    "interrupt": "maybe",
    "data_dir": "a-file-not-a-dir",
    "failover": "gemini-pro",
    "ttft_budget_ms": "-5",
    "hedge_ms": "soon",
    "tts_fallback": "perhaps",
    "llm_fast_path": "perhaps",
    "max_chars": "5",
    "blocklist": "no-such-blocklist.txt",
    "output_filter": "sometimes",
    "sim_net": "dialup",
    "net_probe_s": "0.1",
    "net_warn_ms": "-1",
    "ride_stale_ms": "-1",
    "ride_min_confidence": "2",
    "ride_dedup_s": "never",
    "ride_cooldown_s": "-6",
    "ride_max_per_min": "0",
    "events_host": "two hosts",
    "events_token": "tok secret",
    "events_queue": "0",
    "audio_lost": "panic",
    "audio_stale_s": "0",
    "ride_udp_port": "70000",
    "ride_ws_port": "http",
    "instant": "sometimes",
    "prompt": "my prompt",
    "operator": "Ketut\tWayan",
    "quality_max_words": "0",
    "quality_min_words": "-1",
    "quality_max_seconds": "0",
    "quality_min_seconds": "long",
    "quality_latin_share": "1.5",
    "quality_repeat": "0",
    "quality_latin_ok": "Bali,New York",
    "cameras": "front=sideways",
    "track_hits": "0",
    "track_window_ms": "0",
    "track_lost_s": "-1",
    "track_iou": "1.5",
    "mqtt": "mqtt://broker:1883",
    "mqtt_password": "mq secret",
}
SECRET_VARS = {*KEY_VARS.values(), "NUANU_EVENTS_TOKEN", "NUANU_MQTT_PASSWORD"}


def var_of(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    assert isinstance(alias, AliasChoices)
    return str(alias.choices[0])


def test_every_field_has_a_bad_value() -> None:
    assert sorted(set(Settings.model_fields) - set(BAD)) == []


@pytest.mark.parametrize("source", ["environment", "dotenv"])
@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_bad_setting_is_one_line_and_exit_2(
    field: str, source: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    var, value = var_of(field), BAD.get(field, "")
    assert value, f"add a bad value for the new setting {field} to BAD"
    Path("a-file-not-a-dir").write_text("x", encoding="utf-8")
    if source == "environment":
        monkeypatch.setenv(var, value)
    else:
        monkeypatch.delenv(var, raising=False)  # the environment would win over .env
        Path(".env").write_text(f"{var}={json.dumps(value)}\n", encoding="utf-8")
    code = main(["say", "две собаки", "--audio", "null", "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert var in line and "allowed:" in line
    where = "the environment" if source == "environment" else f"the .env file {Path('.env').resolve()}"
    assert f"from {where}:" in line
    if var in SECRET_VARS:
        assert "value hidden" in line and "secret" not in line
    else:
        assert repr(value) in line
    data = json.loads(out)
    assert data["ok"] is False and data["error_kind"] == "settings" and var in data["error"]
    if var in SECRET_VARS:
        assert "secret" not in out


def test_the_issue_examples_give_one_line_each(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NUANU_TTFT_BUDGET_MS", "abc")
    monkeypatch.setenv("NUANU_LANG", "fr")
    Path(".env").write_text("NUANU_MAX_TOKENS=0\nNUANU_INTERRUPT=maybe\n", encoding="utf-8")
    assert main(["doctor"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    expected = {
        "NUANU_TTFT_BUDGET_MS='abc' from the environment: allowed: a number > 0",
        "NUANU_LANG='fr' from the environment: allowed: 'ru' or 'en'",
        f"NUANU_MAX_TOKENS='0' from the .env file {Path('.env').resolve()}: allowed: a whole number >= 8 and <= 1024",
        f"NUANU_INTERRUPT='maybe' from the .env file {Path('.env').resolve()}: allowed: true or false"
        " (also 1/0, yes/no, on/off)",
    }
    assert {line.removeprefix("nuanu-tui: error: ") for line in lines} == expected


def test_copied_env_example_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blank values (`GROQ_BASE_URL=`) mean "not set", so the shipped example never trips validation."""
    example = Path(__file__).resolve().parent.parent / ".env.example"
    Path(".env").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    settings = Settings()
    assert settings.groq_base_url is None and settings.key("groq") is None


@pytest.mark.parametrize(
    "command",
    [
        ["say", "две собаки", "--audio", "null"],
        ["bench", "--runs", "1", "--audio", "null"],
        ["ride", "--stdin", "--audio", "null"],
        ["models", "groq"],
        ["doctor"],
        [],  # the TUI
    ],
    ids=["say", "bench", "ride", "models", "doctor", "tui"],
)
def test_every_command_reports_a_bad_setting_without_traceback(command: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUANU_")}
    env.update({"NUANU_LANG": "fr", "NUANU_DATA_DIR": str(tmp_path), "TERM": "dumb"})
    proc = subprocess.run(
        [sys.executable, "-m", "nuanu_tui", *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "nuanu-tui: error: NUANU_LANG='fr' from the environment: allowed: 'ru' or 'en'"
    ]
