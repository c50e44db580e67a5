"""Prompts and the quality rubric in the TUI: the console's prompt picker, flag badges on console and compare
cards, the bench view's quality column and history's flag filter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_compare_screen import lane, open_compare, settle
from test_console import SIZE, sim_app
from textual.widgets import Select
from ui_fakes import Messages, ready

from nuanu_tui.core.llm.prompt_files import shipped_prompts
from nuanu_tui.core.quality import Quality
from nuanu_tui.core.store import Store
from nuanu_tui.core.timeline import UtteranceResult
from nuanu_tui.ui.messages import ProviderSwitched, RoundDone, UtteranceDone
from nuanu_tui.ui.widgets.stats_table import quality_cell, success_line
from nuanu_tui.ui.widgets.transcript import Transcript, flag_badges


@pytest.mark.slow
async def test_the_console_picker_switches_the_prompt_and_the_card_says_so(sim: Any) -> None:
    """Real engine on the emulator: pick «minimal», speak, and the request carried its text verbatim."""
    app = sim_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        picker = app.screen.query_one("#pick-prompt", Select)
        assert picker.value == "default"
        picker.value = "minimal"
        switched = await messages.wait_for(lambda m: isinstance(m, ProviderSwitched) and m.kind == "prompt")
        assert (switched.spec, switched.error) == ("minimal@1", None)
        await pilot.press("f1")
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = messages.of(UtteranceDone)[-1].view
        assert view.error is None, view.error
        assert view.prompt == "minimal@1" and view.flags is not None
        body = next(b for b in reversed(sim.requests) if b.get("stream"))
        assert body["messages"][0]["content"] == shipped_prompts()["minimal"].system
        card = app.screen.query_one(Transcript).card(view.utterance_id)
        assert card is not None
        assert "minimal@1" in card._head() and flag_badges(view.flags) in card._foot()


@pytest.mark.slow
async def test_compare_lanes_ask_with_their_own_prompts(sim: Any) -> None:
    app = sim_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_compare(pilot)
        screen.set_lane_prompt(1, "minimal")
        await pilot.press("f1")
        await settle(pilot)
        done = messages.of(RoundDone)[-1]
        assert [v.error for v in done.views] == [None, None]
        assert [v.prompt for v in done.views] == ["default@1", "minimal@1"]
        assert all(v.flags is not None for v in done.views)
        assert "minimal" in lane(screen, 1)._head()
        assert flag_badges(done.views[1].flags) in lane(screen, 1)._foot()


def test_badges_and_the_bench_quality_cells() -> None:
    assert flag_badges(None) == "" and flag_badges(()) == "[dim]✓ clean[/]"
    assert (
        flag_badges(("off_topic", "cut_off"))
        == "[reverse $warning] off_topic [/] [reverse $warning] cut_off [/]"
    )
    item = {
        "total": 4, "ok": 4,
        "quality": {"n": 4, "clean": 3, "clean_share": 0.75, "flags": {"repeats": 1}, "words_p50": 12.5, "seconds_p50": 3.44},
    }  # fmt: skip
    assert quality_cell(item) == "75% 12.5w 3.4s"
    assert quality_cell({"quality": {"n": 0}}) == quality_cell({}) == "—"
    assert "repeats×1" in success_line("groq/x", item)


def flagged(i: int, flags: list[str]) -> UtteranceResult:
    result = UtteranceResult(
        trigger="две собаки", llm="groq/x", tts="espeak", text="Собаки!", utterance_id=f"q{i}"
    )
    result.started_at = 1_760_000_000.0 + i
    result.quality = Quality(1, 1, 1.0, 0, True, True, None, flags)
    return result


async def test_history_filters_by_flag_and_exports_the_filter(tmp_path: Path) -> None:
    from ui_fakes import FakeEngine, fake_app

    from nuanu_tui.ui.history_bridge import HistoryBridge
    from nuanu_tui.ui.screens.history import HistoryScreen

    app = fake_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        store: Store | None = app.link.open_store()
        assert store is not None
        session = store.start_session("console", "quality")
        for i, flags in enumerate((["too_short"], [], ["too_short", "off_topic"], ["repeats"])):
            store.record(flagged(i, flags), session)
        store.flush(timeout=5)
        bridge = HistoryBridge(app.link)
        assert [u["id"] for u in bridge.history(flag="too_short")["utterances"]] == ["q0", "q2"]
        assert [u["id"] for u in bridge.history(flag="repeats")["utterances"]] == ["q3"]
        out = tmp_path / "flagged.csv"
        assert bridge.export(str(out), "csv", flag="off_topic") == 1
        await pilot.press("ctrl+g")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await settle(pilot)
        screen.filter_flag("too_short")
        await settle(pilot)
        assert [u["id"] for u in screen.data["utterances"]] == ["q0", "q2"]
        assert screen.query_one("#history-flag", Select).value == "too_short"
