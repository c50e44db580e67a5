"""Status lines never wrap: each is one row at 60, 80, 100 and 120 columns, shortened by priority."""

from __future__ import annotations

import pytest
from textual.content import Content
from ui_fakes import FakeEngine, fake_app, ready

from nuanu_tui.ui.messages import StatusChanged, StatusView
from nuanu_tui.ui.widgets.fit import Part, fit_line
from nuanu_tui.ui.widgets.status_bar import StatusBar

BUSY = StatusView(
    llm="groq/llama-3.1-8b-instant", llm_state="warm", tts="elevenlabs/eleven_flash_v2_5",
    tts_state="connected", audio="null", sample_rate=24000, audio_warning="no output device",
    offline_reasons=(), simulated=True, net="loopback", net_rtt=(("groq", 5.0), ("elevenlabs", 1.0)),
    output_format="pcm_24000", last_ws_reused=True, utterances=3, ttfa_p50=370.0, ttfa_p90=412.0,
    ttfa_n=3, busy=True, queued=2,
)  # fmt: skip


def test_fit_line_gives_up_the_highest_rank_first_and_restores_what_fits() -> None:
    parts = [
        Part(("[b]LLM[/] groq/x", "groq"), (2,)),
        Part(("24000 Hz", ""), (5,), " "),
        Part(("(n=3)", ""), (6,), " "),
    ]
    assert fit_line(parts, 100) == "[b]LLM[/] groq/x 24000 Hz (n=3)"
    assert fit_line(parts, 24) == "[b]LLM[/] groq/x 24000 Hz"  # n= goes first
    # At 16 dropping the rate is enough; (n=3) would fit again but stays out: it matters less.
    assert fit_line(parts, 16) == "[b]LLM[/] groq/x"
    assert fit_line(parts, 9) == "groq"
    assert fit_line(parts, 2) == "groq"  # nothing left to give: the widget's ellipsis cuts
    with pytest.raises(ValueError):
        Part(("a", "b"))


@pytest.mark.parametrize("width", (60, 80, 100, 120))
async def test_each_status_line_is_one_row(width: int) -> None:
    app = fake_app(FakeEngine())
    async with app.run_test(size=(width, 30)) as pilot:
        await ready(pilot)
        app.screen.post_message(StatusChanged(BUSY))
        await pilot.pause()
        bar = app.screen.query_one(StatusBar)
        line = bar.query_one("#status-line")
        rows = Content.from_markup(str(bar._line.content)).plain.split("\n")
        assert len(rows) == 2 and line.size.height == 2  # two lines, two rows: nothing wrapped
        for row in rows:
            assert len(row) <= width - 2, (width, row)  # fits: never cut by the ellipsis either
        first, second = rows
        # What is never given up, at any width:
        assert "groq" in first and "● warm" in first and "elevenlabs" in first and "● connected" in first
        assert "null" in first and "(null sink)" in first
        assert "370 ms" in second and "queue" in second and "speaking +2" in second
        if width >= 100:
            assert "p90 412 ms" in second and "groq/llama-3.1-8b-instant" in first
        if width >= 120:
            assert "24000 Hz" in first and "groq 5 ms · elevenlabs 1 ms" in second
