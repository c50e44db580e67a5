"""Prompt files: the shipped ones, the user's overrides, validation, and the text reaching the LLM verbatim."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nuanu_tui.core.config import LLMSpec, Settings
from nuanu_tui.core.llm.base import LLMRequest, LLMStats
from nuanu_tui.core.llm.cloud import CloudLLM
from nuanu_tui.core.llm.prompt_files import (
    PromptError,
    approx_tokens,
    choose_prompt,
    load_prompts,
    parse_prompt,
    shipped_prompts,
)
from nuanu_tui.core.llm.prompts import build_messages
from tests.conftest import FAKE_KEYS

GOOD = 'name = "mine"\nversion = 3\nsystem = "Шути коротко."\n'


# sha256 of the system prompts in use before they became files (SYSTEM_PROMPTS in core/llm/prompts.py, checked
# equal to the files when they moved): providers' prompt caches keep hitting only while these hold.
BEFORE_FILES = {
    "default": "a0f2090a06b00f21f049bbf5e28944816bc7c2917af061e30559aa4a3fd0a0bb",
    "default-en": "e5e8836745ab554d9d403a9f135caf501224fcb30b5c18d38d7ff793b8483983",
}


def test_shipped_default_is_the_prompt_in_use_byte_for_byte() -> None:
    shipped = shipped_prompts()
    for name, digest in BEFORE_FILES.items():
        assert hashlib.sha256(shipped[name].system.encode("utf-8")).hexdigest() == digest, name
        assert shipped[name].label == f"{name}@1"
        assert shipped[name].max_tokens is None and shipped[name].temperature is None  # settings rule
    assert build_messages("две собаки", "ru")[0]["content"] == shipped["default"].system
    assert build_messages("two dogs", "en")[0]["content"] == shipped["default-en"].system


def test_shipped_minimal_is_short_and_says_why() -> None:
    minimal = shipped_prompts()["minimal"]
    assert minimal.label == "minimal@1"
    assert minimal.approx_tokens < shipped_prompts()["default"].approx_tokens / 3
    assert minimal.max_tokens == 48 and "seed" in minimal.notes


def test_approx_tokens_counts_runs_by_script() -> None:
    assert approx_tokens("") == 0
    assert approx_tokens("собака") == 2  # 6 Cyrillic letters: ~3 a token
    assert approx_tokens("shuttle") == 2  # 7 Latin letters: ~6 a token
    assert approx_tokens("Бали, 2026!") == 2 + 1 + 2 + 1


def test_user_prompt_overrides_a_shipped_one_and_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "default.toml").write_text(
        'name = "default"\nversion = 7\nsystem = "Своё."\n', encoding="utf-8"
    )
    (folder / "extra.toml").write_text(GOOD, encoding="utf-8")
    prompts = load_prompts(tmp_path)
    assert prompts["default"].label == "default@7" and prompts["default"].system == "Своё."
    assert prompts["default"].overrides == "assets/prompts/default.toml" and not prompts["default"].shipped
    assert prompts["default"].source == str(folder / "default.toml")
    assert prompts["mine"].overrides is None and prompts["mine"].label == "mine@3"
    assert prompts["minimal"].shipped  # the rest stay
    assert choose_prompt(prompts, None, "ru").label == "default@7"
    assert choose_prompt(prompts, None, "en").name == "default-en"
    assert load_prompts(None)["default"].label == "default@1"  # no data dir: shipped only


def test_unknown_prompt_lists_the_known_ones() -> None:
    with pytest.raises(Exception) as info:
        choose_prompt(load_prompts(None), "nope")
    assert "unknown prompt 'nope'" in str(info.value) and "minimal" in str(info.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('name = "x"\nversion = 1\nsystem = "a\n', "at line 3"),  # unterminated string: TOML's line
        ('name = "x"\nversion = 1\nsystem =\n', "at line 3"),
        ('name = "x"\nsystem = "a"\n', "missing 'version'"),
        ('version = 1\nsystem = "a"\n', "missing 'name'"),
        ('name = "x"\nversion = 1\n', "missing 'system'"),
        ('name = "x"\nversion = 0\nsystem = "a"\n', "'version' must be a whole number >= 1"),
        ('name = "x"\nversion = "2"\nsystem = "a"\n', "'version' must be a whole number >= 1"),
        ('name = "x"\nversion = true\nsystem = "a"\n', "'version' must be a whole number >= 1"),
        ('name = "x y"\nversion = 1\nsystem = "a"\n', "'name' must be"),
        ('name = "x@1"\nversion = 1\nsystem = "a"\n', "'name' must be"),
        ('name = "x"\nversion = 1\nsystem = "  "\n', "'system' must be non-empty text"),
        ('name = "x"\nversion = 1\nsystem = "a"\nmax_tokens = 7\n', "'max_tokens' must be"),
        ('name = "x"\nversion = 1\nsystem = "a"\ntemperature = 2.5\n', "'temperature' must be"),
        ('name = "x"\nversion = 1\nsystem = "a"\nnotes = 3\n', "'notes' must be text"),
        ('name = "x"\nversion = 1\nsystem = "a"\nsytem = "typo"\n', "unknown key 'sytem'"),
    ],
)
def test_a_bad_prompt_file_is_one_line_naming_it(text: str, says: str) -> None:
    with pytest.raises(PromptError) as info:
        parse_prompt(text, "/data/prompts/x.toml", shipped=False)
    message = info.value.message
    assert message.startswith("bad prompt file /data/prompts/x.toml: ") and says in message
    assert "\n" not in message


def test_bounds_are_inclusive() -> None:
    low = parse_prompt(GOOD + "max_tokens = 8\ntemperature = 0\n", "f", shipped=False)
    high = parse_prompt(GOOD + "max_tokens = 1024\ntemperature = 2\n", "f", shipped=False)
    assert (low.max_tokens, low.temperature, high.max_tokens, high.temperature) == (8, 0.0, 1024, 2.0)


def test_user_folder_problems_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "a.toml").write_text(GOOD, encoding="utf-8")
    (folder / "b.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(PromptError, match=r"b\.toml: name 'mine' is also in .*a\.toml"):
        load_prompts(tmp_path)
    (folder / "b.toml").write_bytes(b'name = "b"\nversion = 1\nsystem = "\xff"\n')
    with pytest.raises(PromptError, match=r"b\.toml: not UTF-8 text \(at line 3\)"):
        load_prompts(tmp_path)


async def test_the_llm_request_carries_the_file_text_verbatim(sim: object, tmp_path: Path) -> None:
    """A real client against the emulator: the system message it receives is the file's text, exactly."""
    folder = tmp_path / "prompts"
    folder.mkdir()
    toml = 'Ты — кот-экскурсовод.  Два пробела, «кавычки», \\"прямые\\" и\\nперенос строки остаются как есть.'
    (folder / "cat.toml").write_text(f'name = "cat"\nversion = 2\nsystem = "{toml}"\n', encoding="utf-8")
    prompt = choose_prompt(load_prompts(tmp_path), "cat")
    assert (
        prompt.system
        == 'Ты — кот-экскурсовод.  Два пробела, «кавычки», "прямые" и\nперенос строки остаются как есть.'
    )
    settings = Settings(
        GROQ_API_KEY=FAKE_KEYS["GROQ_API_KEY"],
        GROQ_BASE_URL=sim.groq_base_url,  # type: ignore[attr-defined]
    )
    llm = CloudLLM(LLMSpec("groq", "llama-3.1-8b-instant"), settings)
    try:
        for fast in (True, False):  # the hot path's own body and the SDK's
            llm.fast_path = fast
            request = LLMRequest(
                trigger="две собаки слева", system=prompt.system, max_tokens=prompt.max_tokens or 80
            )
            text_out = "".join([d async for d in llm.stream(request, LLMStats())])
            assert text_out
            body = sim.requests[-1]  # type: ignore[attr-defined]
            assert body["messages"][0] == {"role": "system", "content": prompt.system}
            assert body["messages"][1]["content"].endswith('"две собаки слева"')
    finally:
        await llm.aclose()


