"""Rides as JSON lines: every event with its original timestamp and the decision it got.

A recording is replayable as it is, and so is a plain event file (the sample rides): `replay_items` reads
both. Camera frames are recorded as they were taken (their `ts` filled in); the events the tracker made from
them are recorded too, for the reader, but a replay skips them: tracking the frames again makes them again. Lines of a recording carry a `decision`; their `event` is replayed with its original `ts`, and the raw
text of a malformed line is replayed as it was, so a replay meets the same mistakes. The token is never
written: unauthorized messages are recorded without their content, and raw text is scrubbed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from nuanu_tui.core.errors import ConfigError
from nuanu_tui.core.redact import scrub

RIDES_DIR = "rides"


@dataclass(frozen=True, slots=True)
class ReplayItem:
    """One line to replay: raw text (as a feed would receive it) and its timestamp, when it has one."""

    raw: str
    ts: float | None


def rides_dir(data_dir: Path) -> Path:
    return data_dir / RIDES_DIR


def new_ride_path(data_dir: Path, label: str = "ride") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime())
    base = rides_dir(data_dir)
    path = base / f"{stamp}-{label}.jsonl"
    n = 1
    while path.exists():
        n += 1
        path = base / f"{stamp}-{label}-{n}.jsonl"
    return path


class RideRecorder:
    """Appends one line per decision; buffered, flushed on close (and every `flush_every` lines)."""

    def __init__(self, path: Path, secrets: Iterable[str] = (), flush_every: int = 64) -> None:
        self.path = path
        self._secrets = [s for s in secrets if s]
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = path.open("a", encoding="utf-8")
        self._n = 0
        self._flush_every = flush_every

    def write(self, line: dict[str, Any]) -> None:
        if self._file is None:
            return
        raw = line.get("raw")
        if isinstance(raw, str):
            line = {**line, "raw": scrub(raw, self._secrets)}
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._n += 1
        if self._n % self._flush_every == 0:
            self._file.flush()

    def write_frame(self, frame: dict[str, Any]) -> None:
        """A camera frame (a hundred a second under load): orjson, 8x cheaper than `json` here."""
        if self._file is None:
            return
        self._file.write(orjson.dumps(frame).decode() + "\n")
        self._n += 1
        if self._n % self._flush_every == 0:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _ts_of(obj: Any) -> float | None:
    ts = obj.get("ts") if isinstance(obj, dict) else None
    return float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else None


def replay_items(text: str) -> list[ReplayItem]:
    """Lines of a ride file in order; `#` comments and blank lines skipped."""
    items: list[ReplayItem] = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        try:
            obj = json.loads(s)
        except ValueError:
            items.append(ReplayItem(s, None))
            continue
        if isinstance(obj, dict) and "decision" in obj:  # a recorded ride
            if str(obj.get("source", "")).startswith("camera:"):
                continue  # made by the tracker from the frames recorded before it: they make it again
            event = obj.get("event")
            if isinstance(event, dict):
                items.append(ReplayItem(json.dumps(event, ensure_ascii=False), _ts_of(event)))
            elif isinstance(obj.get("raw"), str):
                items.append(ReplayItem(obj["raw"], None))
            continue  # unauthorized/oversize lines have no content to replay
        items.append(ReplayItem(s, _ts_of(obj)))
    return items


def load_replay(path: str | Path) -> list[ReplayItem]:
    """A ride file by path, or a sample ride by name (`village_street`, `rides/village_street.jsonl`)."""
    from nuanu_tui.core.assets import asset

    candidate = Path(path).expanduser()
    if not candidate.exists():
        name = str(path).removeprefix("assets/").removeprefix("rides/")
        name = name if name.endswith(".jsonl") else f"{name}.jsonl"
        shipped = asset(f"rides/{name}")
        if shipped.is_file():
            return replay_items(shipped.read_text(encoding="utf-8"))
        raise ConfigError(
            f"ride file {str(path)!r} not found (a path, or a sample: {', '.join(sample_rides())})"
        )
    try:
        return replay_items(candidate.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"ride file {str(candidate)!r} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read ride file {str(candidate)!r}: {exc.strerror or exc}") from None


def sample_rides() -> list[str]:
    from nuanu_tui.core.assets import asset_files

    return [n.removesuffix(".jsonl") for n in asset_files("rides", ".jsonl")]
