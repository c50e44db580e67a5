"""plotext charts of latency: TTFA per LLM spec (box plot), TTFA of every run in order, net round trips.

Each plot owns its figure; `set_data` only stores the numbers and marks the plot dirty, a slow timer
replots (≤ 2 Hz), so a fast benchmark never rebuilds a figure per utterance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual_plotext import PlotextPlot

REPLOT_S = 0.5


class _TtfaPlot(PlotextPlot):
    DEFAULT_CSS = """
    _TtfaPlot { height: 1fr; min-height: 8; }
    """

    def __init__(self, title: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        self.series: dict[str, list[float]] = {}
        self._dirty = True

    def on_mount(self) -> None:
        super().on_mount()
        self.replot()
        self.set_interval(REPLOT_S, self._maybe_replot)

    def set_data(self, series: Mapping[str, Sequence[float]]) -> None:
        self.series = {k: list(v) for k, v in series.items()}
        self._dirty = True

    def _maybe_replot(self) -> None:
        if self._dirty:
            self.replot()

    def replot(self) -> None:
        self._dirty = False
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        self.draw()
        self.refresh()

    def draw(self) -> None:
        raise NotImplementedError


class TtfaDistributionPlot(_TtfaPlot):
    """A box per LLM spec (min, quartiles, max of clean runs' TTFA)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__("TTFA distribution per LLM (ms)", **kwargs)

    def draw(self) -> None:
        plt = self.plt
        data = {k: v for k, v in self.series.items() if v}
        if not data:
            plt.xlabel("no runs yet")
            return
        labels = [short_spec(k) for k in data]
        plt.box(labels, list(data.values()), width=0.3)
        plt.xlim(0.4, len(labels) + 0.6)
        plt.ylabel("ms")


class TtfaRunsPlot(_TtfaPlot):
    """TTFA of every counted run, in run order, one series per LLM spec."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__("TTFA per run (ms)", **kwargs)
        self.order: dict[str, list[int]] = {}

    def set_runs(self, runs: Sequence[tuple[int, str, float | None]]) -> None:
        """(run index, spec, TTFA) triples; failed runs (None) are left out."""
        series: dict[str, list[float]] = {}
        order: dict[str, list[int]] = {}
        for index, spec, ttfa in runs:
            if ttfa is None:
                continue
            series.setdefault(spec, []).append(ttfa)
            order.setdefault(spec, []).append(index + 1)
        self.order = order
        self.set_data(series)

    def draw(self) -> None:
        plt = self.plt
        if not any(self.series.values()):
            plt.xlabel("no runs yet")
            return
        for spec, values in self.series.items():
            plt.plot(self.order[spec], values, marker="braille", label=short_spec(spec))
        plt.xlabel("run")


class RttPlot(_TtfaPlot):
    """Network round trips over the latest session that measured them, one line per provider."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__("net round trip per provider (ms)", **kwargs)
        self.times: dict[str, list[float]] = {}

    def set_readings(self, rows: Sequence[Mapping[str, object]]) -> None:
        """`net_rtt` rows (session_id, at, provider, rtt_ms), oldest first: the last session's are drawn,
        against seconds since its first reading."""
        if not rows:
            self.times = {}
            self.set_data({})
            return
        session = rows[-1]["session_id"]
        mine = [r for r in rows if r["session_id"] == session and r["rtt_ms"] is not None]
        start = min((float(str(r["at"])) for r in mine), default=0.0)
        series: dict[str, list[float]] = {}
        times: dict[str, list[float]] = {}
        for r in mine:
            name = str(r["provider"])
            series.setdefault(name, []).append(float(str(r["rtt_ms"])))
            times.setdefault(name, []).append(float(str(r["at"])) - start)
        self.times = times
        self.set_data(series)

    def draw(self) -> None:
        plt = self.plt
        if not any(self.series.values()):
            plt.xlabel("no round trips measured yet")
            return
        for name, values in self.series.items():
            plt.plot(self.times[name], values, marker="braille", label=name)
        plt.xlabel("s into the session")
        plt.ylabel("ms")


def short_spec(spec: str, width: int = 18) -> str:
    return spec if len(spec) <= width else spec[: width - 1] + "…"
