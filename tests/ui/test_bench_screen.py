"""Pilot tests for the bench view on the scripted fake engine: progress, table, cancel, slowest, storage."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mode_fakes import FAST, SLOW, LaneEngine, lane_app
from textual.widgets import DataTable, ProgressBar
from ui_fakes import Messages, ready

from nuanu_tui.core.timeline import STAGES
from nuanu_tui.ui.messages import BenchFinished, BenchRunDone
from nuanu_tui.ui.screens.bench import BenchScreen
from nuanu_tui.ui.screens.modals import WaterfallModal
from nuanu_tui.ui.widgets.stats_table import StatsTable
from nuanu_tui.ui.widgets.waterfall import Waterfall

SIZE = (120, 40)


async def open_bench(pilot: Any, *, runs: int = 2, llms: list[str] | None = None) -> BenchScreen:
    await ready(pilot)
    await pilot.press("ctrl+n")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, BenchScreen)
    screen.set_config(triggers="seed", llms=llms or [FAST, SLOW], runs=runs, pause=0)
    return screen


async def settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.slow
async def test_run_fills_progress_table_and_store() -> None:
    engine = LaneEngine()
    app = lane_app(engine)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_bench(pilot, runs=2)
        await pilot.press("ctrl+r")
        await settle(pilot)
        finished = messages.of(BenchFinished)[-1]
        assert (finished.status, finished.runs, finished.total) == ("done", 4, 4)
        counted = [m for m in messages.of(BenchRunDone) if not m.warmup]
        assert [m.done for m in counted] == [1, 2, 3, 4]  # the bar advanced one run at a time
        bar = screen.query_one("#bench-progress", ProgressBar)
        assert (bar.progress, bar.total) == (4, 4)
        stats = screen.query_one(StatsTable)
        assert list(stats.summary) == [FAST, SLOW]
        assert stats.summary[FAST]["first_audio"]["p50"] == 384.0  # type: ignore[index]
        assert stats.summary[SLOW]["first_audio"]["p50"] == 700.0  # type: ignore[index]
        assert stats.query_one(DataTable).row_count == 2 * len(STAGES)
        assert "ok 2/2" in str(stats.query_one("#stats-success").render())
        # ABBA order after one warm-up per spec.
        assert [k["llm"] for k in engine.kwargs] == [FAST, SLOW, FAST, SLOW, SLOW, FAST]
        store = app.link.store
        assert store is not None
        (run,) = store.bench_runs()
        assert run["id"] == finished.run_id and run["status"] == "done"
        assert run["summary"][FAST]["first_audio"]["n"] == 2
        rows = store.utterances()
        kinds = {s["id"]: s["kind"] for s in store.sessions()}
        # Each utterance stored once, in the bench session (the engine listener skips bench sources).
        assert sorted(r["source"] for r in rows) == ["bench"] * 4 + ["bench-warmup"] * 2
        assert {kinds[r["session_id"]] for r in rows} == {"bench"}
        assert len(store.utterances(run_id=finished.run_id)) == 4
        # The live panel shows the last utterance's waterfall.
        assert screen.query_one("#bench-waterfall", Waterfall).view.ttfa == 384.0  # type: ignore[union-attr]


@pytest.mark.slow
async def test_cancel_keeps_finished_runs() -> None:
    engine = LaneEngine(hold_call=4)  # 2 warm-ups, 1 counted run, then the 4th call hangs mid-audio
    app = lane_app(engine)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_bench(pilot, runs=3)
        await pilot.press("ctrl+r")
        assert await asyncio.to_thread(engine.hold_started.wait, 10)
        await pilot.pause()
        assert screen.running
        await pilot.press("escape")
        await settle(pilot)
        finished = messages.of(BenchFinished)[-1]
        assert (finished.status, finished.runs, finished.total) == ("cancelled", 1, 6)
        assert not screen.running
        assert list(screen.query_one(StatsTable).summary) == [FAST]
        assert [v.llm for v in screen.views] == [FAST]
        store = app.link.store
        assert store is not None
        (run,) = store.bench_runs()
        assert run["status"] == "cancelled" and run["summary"][FAST]["total"] == 1
        assert len(store.utterances(run_id=run["id"])) == 1
        assert "cancelled: 1 of 6 kept" in str(screen.query_one("#bench-now").render())


@pytest.mark.slow
async def test_slowest_list_opens_a_waterfall() -> None:
    engine = LaneEngine(vary_ms=10.0)  # each utterance 10 ms slower than the one before
    app = lane_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_bench(pilot, runs=3, llms=[FAST])
        await pilot.press("ctrl+r")
        await settle(pilot)
        table = screen.query_one("#bench-slowest", DataTable)
        ttfas = [v.ttfa for v in screen.views]
        assert ttfas == [394.0, 404.0, 414.0]  # call 1 was the warm-up
        assert table.row_count == 3
        assert table.get_row_at(0)[1] == "414 ms"
        await pilot.press("f7")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, WaterfallModal)
        assert modal.view.ttfa == 414.0
        assert modal.query_one(Waterfall).view is modal.view
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        # Enter on the second row opens that utterance.
        screen.query_one("#tab-slowest").parent.parent.active = "tab-slowest"  # type: ignore[union-attr]
        await pilot.pause()
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, WaterfallModal) and app.screen.view.ttfa == 404.0


@pytest.mark.slow
async def test_bad_settings_are_reported_not_fatal(tmp_path: Any) -> None:
    engine = LaneEngine()
    app = lane_app(engine)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_bench(pilot)
        screen.set_config(triggers=str(tmp_path / "missing.txt"))
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert engine.calls == []
        assert any("not found" in n.message for n in app._notifications)
        screen.set_config(triggers="seed", llms=["nonsense"])
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert engine.calls == [] and app.is_running
        assert not screen.running


@pytest.mark.slow
async def test_compare_with_an_earlier_run() -> None:
    engine = LaneEngine()
    app = lane_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_bench(pilot, runs=1, llms=[FAST])
        await pilot.press("ctrl+r")
        await settle(pilot)
        first = dict(screen.summary)
        engine.stages_by_spec[FAST] = {s: ms * 2 for s, ms in engine.stages_by_spec[FAST].items()}
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert len(screen.earlier) == 2
        old_id = next(i for i, r in screen.earlier.items() if r["summary"] == first)
        screen.show_deltas(old_id)
        table = screen.query_one("#bench-deltas", DataTable)
        row = table.get_row(f"{FAST}|first_audio")
        assert row[2:4] == ["384", "768"]
        assert str(row[4]) == "+384.0" and row[5] == "2.000"
