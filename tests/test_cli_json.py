"""`say --json` is a contract: exactly one JSON object on stdout whatever happens, with ok/error/error_kind."""

from __future__ import annotations

import json

import pytest

from nuanu_tui.cli import main

CASES = [
    # (argv after "say", env, expected exit status, expected error_kind, words in the error)
    (["--json"], {}, 2, "usage", "trigger"),
    (["две собаки", "--json", "--bogus"], {}, 2, "usage", "--bogus"),
    (["две собаки", "--json", "--lang", "fr"], {}, 2, "usage", "invalid choice"),
    (["две собаки", "--json", "--seed", "x"], {}, 2, "usage", "invalid int"),
    (["   ", "--json", "--audio", "null"], {}, 2, "input", "empty trigger"),
    (["две собаки", "--json", "--audio", "speaker"], {}, 1, "config", "bad audio spec"),
    (["две собаки", "--json", "--audio", "null", "--tts", "polly"], {}, 1, "config", "bad TTS spec"),
    (["две собаки", "--json", "--audio", "null", "--llm", "gemini"], {}, 1, "config", "bad LLM spec"),
    (["две собаки", "--json"], {"NUANU_MAX_TOKENS": "0"}, 2, "settings", "NUANU_MAX_TOKENS"),
    (["две собаки", "--json"], {"GROQ_BASE_URL": "ftp://groq.example"}, 2, "settings", "http://"),
    (["две собаки", "--json"], {"ELEVENLABS_BASE_URL": "gopher://x"}, 2, "settings", "wss://"),
]


@pytest.mark.parametrize(("argv", "env", "code", "kind", "words"), CASES)
def test_json_failure_is_one_object(
    argv: list[str],
    env: dict[str, str],
    code: int,
    kind: str,
    words: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["say", *argv]) == code
    out, err = capsys.readouterr()
    data = json.loads(out)  # exactly one object: json.loads rejects anything after it
    assert data["ok"] is False
    assert data["error_kind"] == kind
    assert words in data["error"]
    assert "Traceback" not in err and err.strip()
