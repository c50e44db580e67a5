"""Modal views opened from compare, bench and history: one utterance's waterfall, one bench run's report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from nuanu_tui.ui.messages import UtteranceView
from nuanu_tui.ui.widgets.latency_plot import TtfaDistributionPlot, TtfaRunsPlot
from nuanu_tui.ui.widgets.stats_table import StatsTable
from nuanu_tui.ui.widgets.transcript import clock_time
from nuanu_tui.ui.widgets.waterfall import Waterfall


class WaterfallModal(ModalScreen[None]):
    """One finished utterance: trigger, remark, error, and its stage waterfall. Esc closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close", id="close")]
    DEFAULT_CSS = """
    WaterfallModal { align: center middle; }
    WaterfallModal > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    WaterfallModal .modal--text { height: auto; margin-bottom: 1; }
    """

    def __init__(self, view: UtteranceView, stages: tuple[str, ...], labels: dict[str, str]) -> None:
        super().__init__()
        self.view = view
        self.stages = stages
        self.labels = labels

    def compose(self) -> ComposeResult:
        v = self.view
        head = f"[dim]{clock_time(v.started_at)}[/]  [b]«{escape(v.trigger)}»[/]\n[dim]{escape(v.llm)} → {escape(v.tts)}[/]"
        body = escape(v.text or "—")
        if v.error:
            body += f"\n[$error]✖ {escape((v.error_kind or 'error') + ': ' + v.error)}[/]"
        with Vertical():
            yield Static(head, classes="modal--text")
            yield Static(body, classes="modal--text")
            waterfall = Waterfall(self.stages, self.labels)
            waterfall.view = v
            yield waterfall
            yield Static("[dim]Esc to close[/]")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class RunReportModal(ModalScreen[None]):
    """A stored bench run: its configuration, statistics table and TTFA plots. Esc closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close", id="close")]
    DEFAULT_CSS = """
    RunReportModal { align: center middle; }
    RunReportModal > Vertical {
        width: 96%; height: 94%; border: thick $accent; background: $surface; padding: 0 1;
    }
    RunReportModal #report-head { height: auto; }
    RunReportModal #report-table { height: 1fr; }
    RunReportModal #report-plots { height: 1fr; min-height: 10; }
    """

    def __init__(
        self,
        run: Mapping[str, Any],
        views: Sequence[UtteranceView],
        stages: tuple[str, ...],
        labels: dict[str, str],
    ) -> None:
        super().__init__()
        self.run = dict(run)
        self.views = list(views)
        self.stages = stages
        self.labels = labels

    def compose(self) -> ComposeResult:
        run = self.run
        config = run.get("config") or {}
        llms = ", ".join(config.get("llms", []))
        head = (
            f"[b]bench run[/] {escape(str(run.get('id', ''))[:12])}  {clock_time(run.get('started_at') or 0)}"
            f"  [b]{escape(str(run.get('status', '')))}[/]  {len(self.views)} runs  "
            f"[dim]{escape(llms)} · {escape(str(config.get('label', '')))} · TTS {escape(str(config.get('tts', '')))}[/]"
        )
        with Vertical():
            yield Static(head, id="report-head")
            with VerticalScroll(id="report-table"):
                yield StatsTable(id="report-stats")
            with Horizontal(id="report-plots"):
                yield TtfaDistributionPlot(id="report-dist")
                yield TtfaRunsPlot(id="report-runs")
            yield Static("[dim]Esc to close[/]")

    def on_mount(self) -> None:
        summary = self.run.get("summary") or {}
        self.query_one(StatsTable).show(summary, self.stages, self.labels)
        series: dict[str, list[float]] = {}
        for v in self.views:
            if v.ttfa is not None and not v.error:
                series.setdefault(v.llm, []).append(v.ttfa)
        dist = self.query_one(TtfaDistributionPlot)
        dist.set_data(series)
        dist.replot()
        runs = self.query_one(TtfaRunsPlot)
        runs.set_runs([(i, v.llm, None if v.error else v.ttfa) for i, v in enumerate(self.views)])
        runs.replot()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
