"""The card's stage strip and the waterfall at the sizes people use (60×20, 80×24, 100×30, 120×40)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.content import Content
from ui_fakes import FakeEngine, fake_app, ready

from nuanu_tui.core.timeline import STAGE_LABELS, STAGES
from nuanu_tui.ui.messages import UtteranceView
from nuanu_tui.ui.widgets.transcript import Transcript
from nuanu_tui.ui.widgets.waterfall import Waterfall

STRIP = "TTFT 212 · flush 231 · audio 384 · done 3,121 ms"  # the fake engine's fixed stage times


@pytest.mark.parametrize(
    ("size", "waterfall"),
    [((60, 20), "compact"), ((80, 24), "full"), ((100, 30), "full"), ((120, 40), "full")],
    ids=lambda v: f"{v[0]}x{v[1]}" if isinstance(v, tuple) else v,
)
async def test_stages_show_without_a_key_and_the_transcript_keeps_five_rows(
    size: tuple[int, int], waterfall: str
) -> None:
    engine = FakeEngine(offline_reasons=("LLM offline: no GROQ_API_KEY or OPENAI_API_KEY",))  # 2 banner rows
    app = fake_app(engine)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await ready(pilot)
        screen: Any = app.screen
        transcript = screen.query_one(Transcript)
        card = next(iter(transcript.cards.values()))
        assert STRIP in Content.from_markup(card._foot()).plain  # the current card: the strip, no key
        assert transcript.content_region.height >= 5
        chart = screen.query_one(Waterfall)
        assert chart.display and chart.region.height > 0  # under the transcript, without F10
        assert chart.compact == (waterfall == "compact")
        shown = "\n".join(line.text for line in chart.render_lines(chart.content_region.reset_offset))
        assert "first audio" in shown and "384 ms" in shown and "3,121 ms" in shown
        await pilot.press("f10")  # F10 still toggles the panels: shown below 100×32, with the waterfall
        await pilot.pause()
        assert chart.display == (size != (120, 40))  # at 120×40 they were shown: F10 hides both


def test_strip_marks_stages_still_to_come_and_never_reached() -> None:
    from nuanu_tui.ui.widgets.transcript import stage_strip

    live = Content.from_markup(stage_strip({"ttft": 90.0}, done=False)).plain
    assert live == "TTFT 90 · flush … · audio … · done … ms"
    over = Content.from_markup(stage_strip({"ttft": 90.0, "first_audio": 1234.0}, done=True)).plain
    assert over == "TTFT 90 · flush — · audio 1,234 · done — ms"


class _Lane(App[None]):
    def compose(self) -> ComposeResult:
        yield Waterfall(STAGES, dict(STAGE_LABELS))


@pytest.mark.parametrize("width", (55, 45))
async def test_a_narrow_waterfall_keeps_its_axis_and_ttfa_split_readable(width: int) -> None:
    """A compare lane at 120 columns is ~55 wide: the header and the split are not cut mid-number."""
    view = UtteranceView(
        utterance_id="u", trigger="t", llm="groq/x", tts="elevenlabs", started_at=0.0, done=True,
        stages_ms={"ttft": 212.0, "first_audio": 384.0}, ws_reused=True,
        net_split={"network": 4.0, "provider": 15.0, "rest": 365.0},
    )  # fmt: skip
    app = _Lane()
    async with app.run_test(size=(width, 14)):
        chart = app.query_one(Waterfall)
        chart.view = view
        rendered = [line.text for line in chart.render_lines(chart.content_region.reset_offset)]
        head = next(line.rstrip() for line in rendered if "Latency" in line)
        split = next(line.rstrip() for line in rendered if "TTFA split" in line)
        assert not head.endswith("…") and head.endswith(("500 ms", "socket reused"))  # axis 0 … 500 ms
        assert not split.endswith("…") and "4 · " in split and " 15 · " in split and split.endswith("365 ms")
        if width == 55:
            assert "socket reused" in head and "net 4 · provider 15 · rest 365 ms" in split
