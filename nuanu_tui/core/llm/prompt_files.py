"""The character's system prompts as versioned files: shipped in `assets/prompts/`, the user's own in
`DATA_DIR/prompts/` (a user file with a shipped prompt's name overrides it).

A prompt file is TOML: `name`, `version` (a whole number), `system` (sent verbatim), optionally
`max_tokens`, `temperature` and `notes`. Every utterance records which prompt spoke as `NAME@VERSION`, so a
change of wording must bump the version or the records mix two prompts under one label.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from nuanu_tui.core.assets import asset
from nuanu_tui.core.config import PROMPT_NAME
from nuanu_tui.core.errors import NuanuError

SHIPPED_DIR = "prompts"  # under assets/
USER_DIR = "prompts"  # under DATA_DIR
DEFAULT_PROMPT = {"ru": "default", "en": "default-en"}
FIELDS = ("name", "version", "system", "max_tokens", "temperature", "notes")
_CYRILLIC_RUN = re.compile(r"[а-яёА-ЯЁ]+")
_LATIN_RUN = re.compile(r"[A-Za-z]+")
_DIGIT_RUN = re.compile(r"\d+")
_OTHER = re.compile(r"[^\sа-яёА-ЯЁA-Za-z\d]")


@dataclass(frozen=True, slots=True)
class Prompt:
    """One prompt file, validated. `label` (NAME@VERSION) is what every utterance records."""

    name: str
    version: int
    system: str
    max_tokens: int | None = None
    temperature: float | None = None
    notes: str = ""
    source: str = ""  # the file it came from
    shipped: bool = True
    overrides: str | None = None  # a user prompt: the shipped file of the same name it hides

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def approx_tokens(self) -> int:
        return approx_tokens(self.system)


class PromptError(NuanuError):
    """A prompt file that cannot be read, parsed or used, or an unknown prompt name: one line, naming the
    file (a usage mistake: the commands exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__("prompt", message)


def approx_tokens(text: str) -> int:
    """A rough token count for BPE tokenizers of the Llama 3 / GPT-4o kind (no tokenizer is shipped): a
    Cyrillic run costs about one token per 3 letters (their vocabularies hold fewer Russian words), a Latin
    run one per 6, digits one per 3, and each other mark one. Good to about ±30 %: it compares prompts, it
    does not bill them."""
    tokens = sum(math.ceil(len(m) / 3) for m in _CYRILLIC_RUN.findall(text))
    tokens += sum(math.ceil(len(m) / 6) for m in _LATIN_RUN.findall(text))
    tokens += sum(math.ceil(len(m) / 3) for m in _DIGIT_RUN.findall(text))
    return tokens + len(_OTHER.findall(text))


def _toml_line(exc: tomllib.TOMLDecodeError) -> str:
    """TOML's own message, which ends "(at line N, column M)"; also on Pythons that add attributes."""
    return " ".join(str(exc).split())


def parse_prompt(text: str, source: str, *, shipped: bool) -> Prompt:
    """Validate one file's text. Raises PromptError naming `source` (and TOML's line) on any problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"bad prompt file {source}: {_toml_line(exc)}") from None
    return _from_table(data, source, shipped=shipped)


def _from_table(data: dict[str, Any], source: str, *, shipped: bool) -> Prompt:
    def bad(what: str) -> PromptError:
        return PromptError(f"bad prompt file {source}: {what}")

    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} (allowed: {', '.join(FIELDS)})")
    for key in ("name", "version", "system"):
        if key not in data:
            raise bad(f"missing {key!r}")
    name, version, system = data["name"], data["version"], data["system"]
    if not isinstance(name, str) or not PROMPT_NAME.fullmatch(name):
        raise bad("'name' must be letters, digits, '-', '_' or '.' (at most 64), e.g. \"minimal\"")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise bad("'version' must be a whole number >= 1")
    if not isinstance(system, str) or not system.strip():
        raise bad("'system' must be non-empty text")
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 8 <= max_tokens <= 1024
    ):
        raise bad("'max_tokens' must be a whole number from 8 to 1024")
    temperature = data.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 <= temperature <= 2
    ):
        raise bad("'temperature' must be a number from 0 to 2")
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        raise bad("'notes' must be text")
    return Prompt(
        name=name,
        version=version,
        system=system,
        max_tokens=max_tokens,
        temperature=None if temperature is None else float(temperature),
        notes=" ".join(notes.split()),
        source=source,
        shipped=shipped,
    )


@cache
def shipped_prompts() -> dict[str, Prompt]:
    """The prompts in assets/prompts (read once: they are part of the package)."""
    folder = asset(SHIPPED_DIR)
    found: dict[str, Prompt] = {}
    for node in sorted(folder.iterdir(), key=lambda n: n.name):
        if not node.name.endswith(".toml"):
            continue
        source = f"assets/{SHIPPED_DIR}/{node.name}"
        prompt = parse_prompt(node.read_text(encoding="utf-8"), source, shipped=True)
        if prompt.name in found:
            raise PromptError(
                f"bad prompt file {source}: name {prompt.name!r} is also in {found[prompt.name].source}"
            )
        found[prompt.name] = prompt
    return found


def user_prompts(data_dir: Path) -> dict[str, Prompt]:
    """DATA_DIR/prompts/*.toml, validated. A missing folder is no prompts; a bad file is a PromptError."""
    folder = Path(data_dir) / USER_DIR
    if not folder.is_dir():
        return {}
    found: dict[str, Prompt] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise PromptError(f"bad prompt file {path}: cannot read it ({exc.strerror or exc})") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise PromptError(f"bad prompt file {path}: not UTF-8 text (at line {line})") from None
        prompt = parse_prompt(text, str(path), shipped=False)
        if prompt.name in found:
            raise PromptError(
                f"bad prompt file {path}: name {prompt.name!r} is also in {found[prompt.name].source}"
            )
        found[prompt.name] = prompt
    return found


def load_prompts(data_dir: Path | None) -> dict[str, Prompt]:
    """Every prompt by name: shipped ones, then the user's (same name: the user's wins, marked so)."""
    prompts = dict(shipped_prompts())
    if data_dir is not None:
        for name, prompt in user_prompts(data_dir).items():
            hidden = prompts.get(name)
            if hidden is not None:
                prompt = replace(prompt, overrides=hidden.source)
            prompts[name] = prompt
    return dict(sorted(prompts.items()))


def default_prompt_name(lang: str) -> str:
    return DEFAULT_PROMPT.get(lang, DEFAULT_PROMPT["ru"])


def default_system(lang: str) -> str:
    """The shipped default prompt's text for `lang` (what a request without a chosen prompt carries)."""
    return shipped_prompts()[default_prompt_name(lang)].system


def choose_prompt(prompts: dict[str, Prompt], name: str | None, lang: str = "ru") -> Prompt:
    """`name` (from --prompt or NUANU_PROMPT), else the default for `lang`. Unknown: a one-line error."""
    wanted = name or default_prompt_name(lang)
    prompt = prompts.get(wanted)
    if prompt is None:
        raise PromptError(
            f"unknown prompt {wanted!r}: available: {', '.join(prompts)} (see `nuanu-tui prompts`)"
        )
    return prompt
