"""Settings, default selection (offline where keys are missing) and the failover chain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from nuanu_tui.core.config import Settings, choose_defaults, failover_chain, mask, parse_llm_spec
from nuanu_tui.core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def with_keys(**keys: str) -> Settings:
    names = {"groq": "groq_api_key", "openai": "openai_api_key", "elevenlabs": "elevenlabs_api_key"}
    return Settings().model_copy(update={names[k]: SecretStr(v) for k, v in keys.items()})


def test_env_example_lists_every_variable() -> None:
    source = (ROOT / "nuanu_tui/core/config.py").read_text(encoding="utf-8")
    names = set(re.findall(r'_env\("([A-Z_]+)"\)', source))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert names, "no variables found"
    assert sorted(n for n in names if n not in example) == []


@pytest.mark.parametrize(
    ("keys", "llm", "tts", "offline_parts"),
    [
        ({}, "offline/phrasebook", "espeak", ["LLM", "TTS"]),
        ({"groq": "g", "elevenlabs": "e"}, "groq/llama-3.1-8b-instant", "elevenlabs", []),
        ({"openai": "o", "elevenlabs": "e"}, "openai/gpt-4o-mini", "elevenlabs", []),
        ({"groq": "g"}, "groq/llama-3.1-8b-instant", "espeak", ["TTS"]),
        ({"elevenlabs": "e"}, "offline/phrasebook", "elevenlabs", ["LLM"]),
        ({"groq": "  "}, "offline/phrasebook", "espeak", ["LLM", "TTS"]),  # a blank key is no key
    ],
)
def test_default_selection(keys: dict[str, str], llm: str, tts: str, offline_parts: list[str]) -> None:
    sel = choose_defaults(with_keys(**keys))
    assert (sel.llm, sel.tts) == (llm, tts)
    assert [r.split()[0] for r in sel.offline_reasons] == offline_parts
    assert sel.offline is bool(offline_parts)
    for reason in sel.offline_reasons:  # says why, naming the missing variable
        assert "API_KEY" in reason


def test_explicit_choice_wins_over_keys() -> None:
    sel = choose_defaults(with_keys(groq="g", elevenlabs="e"), llm="offline/phrasebook", tts="espeak")
    assert (sel.llm, sel.tts) == ("offline/phrasebook", "espeak")
    assert all("chosen" in r for r in sel.offline_reasons)


@pytest.mark.parametrize("spec", ["gemini", "groq/", "/model", "bard/x", ""])
def test_bad_spec_lists_providers(spec: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_llm_spec(spec)
    for provider in ("groq", "openai", "ollama", "local", "offline"):
        assert provider in str(err.value)


def test_spec_splits_at_first_slash() -> None:
    spec = parse_llm_spec("groq/openai/gpt-oss-20b")
    assert (spec.provider, spec.model) == ("groq", "openai/gpt-oss-20b")


def test_missing_key_names_variable_and_env_file() -> None:
    with pytest.raises(ConfigError) as err:
        Settings().require_key("elevenlabs")
    assert "ELEVENLABS_API_KEY" in str(err.value) and ".env" in str(err.value)


@pytest.mark.parametrize(
    ("keys", "failover", "primary", "chain"),
    [
        (
            {"groq": "g", "openai": "o"},
            "auto",
            "groq/m",
            ["groq/m", "openai/gpt-4o-mini", "offline/phrasebook"],
        ),
        ({"groq": "g"}, "auto", "groq/m", ["groq/m", "offline/phrasebook"]),
        (
            {"groq": "g", "openai": "o"},
            "auto",
            "openai/x",
            ["openai/x", "groq/llama-3.1-8b-instant", "offline/phrasebook"],
        ),
        ({"groq": "g"}, "off", "groq/m", ["groq/m"]),
        ({}, "auto", "offline/phrasebook", ["offline/phrasebook"]),
        (
            {"groq": "g"},
            "ollama/qwen2.5, groq/m",
            "groq/m",
            ["groq/m", "ollama/qwen2.5", "offline/phrasebook"],
        ),
    ],
)
def test_failover_chain(keys: dict[str, str], failover: str, primary: str, chain: list[str]) -> None:
    settings = with_keys(**keys).model_copy(update={"failover": failover})
    assert failover_chain(settings, primary) == chain


def test_dotenv_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("GROQ_API_KEY=from-dotenv\nNUANU_LANG=en\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NUANU_LANG", "ru")
    settings = Settings()
    assert settings.key("groq") == "from-dotenv"
    assert settings.lang == "ru"


def test_mask_never_shows_the_key() -> None:
    key = "gsk_abcdefghijklmnopqrstuvwxyz123456"
    masked = mask(key)
    assert key not in masked and len(masked) < 12 and masked.startswith("gsk_")
    assert mask(None) == "(not set)"
