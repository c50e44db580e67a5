"""Benchmark statistics: per LLM spec a success line (with the quality rubric's flag counts), then per stage
n, mean, p50, p90, p95, min, max, stdev, with the spec's quality (clean share, median words and seconds)
in a column of its own on its first row.

Takes the bench JSON summary shape (live from the bridge or stored in history), so one widget serves both.
Rows are keyed by spec and stage; a refresh only rewrites cells whose text changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowDoesNotExist

from nuanu_tui.ui.messages import StageDeltaView

STAT_COLUMNS = ("n", "mean", "p50", "p90", "p95", "min", "max", "stdev")
SPEC_W = 20
QUALITY_W = 13


def short(spec: str, width: int = SPEC_W) -> str:
    return spec if len(spec) <= width else spec[: width - 1] + "…"


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    return f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"


def quality_cell(item: Mapping[str, Any]) -> str:
    """ "70% 12w 3.4s": the share of clean remarks, median words and audio seconds ("—" before any)."""
    q = item.get("quality") or {}
    if not q.get("n"):
        return "—"
    share = q.get("clean_share")
    words, seconds = q.get("words_p50"), q.get("seconds_p50")
    return (
        f"{'—' if share is None else f'{100.0 * share:.0f}%'}"
        f" {'—' if words is None else f'{words:g}'}w"
        f" {'—' if seconds is None else f'{seconds:.1f}'}s"
    )


def success_line(spec: str, item: Mapping[str, Any]) -> str:
    total, ok = int(item.get("total", 0)), int(item.get("ok", 0))
    rate = f"{100.0 * ok / total:.0f}%" if total else "—"
    line = f"[b]{escape(spec)}[/]  ok {ok}/{total} ({rate})"
    kinds = item.get("errors_by_kind") or {}
    if kinds:
        line += "  [$error]errors: " + escape(", ".join(f"{k}×{n}" for k, n in kinds.items())) + "[/]"
    if item.get("degraded"):
        line += f"  [$warning]degraded {item['degraded']} (not in stats)[/]"
    flags = (item.get("quality") or {}).get("flags") or {}
    if flags:
        line += "  [$warning]" + escape(", ".join(f"{k}×{n}" for k, n in flags.items())) + "[/]"
    return line


class StatsTable(Vertical):
    """`show(summary, stages, labels)` with a summary dict {spec: bench JSON}; safe to call often."""

    DEFAULT_CSS = """
    StatsTable { height: auto; max-height: 100%; }
    StatsTable > #stats-success { height: auto; padding: 0 1; }
    StatsTable > DataTable { height: auto; max-height: 100%; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.summary: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Static("[dim]no results yet[/]", id="stats-success")
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_column("spec", key="spec", width=SPEC_W)
        table.add_column("quality", key="quality", width=QUALITY_W)  # clean share, median words, seconds
        table.add_column("stage", key="stage", width=16)
        for col in STAT_COLUMNS:
            table.add_column(col, key=col)
        yield table

    def show(self, summary: Mapping[str, Any], stages: tuple[str, ...], labels: Mapping[str, str]) -> None:
        self.summary = dict(summary)
        lines = [success_line(spec, item) for spec, item in summary.items()]
        self.query_one("#stats-success", Static).update("\n".join(lines) or "[dim]no results yet[/]")
        table = self.query_one(DataTable)
        wanted: list[str] = []
        for spec, item in summary.items():
            for stage in stages:
                key = f"{spec}|{stage}"
                wanted.append(key)
                st = item.get(stage) or {}
                label = labels.get(stage, stage) + (" ★" if stage == "first_audio" else "")
                first = stage == stages[0]
                cells = [
                    short(spec) if first else "",
                    quality_cell(item) if first else "",
                    label,
                    *(fmt(st.get(c)) for c in STAT_COLUMNS),
                ]
                try:
                    row = table.get_row(key)
                except RowDoesNotExist:
                    table.add_row(*cells, key=key)
                    continue
                for col, old, new in zip(
                    ("spec", "quality", "stage", *STAT_COLUMNS), row, cells, strict=True
                ):
                    if str(old) != new:
                        table.update_cell(key, col, new)
        for row_key in list(table.rows):
            if row_key.value not in wanted:
                table.remove_row(row_key)

    def clear(self) -> None:
        self.summary = {}
        self.query_one(DataTable).clear()
        self.query_one("#stats-success", Static).update("[dim]no results yet[/]")


class DeltaTable(DataTable[str]):
    """Per spec and stage: earlier median, this median, Δ ms and ratio (this / earlier)."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for col in ("spec", "stage", "earlier p50", "this p50", "Δ ms", "ratio"):
            self.add_column(col, key=col)

    def show(self, deltas: Mapping[str, Mapping[str, StageDeltaView]], labels: Mapping[str, str]) -> None:
        self.clear()
        for spec, stages in deltas.items():
            for stage, d in stages.items():
                delta = "—" if d.delta_ms is None else f"{d.delta_ms:+,.1f}"
                style = (
                    ""
                    if d.delta_ms is None
                    else ("green" if d.delta_ms < 0 else "red" if d.delta_ms > 0 else "")
                )
                self.add_row(
                    spec,
                    labels.get(stage, stage),
                    fmt(d.old_p50),
                    fmt(d.new_p50),
                    Text(delta, style=style),  # type: ignore[arg-type]
                    "—" if d.ratio is None else f"{d.ratio:.3f}",
                    key=f"{spec}|{stage}",
                )
