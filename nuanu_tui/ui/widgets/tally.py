"""The compare score: TTFA wins, median TTFT/TTFA per lane and lane B against lane A."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from nuanu_tui.ui.messages import TallyView


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def signed_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:+,.0f} ms"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"×{value:.2f}"


class TallyPanel(Widget):
    """Render-only: assign `tally` (a new TallyView) after each round."""

    DEFAULT_CSS = """
    TallyPanel { height: auto; padding: 0 1; }
    """

    tally: reactive[TallyView | None] = reactive(None, layout=True)

    def render(self) -> RenderableType:
        t = self.tally
        grid = Table.grid(padding=(0, 2), expand=False)
        for _ in range(5):
            grid.add_column(no_wrap=True)
        if t is None or t.rounds == 0:
            grid.add_row(Text("Tally", style="bold"), Text("no rounds yet", style="dim"), "", "", "")
            return grid
        extra = f"{t.rounds} rounds · ties {t.ties}" + (f" · void {t.void}" if t.void else "")
        grid.add_row(
            Text("Tally", style="bold"),
            Text("A", style="bold"),
            Text("B", style="bold"),
            Text("B − A", style="bold"),
            Text(extra, style="dim"),
        )
        grid.add_row("TTFA wins", str(t.wins[0]), str(t.wins[1]), "", "")
        grid.add_row(
            "median TTFT",
            ms(t.ttft_p50[0]),
            ms(t.ttft_p50[1]),
            signed_ms(t.ttft_diff[0]),
            ratio(t.ttft_diff[1]),
        )
        grid.add_row(
            Text("median TTFA", style="bold"),
            ms(t.ttfa_p50[0]),
            ms(t.ttfa_p50[1]),
            signed_ms(t.ttfa_diff[0]),
            ratio(t.ttfa_diff[1]),
        )
        if any(t.errors) or any(t.degraded):
            grid.add_row(
                Text("errors/degraded", style="dim"),
                f"{t.errors[0]}/{t.degraded[0]}",
                f"{t.errors[1]}/{t.degraded[1]}",
                "",
                "",
            )
        return grid
