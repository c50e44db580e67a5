"""Stored rows to values and files: decoding, `UtteranceResult` rebuilding, the JSON and CSV export shapes.

Pure functions over rows already read, so history views and bench files share one shape with the store.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nuanu_tui.core.quality import Quality
from nuanu_tui.core.store_schema import UTTERANCE_COLUMNS
from nuanu_tui.core.timeline import STAGES, UtteranceResult

_BOOL_COLUMNS = ("offline", "simulated", "ok", "degraded", "filtered")
_JSON_COLUMNS = {"provider_timings": dict, "notices": list, "voiced_by": list}
_NULLABLE_JSON = ("quality",)  # NULL stays None: not judged


def decode_row(row: sqlite3.Row) -> dict[str, Any]:
    item = {k: row[k] for k in UTTERANCE_COLUMNS}
    for key in _BOOL_COLUMNS:
        item[key] = bool(item[key])
    if item["ws_reused"] is not None:
        item["ws_reused"] = bool(item["ws_reused"])
    for key, kind in _JSON_COLUMNS.items():
        item[key] = json.loads(item[key]) if item[key] else kind()
    for key in _NULLABLE_JSON:
        item[key] = json.loads(item[key]) if item[key] else None
    return item


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def row_to_result(row: Mapping[str, Any]) -> UtteranceResult:
    """Rebuild an `UtteranceResult` from a decoded row (`ok` follows from `error`)."""
    return UtteranceResult(
        trigger=row["trigger"],
        llm=row["llm"],
        tts=row["tts"],
        text=row["text"],
        stages_ms={stage: row[f"{stage}_ms"] for stage in STAGES},
        ws_reused=row["ws_reused"],
        offline=row["offline"],
        simulated=row["simulated"],
        error=row["error"],
        error_kind=row["error_kind"],
        utterance_id=row["id"],
        started_at=row["started_at"],
        tokens=row["tokens"],
        chars=row["chars"],
        audio_seconds=row["audio_seconds"],
        provider_timings=row["provider_timings"],
        notices=list(row["notices"]),
        served_by=row["served_by"],
        voiced_by=list(row["voiced_by"]),
        degraded=row["degraded"],
        filtered=row["filtered"],
        source=row["source"],
        run_id=row["run_id"],
        mark=row.get("mark"),
        interjection=row["interjection"],
        interjection_ms=row["interjection_ms"],
        gap_ms=row["gap_ms"],
        net_rtt_ms={"llm": row.get("net_rtt_llm_ms"), "tts": row.get("net_rtt_tts_ms")},
        prompt=row.get("prompt"),
        quality=Quality.from_json(row["quality"]) if row.get("quality") else None,
    )


def result_json(result: UtteranceResult, **extra: Any) -> dict[str, Any]:
    """The `say --json` object plus the fields kept for history and bench files."""
    out = result.to_json()
    out.update(
        utterance_id=result.utterance_id,
        run_id=result.run_id,
        source=result.source,
        started_at=result.started_at,
        error_kind=result.error_kind,
        served_by=result.served_by,
        degraded=result.degraded,
        filtered=result.filtered,
        tokens=result.tokens,
        chars=result.chars,
        audio_seconds=result.audio_seconds,
        provider_timings=dict(result.provider_timings),
        notices=list(result.notices),
        mark=result.mark,
        interjection_ms=result.interjection_ms,
    )
    out.update(extra)
    return out


def write_csv(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """One row per utterance, every column; JSON columns as JSON text. Returns the row count."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(UTTERANCE_COLUMNS))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(row[k]) for k in UTTERANCE_COLUMNS})
            count += 1
    return count


def write_json(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """A JSON array: each utterance in the `say --json` shape plus its stored metadata."""
    items = [result_json(row_to_result(row), session_id=row["session_id"]) for row in rows]
    Path(path).write_text(json.dumps(items, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return len(items)
