"""Per-stage latency waterfall for one utterance: one bar per stage on a shared time axis."""

from __future__ import annotations

import math

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.renderables.bar import Bar
from textual.widget import Widget

from nuanu_tui.ui.messages import UtteranceView

# Each stage's bar runs from the moment it waits on (its parent stage, or t0) to the moment it is reached.
PARENT = {
    "first_sound": None,
    "ttft": None,
    "first_flush": "ttft",
    "first_audio_byte": "first_flush",
    "first_audio": "first_audio_byte",
    "llm_done": "ttft",
    "tts_done": "first_audio_byte",
    "playback_done": "first_audio",
}
# What a compact waterfall keeps when the full one leaves the transcript under five rows (80×24).
COMPACT = ("ttft", "first_flush", "first_audio", "playback_done")
LABEL_W = 17
MS_W = 10


Cell = Text | Bar | str
Row = tuple[Cell, Cell, Cell | None]  # a None ms cell: the middle cell spans the bar and ms columns


def _first_fitting(variants: list[Text], width: int) -> Text:
    """The fullest variant that fits `width` cells (the last one, cut by the cell, if none does)."""
    return next((v for v in variants if v.cell_len <= width), variants[-1])


def nice_axis(ms: float) -> float:
    """Round the axis up to 1/2/5 × 10^k so the scale stays still while bars grow."""
    ms = max(ms, 100.0)
    exp = 10 ** math.floor(math.log10(ms))
    for step in (1, 2, 5, 10):
        if ms <= step * exp:
            return float(step * exp)
    return float(10 * exp)


