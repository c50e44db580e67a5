"""Trigger sets for benchmarks and demos: the built-in seed and ride sets, or the operator's own file."""

from __future__ import annotations

import json
from pathlib import Path

from nuanu_tui.core.assets import read_asset
from nuanu_tui.core.errors import NuanuError

SEED_TRIGGERS: tuple[str, ...] = (
    "камера, две собаки слева на обочине",
    "впереди группа туристов, фотографируют храм",
    "справа скутер обгоняет",
    "проезжаем рисовые поля, красиво",
    "перекрёсток, слева грузовик с кокосами",
)
BUILTIN_SETS = ("seed", "ride")


def _config_error(message: str) -> NuanuError:
    return NuanuError("config", message)


def _parse_text(lines: list[str]) -> list[str]:
    """One trigger per line; blank lines and `#` comments are skipped."""
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def _parse_jsonl(lines: list[str], origin: str) -> list[str]:
    """One JSON object per line with a non-empty string `trigger` field; `#` lines and blanks skipped."""
    out: list[str] = []
    for lineno, line in enumerate(lines, start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        try:
            obj = json.loads(s)
        except json.JSONDecodeError as exc:
            raise _config_error(f"{origin}:{lineno}: not valid JSON ({exc.msg})") from None
        trigger = obj.get("trigger") if isinstance(obj, dict) else None
        if not isinstance(trigger, str) or not trigger.strip():
            raise _config_error(f'{origin}:{lineno}: expected an object with a non-empty "trigger" string')
        out.append(" ".join(trigger.split()))
    return out


def _looks_like_jsonl(path: Path, lines: list[str]) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return True
    first = next((s for s in (line.strip() for line in lines) if s and not s.startswith("#")), "")
    return first.startswith("{")


def parse_triggers(text: str, origin: str = "<text>", *, jsonl: bool | None = None) -> list[str]:
    """Parse a trigger file's content (plain text or JSONL, auto-detected unless `jsonl` is given)."""
    lines = text.splitlines()
    if jsonl is None:
        jsonl = _looks_like_jsonl(Path(origin), lines)
    triggers = _parse_jsonl(lines, origin) if jsonl else _parse_text(lines)
    if not triggers:
        raise _config_error(f"{origin}: no triggers found (one per line; blank lines and # comments skipped)")
    return triggers


def load_triggers(name_or_path: str) -> list[str]:
    """`seed`, `ride`, or a path to a text file (one trigger a line) or JSONL file (`{"trigger": ...}`)."""
    if name_or_path == "seed":
        return list(SEED_TRIGGERS)
    if name_or_path == "ride":
        text = read_asset("triggers/ride.txt")
        return parse_triggers(text, "ride.txt", jsonl=False)
    path = Path(name_or_path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _config_error(
            f"trigger file {str(path)!r} not found (use seed, ride or a path to a text/JSONL file)"
        ) from None
    except UnicodeDecodeError:
        raise _config_error(f"trigger file {str(path)!r} is not UTF-8 text") from None
    except OSError as exc:
        raise _config_error(f"cannot read trigger file {str(path)!r}: {exc.strerror or exc}") from None
    return parse_triggers(text, str(path))
