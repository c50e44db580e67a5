"""History: stored sessions, bench runs and utterances; provider filter; CSV/JSON export; open a run.

Every store query and export runs in a thread worker (the store is SQLite on disk): the UI thread only
receives plain rows and fills tables.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Input, Select, Static, TabbedContent, TabPane

from nuanu_tui.ui.screens.modals import RunReportModal, WaterfallModal
from nuanu_tui.ui.widgets.latency_plot import RttPlot

if TYPE_CHECKING:
    from nuanu_tui.ui.history_bridge import HistoryBridge
    from nuanu_tui.ui.host import NuanuHost
    from nuanu_tui.ui.link import EngineLink

ALL = "all"
DEFAULT_EXPORT = "nuanu-history"
QUERY_GROUP = "history-query"


def when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "—"


def ms(value: Any) -> str:
    return "—" if value is None else f"{float(value):,.0f}"


def quality_cell(quality: dict[str, Any] | None) -> str:
    """The rubric's verdict in one cell: its flags, a tick when it had none, a dash when not judged."""
    if not quality:
        return "—"
    return " ".join(quality.get("flags") or []) or "✓"


class HistoryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "refresh", "Refresh", id="history-refresh"),
        Binding("f3", "export('csv')", "Export CSV", id="history-export-csv"),
        Binding("f4", "export('json')", "Export JSON", id="history-export-json"),
        Binding("f6", "next_tab", "Next tab", id="history-next-tab"),
        Binding("ctrl+o", "app.open_mode('console')", "Console", id="history-to-console"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, Any] = {}
        self.provider: str | None = None
        self.flag: str | None = None  # only remarks the quality rubric flagged so (None: any)
        self.last_export: tuple[str, int] | None = None

    @property
    def nuanu(self) -> NuanuHost:
        return cast("NuanuHost", self.app)

    @property
    def link(self) -> EngineLink:
        return self.nuanu.link

    @property
    def store_view(self) -> HistoryBridge:
        """Stored sessions and runs (the history bridge, over the same link)."""
        from nuanu_tui.ui.history_bridge import HistoryBridge

        return HistoryBridge(self.link)

    def compose(self) -> ComposeResult:
        with Horizontal(id="history-controls"):
            yield Select(
                [("all providers", ALL)], value=ALL, id="history-provider", allow_blank=False, compact=True
            )
            yield Select(
                [("any quality", ALL)] + [(f, f) for f in self.link.catalog.quality_flags],
                value=ALL,
                id="history-flag",
                allow_blank=False,
                compact=True,
            )
            yield Button("Refresh", id="history-refresh", compact=True)
            yield Input(f"{DEFAULT_EXPORT}.csv", placeholder="export path", id="history-path", compact=True)
            yield Button("CSV", id="history-csv", compact=True, tooltip="Export the filtered utterances (F3)")
            yield Button(
                "JSON", id="history-json", compact=True, tooltip="Export the filtered utterances (F4)"
            )
        with TabbedContent(id="history-tabs"):
            with TabPane("Bench runs", id="tab-runs"):
                yield DataTable(id="history-runs", cursor_type="row", zebra_stripes=True)
            with TabPane("Sessions", id="tab-sessions"):
                yield DataTable(id="history-sessions", cursor_type="row", zebra_stripes=True)
            with TabPane("Utterances", id="tab-utterances"):
                yield DataTable(id="history-utterances", cursor_type="row", zebra_stripes=True)
            with TabPane("Network", id="tab-network"):
                yield RttPlot(id="history-rtt")
        yield Static("[dim]loading…[/]", id="history-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#history-runs", DataTable).add_columns(
            "started", "status", "runs", "LLMs", "TTFA p50 ms", "label"
        )
        self.query_one("#history-sessions", DataTable).add_columns("started", "kind", "label", "utterances")
        self.query_one("#history-utterances", DataTable).add_columns(
            "time", "source", "LLM", "TTFA ms", "ok", "quality", "trigger"
        )
        self.query_one("#history-runs", DataTable).focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        if self.data:
            self.action_refresh()

    # --- queries (thread workers) -------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.load(self.provider)

    @work(thread=True, group=QUERY_GROUP, exclusive=True, exit_on_error=False, description="read history")
    def load(self, provider: str | None) -> dict[str, Any] | None:
        try:
            data = self.store_view.history(provider, flag=self.flag)
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc)
            self.app.call_from_thread(self.notify, message, title="History", severity="error", timeout=8)
            return None
        self.app.call_from_thread(self.show, data, provider)
        return data

    def show(self, data: dict[str, Any], provider: str | None) -> None:
        self.data = data
        select = self.query_one("#history-provider", Select)
        options = [("all providers", ALL)] + [(p, p) for p in data["providers"]]
        if provider and provider not in data["providers"]:
            options.append((provider, provider))
        with self.prevent(Select.Changed):
            select.set_options(options)
            select.value = provider or ALL
        runs = self.query_one("#history-runs", DataTable)
        runs.clear()
        for r in data["bench_runs"]:
            config, summary = r.get("config") or {}, r.get("summary") or {}
            n = sum(int(s.get("total", 0)) for s in summary.values())
            p50 = " / ".join(ms((s.get("first_audio") or {}).get("p50")) for s in summary.values()) or "—"
            runs.add_row(
                when(r["started_at"]),
                r["status"],
                str(n),
                ", ".join(config.get("llms", [])),
                p50,
                str(config.get("label", "")),
                key=r["id"],
            )
        self.query_one(RttPlot).set_readings(data.get("rtt", []))
        sessions = self.query_one("#history-sessions", DataTable)
        sessions.clear()
        for s in data["sessions"]:
            sessions.add_row(when(s["started_at"]), s["kind"], s["label"], str(s["utterances"]), key=s["id"])
        utts = self.query_one("#history-utterances", DataTable)
        utts.clear()
        for u in reversed(data["utterances"]):  # newest first
            utts.add_row(
                when(u["started_at"]),
                u["source"],
                spoke(u),
                ms(u["first_audio_ms"]),
                "✓" if u["ok"] else f"✖ {u.get('mark') or u['error_kind'] or ''}",  # interrupted / dropped
                quality_cell(u.get("quality")),
                u["trigger"],
                key=u["id"],
            )
        what = f" for {escape(provider)}" if provider else ""
        what += f" flagged {escape(self.flag)}" if self.flag else ""
        self.query_one("#history-status", Static).update(
            f"{len(data['bench_runs'])} bench runs · {len(data['sessions'])} sessions · "
            f"{len(data['utterances'])} utterances{what}  [dim]Enter opens a run or an utterance[/]"
        )

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "history-provider":
            value = event.value
            self.filter(None if value in (ALL, Select.BLANK) else str(value))
        elif event.select.id == "history-flag":
            value = event.value
            self.filter_flag(None if value in (ALL, Select.BLANK) else str(value))

    def filter_flag(self, flag: str | None) -> None:
        """Only the remarks the quality rubric gave `flag` (None: any), in the table and in exports."""
        self.flag = flag
        select = self.query_one("#history-flag", Select)
        with self.prevent(Select.Changed):
            select.value = flag or ALL
        self.load(self.provider)

    def filter(self, provider: str | None) -> None:
        self.provider = provider
        self.load(provider)

    # --- open ---------------------------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None:
            return
        if event.data_table.id == "history-runs":
            self.open_run(key)
        elif event.data_table.id == "history-utterances":
            row = next((u for u in self.data.get("utterances", []) if u["id"] == key), None)
            if row is not None:
                cat = self.link.catalog
                self.app.push_screen(
                    WaterfallModal(self.store_view.utterance_view(row), cat.stages, cat.stage_labels)
                )

    @work(
        thread=True, group="history-open", exclusive=True, exit_on_error=False, description="open bench run"
    )
    def open_run(self, run_id: str) -> None:
        try:
            run, views = self.store_view.bench_run(run_id)
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), title="History", severity="error")
            return
        if run is None:
            self.app.call_from_thread(self.notify, "That run is no longer stored.", severity="warning")
            return
        cat = self.link.catalog
        self.app.call_from_thread(
            self.app.push_screen, RunReportModal(run, views, cat.stages, cat.stage_labels)
        )

    # --- export -------------------------------------------------------------------------------------
    def action_export(self, fmt: str) -> None:
        field = self.query_one("#history-path", Input)
        path = field.value.strip() or f"{DEFAULT_EXPORT}.{fmt}"
        stem = Path(path)
        if stem.name in (f"{DEFAULT_EXPORT}.csv", f"{DEFAULT_EXPORT}.json"):
            path = str(stem.with_suffix(f".{fmt}"))
            field.value = path
        self.export(path, fmt, self.provider)

    @work(thread=True, group="history-export", exit_on_error=False, description="export history")
    def export(self, path: str, fmt: str, provider: str | None) -> int | None:
        try:
            n = self.store_view.export(path, fmt, provider, flag=self.flag)
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc)
            self.app.call_from_thread(
                self.notify, message, title="Export failed", severity="error", timeout=8
            )
            return None
        full = str(Path(path).resolve())
        self.last_export = (full, n)
        self.app.call_from_thread(
            self.notify, f"{n} utterances → {full}", title=f"Exported {fmt.upper()}", timeout=6
        )
        return n

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "history-refresh":
            self.action_refresh()
        elif event.button.id == "history-csv":
            self.action_export("csv")
        elif event.button.id == "history-json":
            self.action_export("json")

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        ids = ["tab-runs", "tab-sessions", "tab-utterances"]
        tabs.active = ids[(ids.index(tabs.active) + 1) % len(ids)] if tabs.active in ids else ids[0]


def spoke(u: dict[str, Any]) -> str:
    """Who really wrote the remark: the LLM that served it, marked when failover replaced the one asked for."""
    served, asked = u.get("served_by"), u["llm"]
    if not served or served == asked:
        return asked
    return f"↪ {served}"
