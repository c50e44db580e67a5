"""Arena votes as values and as a file: what a configuration is called, one vote, and the JSON-lines format
votes travel in between consoles and shuttles.

Why it looks like this: a vote names both sides by their configuration ("LLM_SPEC · PROMPT@VERSION ·
TTS_SPEC"), not by lane or utterance, so votes from several machines pool into one rating. A vote file is
read whole before anything is stored: a bad line refuses the file (`VoteFileError` names the file and the
line), so a half-imported file never skews the ratings.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from nuanu_tui.core.errors import NuanuError

Winner = Literal["a", "b", "tie"]
WINNERS: tuple[Winner, ...] = ("a", "b", "tie")
SEPARATOR = " · "
NO_PROMPT = "-"  # the offline phrasebook asks no prompt
EXPORT_FIELDS = ("id", "ts", "a", "b", "winner", "trigger", "operator")
MAX_ID = 64


def config_name(llm: str, prompt: str | None, tts: str) -> str:
    """`"LLM_SPEC · PROMPT@VERSION · TTS_SPEC"`: what a rating or a like is counted for."""
    return SEPARATOR.join((llm, prompt or NO_PROMPT, tts))


def config_of(item: Any) -> str:
    """The configuration of an utterance (a result, a view or a decoded row, anything with `llm`, `tts`
    and optionally `served_by` and `prompt`): the LLM that wrote the text, the prompt it was asked with,
    the TTS it was meant for."""
    get = item.get if isinstance(item, dict) else lambda key: getattr(item, key, None)
    return config_name(get("served_by") or get("llm") or "", get("prompt"), get("tts") or "")


def new_vote_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Vote:
    """One arena verdict: `a` and `b` are the configurations shown as A and B; `winner` is a, b or tie.
    The utterance ids and session stay on the machine that voted (they mean nothing elsewhere)."""

    id: str
    ts: float
    a: str
    b: str
    winner: Winner
    trigger: str = ""
    operator: str = ""
    a_utterance: str | None = None
    b_utterance: str | None = None
    session_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The exported line's fields (design.md's vote shape)."""
        return {
            "id": self.id,
            "ts": self.ts,
            "a": self.a,
            "b": self.b,
            "winner": self.winner,
            "trigger": self.trigger,
            "operator": self.operator,
        }


def make_vote(
    a: str,
    b: str,
    winner: Winner,
    *,
    trigger: str = "",
    operator: str = "",
    utterances: tuple[str | None, str | None] = (None, None),
    session_id: str | None = None,
    ts: float | None = None,
) -> Vote:
    """A fresh vote with a new id, stamped now (wall time: votes are compared across machines)."""
    vote = Vote(
        id=new_vote_id(),
        ts=time.time() if ts is None else ts,
        a=a,
        b=b,
        winner=winner,
        trigger=trigger,
        operator=operator,
        a_utterance=utterances[0],
        b_utterance=utterances[1],
        session_id=session_id,
    )
    problem = _problem(vote)
    if problem is not None:
        raise NuanuError("input", f"not a vote: {problem}")
    return vote


class VoteFileError(NuanuError):
    """A vote file that cannot be imported; the message names the file and, when it is a line, the line."""

    def __init__(self, message: str) -> None:
        super().__init__("input", message)


def _problem(vote: Vote) -> str | None:
    if not vote.id or len(vote.id) > MAX_ID:
        return f"id must be 1 to {MAX_ID} characters"
    if not math.isfinite(vote.ts) or vote.ts <= 0:
        return "ts must be a positive number of seconds since 1970"
    if not vote.a.strip() or not vote.b.strip():
        return "a and b must name configurations"
    if vote.a == vote.b:
        return "a and b are the same configuration"
    if vote.winner not in WINNERS:
        return f"winner must be one of {', '.join(WINNERS)}"
    return None


def vote_from_json(data: Any) -> Vote:
    """One decoded line to a Vote; ValueError says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("a vote must be a JSON object")
    missing = [key for key in ("id", "ts", "a", "b", "winner") if key not in data]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    for key in ("id", "a", "b", "winner"):
        if not isinstance(data[key], str):
            raise ValueError(f"{key} must be a string")
    for key in ("trigger", "operator"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValueError(f"{key} must be a string")
    ts = data["ts"]
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        raise ValueError("ts must be a number (seconds since 1970)")
    vote = Vote(
        id=data["id"],
        ts=float(ts),
        a=data["a"],
        b=data["b"],
        winner=data["winner"],  # type: ignore[arg-type]  # checked just below
        trigger=data.get("trigger") or "",
        operator=data.get("operator") or "",
    )
    problem = _problem(vote)
    if problem is not None:
        raise ValueError(problem)
    return vote


def read_votes(path: str | os.PathLike[str]) -> list[Vote]:
    """Every vote in a JSON-lines file, in file order; blank lines are skipped. The first bad line
    raises VoteFileError naming the file and the line number (nothing is returned, so nothing stored)."""
    name = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VoteFileError(f"{name}: no such file") from None
    except UnicodeDecodeError:
        raise VoteFileError(f"{name}: not UTF-8 text") from None
    except OSError as exc:
        raise VoteFileError(f"{name}: cannot read it ({exc.strerror})") from None
    return list(_parse_lines(name, text.splitlines()))


def _parse_lines(name: str, lines: Iterable[str]) -> Iterator[Vote]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VoteFileError(f"{name}:{number}: not JSON ({exc.msg})") from None
        try:
            yield vote_from_json(data)
        except ValueError as exc:
            raise VoteFileError(f"{name}:{number}: {exc}") from None


def write_votes(path: str | os.PathLike[str], votes: Iterable[Vote]) -> int:
    """One vote per line (`EXPORT_FIELDS`), UTF-8; returns how many were written."""
    lines = [json.dumps(vote.to_json(), ensure_ascii=False) + "\n" for vote in votes]
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
    except OSError as exc:
        raise VoteFileError(f"{os.fspath(path)}: cannot write it ({exc.strerror})") from None
    return len(lines)