class Waterfall(Widget):
    """Render-only: assign `view` (a new UtteranceView) to redraw; bars appear as stages arrive.

    Its height never depends on the view (a title row, one row per stage, the floor row), so a new view
    is a repaint, not a screen-wide layout: stages arrive several times per utterance.
    """

    DEFAULT_CSS = """
    Waterfall { height: auto; min-height: 11; padding: 0 1; }
    Waterfall.-compact { min-height: 6; }
    """

    view: reactive[UtteranceView | None] = reactive(None)

    def __init__(self, stages: tuple[str, ...], labels: dict[str, str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.all_stages = stages
        self.stages = stages
        self.labels = labels

    @property
    def compact(self) -> bool:
        return self.stages != self.all_stages

    def set_compact(self, compact: bool) -> None:
        """Only the four stages of the card's strip (TTFT, first flush, first audio, done): six rows."""
        stages = tuple(s for s in self.all_stages if s in COMPACT) if compact else self.all_stages
        if stages != self.stages:
            self.stages = stages
            self.set_class(compact, "-compact")
            self.refresh(layout=True)

    def rows_for(self, compact: bool) -> int:
        """Content rows with or without the compact set (for a screen deciding what fits)."""
        return (len(COMPACT) if compact else len(self.all_stages)) + 2

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Fixed row count, without rendering the chart (layout would otherwise build it each time)."""
        return len(self.stages) + 2

    def render(self) -> RenderableType:
        return _Chart(self)

    def rows(self, content_width: int) -> tuple[int, list[Row]]:
        """The bar width and the chart's rows (label, bar, ms) for this content width."""
        view = self.view
        width = max(20, content_width - 2)
        bar_w = max(8, width - LABEL_W - MS_W - 2)
        span = bar_w + 1 + MS_W  # what a header or split row's text may take: bar and ms columns,

        def room(label: str) -> int:  # ... and what its short label leaves of the label column
            return span + LABEL_W - len(label)

        grid: list[Row] = []
        if view is None:
            grid.append((Text("Latency", style="bold"), Text("no utterance yet", style="dim"), ""))
            for stage in self.stages:
                grid.append(
                    (
                        Text(self.labels.get(stage, stage), style="dim"),
                        Bar(width=bar_w),
                        Text("—", style="dim"),
                    )
                )
            return bar_w, grid
        stages = view.stages_ms
        known = [v for v in stages.values() if v is not None]
        axis = nice_axis(max([*known, view.floor_ms or 0.0], default=0.0))
        scale = bar_w / axis
        state = "error" if view.error else ("done" if view.done else "live")
        reused = {
            True: "socket reused",
            False: "new socket",
            None: "socket …" if not view.done else "socket ?",
        }[view.ws_reused]
        head = [f"axis 0 … {axis:,.0f} ms · {reused}", f"0–{axis:,.0f} ms · {reused}", f"0–{axis:,.0f} ms"]
        grid.append(
            (
                Text.assemble(("Latency ", "bold"), (state, "dim")),
                _first_fitting([Text(h, style="dim") for h in head], room(f"Latency {state}")),
                None,
            )
        )
        for stage in self.stages:
            ms = stages.get(stage)
            label = Text(self.labels.get(stage, stage), style="bold" if stage == "first_audio" else "")
            if ms is None:
                pending = "—" if view.done else "…"
                grid.append((label, Bar(width=bar_w, background_style="grey30"), Text(pending, style="dim")))
                continue
            parent = PARENT.get(stage)
            start = stages.get(parent) if parent else 0.0
            start = 0.0 if start is None else min(start, ms)
            end = ms
            if (
                stage == "first_sound" and view.interjection_ms
            ):  # the interjection's span: it sounds from here
                start, end = ms, ms + view.interjection_ms
                label = Text.assemble(label, (f" {view.interjection}", "italic"))
            bar = Bar(
                highlight_range=(start * scale, max(end * scale, start * scale + 0.5)),
                highlight_style=_style(stage),
                background_style="grey23",
                width=bar_w,
            )
            grid.append((label, bar, Text(f"{ms:,.0f} ms", style="bold" if stage == "first_audio" else "")))
        floor = view.floor_ms
        split = view.net_split
        if split is not None:
            names = [
                ("network", "provider", "ours+rest"),
                ("net", "provider", "rest"),
                ("net", "prov", "rest"),
            ]
            variants = [
                Text.assemble(
                    (f"{net} ", "dim"),
                    (f"{split['network']:,.0f}", "#d75f87"),
                    (f" · {prov} ", "dim"),
                    (f"{split['provider']:,.0f}", "grey62"),
                    (f" · {rest} ", "dim"),
                    (f"{split['rest']:,.0f} ms", "#ff8700"),
                )
                for net, prov, rest in names
            ]
            grid.append((Text("TTFA split", style="dim"), _first_fitting(variants, room("TTFA split")), None))
        elif floor is not None:
            bar = Bar(
                highlight_range=(0, max(floor * scale, 0.5)),
                highlight_style="grey62",
                background_style="grey15",
                width=bar_w,
            )
            grid.append((Text("provider floor", style="dim"), bar, Text(f"{floor:,.0f} ms", style="dim")))
        else:
            grid.append((Text("provider floor", style="dim"), Text("not reported", style="dim"), ""))
        return bar_w, grid


class _Chart:
    """Built at paint time for the width it is given; asking the widget for its size would make
    Textual compute the full (off-screen included) widget map.

    Laid out by hand as a three-column grid (one space between columns, like `Table.grid(padding=(0, 1))`):
    a Rich Table measures every cell on each paint, which cost more than the rest of a frame.
    """

    def __init__(self, waterfall: Waterfall) -> None:
        self.waterfall = waterfall

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        bar_w, rows = self.waterfall.rows(options.max_width)
        bar_options = options.update_width(bar_w)
        lines: list[Text] = []
        for label, bar, ms in rows:
            if isinstance(bar, Bar):
                bar = next(iter(bar.__rich_console__(console, bar_options)))
            if ms is None:  # a header or split row: in the bar column, or just after its label if longer
                span = bar_w + 1 + MS_W
                label_w = LABEL_W
                if isinstance(bar, Text) and bar.cell_len > span:
                    label_w = min(LABEL_W, Text(label).cell_len if isinstance(label, str) else label.cell_len)
                tail = _cell(bar, span + LABEL_W - label_w)
            else:
                label_w = LABEL_W
                tail = Text.assemble(_cell(bar, bar_w), " ", _cell(ms, MS_W, right=True))
            lines.append(Text.assemble(_cell(label, label_w), " ", tail, end=""))
        chart = Text("\n").join(lines)
        chart.no_wrap = True
        yield chart


def _cell(value: Text | str, width: int, *, right: bool = False) -> Text:
    """A fixed-width, one-line cell: cut with an ellipsis when too long, padded when short."""
    text = Text(value) if isinstance(value, str) else value.copy()
    text.truncate(width, overflow="ellipsis")
    pad = width - text.cell_len
    if right:
        text.pad_left(pad)
    else:
        text.pad_right(pad)
    return text


def _style(stage: str) -> str:
    return {
        "first_sound": "#d75fd7",
        "ttft": "#5fafff",
        "first_flush": "#87d7ff",
        "first_audio_byte": "#d7af5f",
        "first_audio": "bold #ff8700",
        "llm_done": "#5f87af",
        "tts_done": "#af875f",
        "playback_done": "#5faf5f",
    }.get(stage, "magenta")