# --- the command line --------------------------------------------------------------------------------------
def cli(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUANU_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "nuanu_tui", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_prompts_lists_name_version_source_tokens_and_overrides(tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "default.toml").write_text(
        'name = "default"\nversion = 4\nsystem = "Шути."\n', encoding="utf-8"
    )
    proc = cli("prompts", data=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["name", "version", "~tokens", "source"]
    mine = next(line for line in lines if " default " in f" {line} ")
    assert mine.split()[:5] == ["*", "default", "4", "3", str(folder / "default.toml")]
    assert "(overrides assets/prompts/default.toml)" in mine
    minimal = next(line for line in lines if "minimal" in line)
    assert minimal.split() == ["minimal", "1", "29", "assets/prompts/minimal.toml"]
    assert lines[-1].startswith("* in use: default")
    picked = cli("--prompt", "minimal", "prompts", data=tmp_path)
    assert next(line for line in picked.stdout.splitlines() if "minimal" in line).startswith("*")


@pytest.mark.parametrize("command", [["say", "две собаки", "--json"], ["prompts"], ["bench", "--runs", "1"]])
def test_a_bad_prompt_file_stops_every_command_with_one_line(tmp_path: Path, command: list[str]) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "broken.toml").write_text(
        'name = "broken"\nversion = 1\nsystem = "не закрыта\n', encoding="utf-8"
    )
    proc = (
        cli(*command, "--audio", "null", data=tmp_path)
        if command[0] != "prompts"
        else cli(*command, data=tmp_path)
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert f"bad prompt file {folder / 'broken.toml'}" in lines[0] and "at line 3" in lines[0]
    if "--json" in command:
        data = json.loads(proc.stdout)
        assert data["ok"] is False and data["error_kind"] == "prompt"


def test_an_unknown_prompt_name_is_a_usage_error(tmp_path: Path) -> None:
    proc = cli("say", "две собаки", "--prompt", "nope", "--audio", "null", data=tmp_path)
    assert (
        proc.returncode == 2
        and "unknown prompt 'nope': available: default, default-en, minimal" in proc.stderr
    )


def test_an_unknown_prompt_setting_leaves_doctor_and_prompts_working(tmp_path: Path) -> None:
    """The commands an operator runs to find what is wrong must not be stopped by it."""
    listed = cli("--prompt", "nope", "prompts", data=tmp_path)
    names = [line.split()[0] for line in listed.stdout.splitlines()[1:4]]
    assert names == ["default", "default-en", "minimal"] and "Traceback" not in listed.stderr
    assert listed.stdout.splitlines()[-1].startswith("! none in use: unknown prompt 'nope'")
    assert listed.returncode == 2
    doctor = subprocess.run(
        [sys.executable, "-m", "nuanu_tui", "doctor"],
        env={**os.environ, "NUANU_DATA_DIR": str(tmp_path), "NUANU_PROMPT": "nope"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert doctor.returncode == 0 and "unknown prompt" not in doctor.stderr, doctor.stderr


@pytest.mark.slow
def test_say_with_a_user_prompt_sends_its_text_and_records_its_label(
    sim: object, sim_env: dict[str, str], tmp_path: Path
) -> None:
    """End to end: `say --prompt` through the real CLI; the emulator receives the file's text verbatim."""
    folder = tmp_path / "data" / "prompts"
    folder.mkdir(parents=True)
    text = "Ты — ворчливый, но добрый шаттл.  Говори одной фразой."
    (folder / "grumpy.toml").write_text(
        f'name = "grumpy"\nversion = 3\nmax_tokens = 33\ntemperature = 0.2\nsystem = "{text}"\n',
        encoding="utf-8",
    )
    env = {**sim_env, "NUANU_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run(
        [sys.executable, "-m", "nuanu_tui", "say", "две собаки слева", "--prompt", "grumpy", "--no-failover",
         "--llm", "groq/llama-3.1-8b-instant", "--tts", "elevenlabs", "--audio", "null", "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["prompt"] == "grumpy@3" and data["quality"] is not None
    body = next(
        b for b in reversed(sim.requests) if b.get("stream") and "две собаки слева" in str(b["messages"])
    )  # type: ignore[attr-defined]
    assert body["messages"][0] == {"role": "system", "content": text}
    assert (body["max_tokens"], body["temperature"]) == (33, 0.2)  # the file's own limits


@pytest.mark.slow
def test_a_prompt_whose_max_tokens_cuts_the_answer_is_flagged_cut_off(
    sim: object, sim_env: dict[str, str], tmp_path: Path
) -> None:
    """The file's max_tokens reaches the provider, which stops on "length"; the rubric says cut_off."""
    folder = tmp_path / "data" / "prompts"
    folder.mkdir(parents=True)
    (folder / "tight.toml").write_text(
        'name = "tight"\nversion = 1\nmax_tokens = 8\nsystem = "Шути."\n', encoding="utf-8"
    )
    env = {**sim_env, "NUANU_DATA_DIR": str(tmp_path / "data"), "NUANU_PROMPT": "tight"}
    proc = subprocess.run(
        [sys.executable, "-m", "nuanu_tui", "say", "камера, слон на мопеде", "--no-failover",
         "--llm", "openai/gpt-4o-mini", "--tts", "elevenlabs", "--audio", "null", "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["prompt"] == "tight@1"
    assert data["quality"]["complete"] is False and "cut_off" in data["quality"]["flags"]
    assert 0 < data["quality"]["words"] <= 8
