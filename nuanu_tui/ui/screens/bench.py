"""Bench: a benchmark over a trigger set on one or more LLM specs, live progress, statistics and plots.

The run itself is `core.bench.run_bench` on the bridge's engine loop (stored as it goes, with a run id);
this screen only shows what the bridge posts and can cancel (finished utterances are kept).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    ProgressBar,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from nuanu_tui.ui.messages import (
    BenchFinished,
    BenchRunDone,
    BenchStarted,
    BenchStep,
    StageArrived,
    Summary,
    TextArrived,
    UtteranceBegan,
    UtteranceDone,
    UtteranceView,
)
from nuanu_tui.ui.screens.modals import WaterfallModal
from nuanu_tui.ui.widgets.latency_plot import TtfaDistributionPlot, TtfaRunsPlot
from nuanu_tui.ui.widgets.stats_table import DeltaTable, StatsTable
from nuanu_tui.ui.widgets.transcript import ttfa_badge
from nuanu_tui.ui.widgets.waterfall import Waterfall

if TYPE_CHECKING:
    from nuanu_tui.ui.bench_bridge import BenchBridge
    from nuanu_tui.ui.history_bridge import HistoryBridge
    from nuanu_tui.ui.host import NuanuHost
    from nuanu_tui.ui.link import EngineLink

BENCH_GROUP = "bench-run"
HISTORY_GROUP = "bench-history"
SLOWEST_N = 5
FILE_CHOICE = "file"
RATING_COLUMNS = ("#", "score", "95% CI", "W-L-T", "liked", "configuration")


def slowest(views: list[UtteranceView], n: int = SLOWEST_N) -> list[UtteranceView]:
    """The `n` utterances with the highest TTFA (failed ones without TTFA are left out)."""
    timed = [v for v in views if v.ttfa is not None]
    return sorted(timed, key=lambda v: v.ttfa or 0.0, reverse=True)[:n]


class BenchScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "start", "Start", id="bench-start"),
        Binding("escape", "cancel", "Cancel", id="bench-cancel"),
        Binding("f6", "next_tab", "Next tab", id="bench-next-tab"),
        Binding("f7", "open_slowest", "Slowest", id="bench-open-slowest"),
        Binding("ctrl+o", "app.open_mode('console')", "Console", id="bench-to-console"),
    ]

    running: reactive[bool] = reactive(False, bindings=True)

    def __init__(self) -> None:
        super().__init__()
        self._runs_link: BenchBridge | None = None
        self.views: list[UtteranceView] = []  # counted runs, in order
        self.summary: Summary = {}
        self.run_id: str | None = None
        self.status = "idle"
        self.current: UtteranceView | None = None
        self.earlier: dict[str, dict[str, Any]] = {}
        self._text: list[str] = []

    @property
    def nuanu(self) -> NuanuHost:
        return cast("NuanuHost", self.app)

    @property
    def link(self) -> EngineLink:
        return self.nuanu.link

    @property
    def runs_link(self) -> BenchBridge:
        """This view's own bridge module, over the shared link (made once, kept with the screen)."""
        if self._runs_link is None:
            from nuanu_tui.ui.bench_bridge import BenchBridge

            self._runs_link = BenchBridge(self.link)
        return self._runs_link

    @property
    def store_view(self) -> HistoryBridge:
        """Stored sessions and runs (the history bridge, over the same link)."""
        from nuanu_tui.ui.history_bridge import HistoryBridge

        return HistoryBridge(self.link)

    def compose(self) -> ComposeResult:
        cat = self.link.catalog
        sets = [(name, name) for name in cat.trigger_sets] + [("file…", FILE_CHOICE)]
        with Horizontal(id="bench-controls"):
            yield Select(
                sets, value=cat.trigger_sets[0], id="bench-triggers", allow_blank=False, compact=True
            )
            yield Input(placeholder="trigger file path", id="bench-file", compact=True, disabled=True)
            yield Input(
                ", ".join(cat.compare_lanes),
                placeholder="LLM specs, comma-separated",
                id="bench-llms",
                compact=True,
            )
            yield Input(
                "5", placeholder="runs", id="bench-runs", type="integer", compact=True, tooltip="runs per LLM"
            )
            yield Input(
                "0", placeholder="pause s", id="bench-pause", type="number", compact=True, tooltip="pause (s)"
            )
            yield Button("Start", id="bench-start", variant="primary", compact=True)
            yield Button("Cancel", id="bench-cancel", variant="error", compact=True, disabled=True)
        with Horizontal(id="bench-progress-row"):
            yield ProgressBar(total=None, show_eta=False, id="bench-progress")
            yield Static("[dim]idle: choose triggers, LLMs and runs, then Start (ctrl+r)[/]", id="bench-now")
        with Horizontal(id="bench-live"):
            with VerticalScroll(id="bench-text-box"):
                yield Static("[dim]the current utterance shows here[/]", id="bench-text")
            yield Waterfall(cat.stages, cat.stage_labels, id="bench-waterfall")
        with TabbedContent(id="bench-tabs"):
            with TabPane("Results", id="tab-results"), VerticalScroll():
                yield StatsTable(id="bench-stats")
            with TabPane("Plots", id="tab-plots"), Horizontal(id="bench-plots"):
                yield TtfaDistributionPlot(id="bench-dist")
                yield TtfaRunsPlot(id="bench-runs-plot")
            with TabPane("Slowest", id="tab-slowest"):
                yield DataTable(id="bench-slowest", cursor_type="row")
            with TabPane("Vs earlier", id="tab-earlier"), Vertical():
                yield Select([], prompt="compare with an earlier run…", id="bench-earlier", compact=True)
                yield DeltaTable(id="bench-deltas")
            with TabPane("Ratings", id="tab-ratings"), Vertical():
                yield Static(
                    "[dim]arena votes and quick ratings load when this tab opens[/]", id="ratings-note"
                )
                yield DataTable(id="bench-ratings", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#bench-slowest", DataTable)
        for col in ("#", "TTFA", "LLM", "trigger"):
            table.add_column(col, key=col)
        ratings = self.query_one("#bench-ratings", DataTable)
        for col in RATING_COLUMNS:
            ratings.add_column(col, key=col)
        self.load_earlier()

    # --- configuration ----------------------------------------------------------------------------
    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "bench-triggers":
            self.query_one("#bench-file", Input).disabled = event.value != FILE_CHOICE
        elif event.select.id == "bench-earlier" and isinstance(event.value, str):
            self.show_deltas(event.value)

    def config(self) -> tuple[str, list[str], int, float]:
        """Triggers name/path, LLM specs, runs, pause; raises ValueError with an operator message."""
        choice = self.query_one("#bench-triggers", Select).value
        triggers = str(choice)
        if choice == FILE_CHOICE:
            triggers = self.query_one("#bench-file", Input).value.strip()
            if not triggers:
                raise ValueError("type the path of a trigger file (one trigger a line, or JSONL)")
        llms = [s.strip() for s in self.query_one("#bench-llms", Input).value.split(",") if s.strip()]
        if not llms:
            raise ValueError("give at least one LLM spec, e.g. groq/llama-3.1-8b-instant")
        try:
            runs = int(self.query_one("#bench-runs", Input).value or "0")
            pause = float(self.query_one("#bench-pause", Input).value or "0")
        except ValueError:
            raise ValueError("runs must be a whole number and pause a number of seconds") from None
        if runs < 1:
            raise ValueError("runs must be at least 1")
        if pause < 0:
            raise ValueError("pause must not be negative")
        return triggers, llms, runs, pause

    def set_config(
        self,
        *,
        triggers: str | None = None,
        llms: list[str] | None = None,
        runs: int | None = None,
        pause: float | None = None,
    ) -> None:
        if triggers is not None:
            select = self.query_one("#bench-triggers", Select)
            if triggers in self.link.catalog.trigger_sets:
                select.value = triggers
            else:
                select.value = FILE_CHOICE
                field = self.query_one("#bench-file", Input)
                field.disabled = False
                field.value = triggers
        if llms is not None:
            self.query_one("#bench-llms", Input).value = ", ".join(llms)
        if runs is not None:
            self.query_one("#bench-runs", Input).value = str(runs)
        if pause is not None:
            self.query_one("#bench-pause", Input).value = f"{pause:g}"

    # --- actions ----------------------------------------------------------------------------------
    def action_start(self) -> None:
        if self.running:
            self.notify("A benchmark is already running.", severity="warning", timeout=3)
            return
        if not self.link.ready:
            self.notify("The engine is still starting; try again in a moment.", severity="warning", timeout=4)
            return
        try:
            triggers, llms, runs, pause = self.config()
        except ValueError as exc:
            self.notify(str(exc), title="Bench settings", severity="error", timeout=6)
            return
        self.running = True
        self.run_bench(triggers, llms, runs, pause)

    @work(group=BENCH_GROUP, exit_on_error=False, description="benchmark run")
    async def run_bench(self, triggers: str, llms: list[str], runs: int, pause: float) -> str | None:
        try:
            return await asyncio.wrap_future(self.runs_link.bench(triggers, llms, runs, pause, self))
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            self.notify(message, title="Benchmark failed", severity="error", timeout=8)
            return None
        finally:
            self.running = False

    def action_cancel(self) -> None:
        if self.running:
            self.runs_link.bench_cancel()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return True if self.running else None
        if action == "start":
            return None if self.running else True
        return True

    def watch_running(self, running: bool) -> None:
        self.query_one("#bench-start", Button).disabled = running
        self.query_one("#bench-cancel", Button).disabled = not running
        self.set_class(running, "-running")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "bench-start":
            self.action_start()
        elif event.button.id == "bench-cancel":
            self.action_cancel()

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        ids = ["tab-results", "tab-plots", "tab-slowest", "tab-earlier"]
        tabs.active = ids[(ids.index(tabs.active) + 1) % len(ids)] if tabs.active in ids else ids[0]

    def action_open_slowest(self, index: int = 0) -> None:
        """Open the waterfall of the `index`-th slowest utterance (the slowest by default)."""
        worst = slowest(self.views)
        if not worst:
            self.notify("No finished runs yet.", timeout=3)
            return
        self.open_waterfall(worst[min(index, len(worst) - 1)])

    def open_waterfall(self, view: UtteranceView) -> None:
        cat = self.link.catalog
        self.app.push_screen(WaterfallModal(view, cat.stages, cat.stage_labels))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "bench-slowest" and event.row_key.value is not None:
            view = next((v for v in self.views if v.utterance_id == event.row_key.value), None)
            if view is not None:
                self.open_waterfall(view)

    # --- bridge messages --------------------------------------------------------------------------
    def on_bench_started(self, message: BenchStarted) -> None:
        self.views = []
        self.summary = {}
        self.run_id = None
        self.status = "running"
        self.query_one("#bench-progress", ProgressBar).update(total=message.total, progress=0)
        self.query_one(StatsTable).clear()
        self.query_one("#bench-slowest", DataTable).clear()
        self._refresh_plots(now=True)
        self.query_one("#bench-now", Static).update(
            f"0/{message.total} · {escape(', '.join(message.llms))} · triggers {escape(message.triggers)}"
        )

    def on_bench_step(self, message: BenchStep) -> None:
        what = "warm-up " if message.warmup else ""
        self.query_one("#bench-now", Static).update(
            f"{message.done}/{message.total} · {what}[b]{escape(message.spec)}[/] «{escape(message.trigger)}»"
        )

    def on_bench_run_done(self, message: BenchRunDone) -> None:
        self.query_one("#bench-progress", ProgressBar).update(total=message.total, progress=message.done)
        if message.warmup:
            return
        self.views.append(message.view)
        self.summary = message.summary
        cat = self.link.catalog
        self.query_one(StatsTable).show(message.summary, cat.stages, cat.stage_labels)
        self._refresh_slowest()
        self._refresh_plots()
        v = message.view
        verdict = f"TTFA {v.ttfa:,.0f} ms {ttfa_badge(v.ttfa)}" if v.ttfa is not None else f"✖ {v.error_kind}"
        self.query_one("#bench-now", Static).update(
            f"{message.done}/{message.total} · [b]{escape(v.llm)}[/] {verdict}"
        )

    def on_bench_finished(self, message: BenchFinished) -> None:
        self.run_id = message.run_id
        self.status = message.status
        self.summary = message.summary
        cat = self.link.catalog
        self.query_one(StatsTable).show(message.summary, cat.stages, cat.stage_labels)
        self._refresh_plots(now=True)
        kept = "" if message.status == "done" else f" (cancelled: {message.runs} of {message.total} kept)"
        self.query_one("#bench-now", Static).update(
            f"[b]{message.status}[/] {message.runs}/{message.total}{kept} · stored (see History)"
        )
        self.load_earlier()

    def _refresh_slowest(self) -> None:
        table = self.query_one("#bench-slowest", DataTable)
        table.clear()
        for i, v in enumerate(slowest(self.views), start=1):
            table.add_row(str(i), f"{v.ttfa:,.0f} ms", v.llm, v.trigger, key=v.utterance_id)

    def _refresh_plots(self, now: bool = False) -> None:
        series: dict[str, list[float]] = {}
        for v in self.views:
            if v.ttfa is not None and not v.error:
                series.setdefault(v.llm, []).append(v.ttfa)
        dist, runs = self.query_one(TtfaDistributionPlot), self.query_one(TtfaRunsPlot)
        dist.set_data(series)
        runs.set_runs([(i, v.llm, None if v.error else v.ttfa) for i, v in enumerate(self.views)])
        if now:
            dist.replot()
            runs.replot()

    # the current utterance (its events come straight from the bridge's relay)
    def on_utterance_began(self, message: UtteranceBegan) -> None:
        self.current = message.view
        self.query_one("#bench-text", Static).update(f"[dim]«{escape(message.view.trigger)}»[/]\n")
        self.query_one("#bench-waterfall", Waterfall).view = message.view
        self._text = []

    def on_text_arrived(self, message: TextArrived) -> None:
        if self.current is not None and message.utterance_id == self.current.utterance_id:
            self._text.append(message.text)
            self.query_one("#bench-text", Static).update(
                f"[dim]«{escape(self.current.trigger)}»[/]\n{escape(''.join(self._text))}"
            )

    def on_stage_arrived(self, message: StageArrived) -> None:
        v = self.current
        if v is not None and message.utterance_id == v.utterance_id:
            self.current = v = dataclasses.replace(v, stages_ms={**v.stages_ms, message.stage: message.ms})
            self.query_one("#bench-waterfall", Waterfall).view = v

    def on_utterance_done(self, message: UtteranceDone) -> None:
        if self.current is not None and message.view.utterance_id == self.current.utterance_id:
            self.current = message.view
            self.query_one("#bench-waterfall", Waterfall).view = message.view

    # --- earlier runs (store queries in a thread) --------------------------------------------------
    @work(
        thread=True, group=HISTORY_GROUP, exclusive=True, exit_on_error=False, description="list bench runs"
    )
    def load_earlier(self) -> None:
        try:
            runs = self.store_view.bench_runs()
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), title="History", severity="warning")
            return
        self.app.call_from_thread(self._show_earlier, runs)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-ratings":
            self.load_ratings()

    @work(thread=True, group="bench-ratings", exclusive=True, exit_on_error=False, description="ratings")
    def load_ratings(self) -> None:
        """The Bradley–Terry fit runs off the UI thread (choix's first import alone takes a moment)."""
        try:
            votes, quick, rows = self.store_view.ratings()
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), title="Ratings", severity="warning")
            return
        self.app.call_from_thread(self.show_ratings, votes, quick, rows)

    def show_ratings(self, votes: int, quick: int, rows: list[tuple[str, ...]]) -> None:
        """Ratings best first with each configuration's like-rate, then those with quick ratings only."""
        table = self.query_one("#bench-ratings", DataTable)
        table.clear()
        for row in rows:
            table.add_row(*row)
        note = f"{votes} arena vote(s) · {quick} quick rating(s)"
        if not votes:
            note += " · vote in compare's arena (F10 there) to rate configurations"
        self.query_one("#ratings-note", Static).update(note)

    def _show_earlier(self, runs: list[dict[str, Any]]) -> None:
        self.earlier = {r["id"]: r for r in runs if r.get("summary")}
        options = []
        for r in self.earlier.values():
            llms = ", ".join(r["config"].get("llms", []))
            n = sum(int(s.get("total", 0)) for s in (r["summary"] or {}).values())
            options.append((f"{r['id'][:8]} · {r['status']} · {n} runs · {llms}", r["id"]))
        select = self.query_one("#bench-earlier", Select)
        value = select.value
        select.set_options(options)
        if isinstance(value, str) and value in self.earlier:
            select.value = value

    def show_deltas(self, run_id: str) -> None:
        old = self.earlier.get(run_id)
        table = self.query_one(DeltaTable)
        if old is None or not self.summary:
            table.clear()
            if not self.summary:
                self.notify("Run a benchmark first; then it is compared with the chosen run.", timeout=4)
            return
        table.show(self.store_view.deltas(old["summary"] or {}, self.summary), self.link.catalog.stage_labels)
