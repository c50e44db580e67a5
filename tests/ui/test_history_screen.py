"""Pilot tests for the history view over a pre-filled store (fixed ids and times)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from history_data import GROQ, OPENAI, RUN_ID, fill_store
from textual.widgets import DataTable, Input, Select
from ui_fakes import FakeEngine, fake_app, ready

from nuanu_tui.ui.screens.history import HistoryScreen
from nuanu_tui.ui.screens.modals import RunReportModal, WaterfallModal
from nuanu_tui.ui.widgets.latency_plot import TtfaDistributionPlot, TtfaRunsPlot
from nuanu_tui.ui.widgets.stats_table import StatsTable
from tests.waiting import until

SIZE = (120, 40)


async def shown(pilot: Any, condition: Callable[[], bool], what: str) -> None:
    """Wait for the app to reach a state (a thread worker's result lands via call_from_thread: on a loaded
    machine that can be after the worker counts as complete)."""
    await until(condition, what, timeout=15.0, interval=0.02, pause=pilot.pause)


async def open_history(pilot: Any) -> HistoryScreen:
    await ready(pilot)
    await pilot.press("ctrl+g")
    await settle(pilot)
    await shown(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen), "history screen shown")
    screen = pilot.app.screen
    await shown(pilot, lambda: bool(screen.data), "history loaded")
    return screen


async def settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def rows(screen: HistoryScreen, table: str) -> int:
    return screen.query_one(f"#history-{table}", DataTable).row_count


async def test_lists_sessions_runs_and_utterances(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = fill_store(monkeypatch)
    app = fake_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(pilot)
        assert rows(screen, "runs") == 1 and rows(screen, "sessions") == 3
        assert rows(screen, "utterances") == counts["all"]
        run_row = screen.query_one("#history-runs", DataTable).get_row(RUN_ID)
        assert run_row[1:4] == ["done", "4", GROQ]
        assert {"groq", "openai", GROQ, OPENAI} <= set(screen.data["providers"])


async def test_provider_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = fill_store(monkeypatch)
    app = fake_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(pilot)
        screen.query_one("#history-provider", Select).value = "openai"
        await settle(pilot)
        assert screen.provider == "openai"
        assert rows(screen, "utterances") == counts["openai"]
        assert {u["llm"] for u in screen.data["utterances"]} == {OPENAI}
        assert rows(screen, "runs") == 0  # the bench run was groq only
        assert {s["kind"] for s in screen.data["sessions"]} == {"console", "compare"}
        screen.query_one("#history-provider", Select).value = GROQ
        await settle(pilot)
        assert rows(screen, "utterances") == counts["groq"] and rows(screen, "runs") == 1
        assert rows(screen, "sessions") == 3


async def test_export_writes_the_filtered_rows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    counts = fill_store(monkeypatch)
    app = fake_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(pilot)
        assert screen.query_one("#history-path", Input).value == "nuanu-history.csv"
        await pilot.press("f3")  # default path, in the working directory
        await settle(pilot)
        with open(Path.cwd() / "nuanu-history.csv", encoding="utf-8") as f:
            every = list(csv.DictReader(f))
        assert len(every) == counts["all"]
        assert {r["id"] for r in every} >= {"u001", "u013"}

        screen.query_one("#history-provider", Select).value = "openai"
        await settle(pilot)
        target = tmp_path / "openai.json"
        screen.query_one("#history-path", Input).value = str(target)
        await pilot.press("f4")
        await settle(pilot)
        items = json.loads(target.read_text(encoding="utf-8"))
        assert sorted(i["utterance_id"] for i in items) == ["u003", "u005"]
        assert {i["llm"] for i in items} == {OPENAI}
        assert screen.last_export == (str(target), 2)


@pytest.mark.slow
async def test_open_a_bench_run_and_an_utterance(monkeypatch: pytest.MonkeyPatch) -> None:
    fill_store(monkeypatch)
    app = fake_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(pilot)
        screen.query_one("#history-runs", DataTable).focus()
        await pilot.press("enter")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, RunReportModal)
        assert [v.utterance_id for v in modal.views] == ["u010", "u011", "u012", "u013"]
        assert modal.query_one(StatsTable).summary[GROQ]["first_audio"]["n"] == 4
        assert modal.query_one(TtfaDistributionPlot).series == {GROQ: [394.0, 395.0, 396.0, 397.0]}
        assert modal.query_one(TtfaRunsPlot).order == {GROQ: [1, 2, 3, 4]}
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f6", "f6")  # runs -> sessions -> utterances
        table = screen.query_one("#history-utterances", DataTable)
        table.focus()
        await pilot.press("enter")  # newest first
        await pilot.pause()
        assert isinstance(app.screen, WaterfallModal)
        assert app.screen.view.utterance_id == "u013"


@pytest.mark.slow
async def test_headless_demo_bench_shows_up_with_plots(tmp_path: Path) -> None:
    env = dict(os.environ)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nuanu_tui",
            "bench",
            "--demo",
            "--runs",
            "2",
            "--audio",
            "null",
            "--no-warmup",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    app = fake_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(pilot)
        (run,) = screen.data["bench_runs"]
        assert run["status"] == "done"
        screen.query_one("#history-runs", DataTable).focus()
        await pilot.press("enter")
        await settle(pilot)
        await shown(pilot, lambda: isinstance(app.screen, RunReportModal), "run report shown")
        modal = app.screen
        assert isinstance(modal, RunReportModal)
        assert len(modal.views) == 2
        spec = run["config"]["llms"][0]
        assert len(modal.query_one(TtfaDistributionPlot).series[spec]) == 2
        assert modal.query_one(StatsTable).summary[spec]["first_audio"]["n"] == 2


async def test_stopped_and_dropped_remarks_are_listed_as_such() -> None:
    from nuanu_tui.core.store import Store
    from nuanu_tui.core.store_schema import default_db_path
    from nuanu_tui.core.timeline import UtteranceResult

    with Store(default_db_path()) as store:
        session = store.start_session("console")
        for i, mark in enumerate(("interrupted", "dropped")):
            r = UtteranceResult(trigger=f"кот {i}", llm=GROQ, tts="espeak/ru", utterance_id=f"cut-{i}")
            r.error, r.error_kind, r.mark, r.started_at = "by the operator", "cancelled", mark, 1.8e9 + i
            store.record(r, session)
    app = fake_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(pilot)
        table = screen.query_one("#history-utterances", DataTable)
        assert table.get_row("cut-0")[4] == "✖ interrupted"
        assert table.get_row("cut-1")[4] == "✖ dropped"


async def test_the_llm_column_says_who_really_wrote_the_remark() -> None:
    from nuanu_tui.core.store import Store
    from nuanu_tui.core.store_schema import default_db_path
    from nuanu_tui.core.timeline import UtteranceResult

    with Store(default_db_path()) as store:
        session = store.start_session("console")
        rescued = UtteranceResult(trigger="кот", llm=GROQ, tts="espeak/ru", utterance_id="rescued")
        rescued.text, rescued.served_by, rescued.started_at = "Мяу!", "offline/phrasebook", 1.8e9
        own = UtteranceResult(trigger="пёс", llm=GROQ, tts="espeak/ru", utterance_id="own")
        own.text, own.served_by, own.started_at = "Гав!", GROQ, 1.8e9 + 1
        store.record(rescued, session)
        store.record(own, session)
    app = fake_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(pilot)
        table = screen.query_one("#history-utterances", DataTable)
        assert table.get_row("rescued")[2] == "↪ offline/phrasebook"
        assert table.get_row("own")[2] == GROQ


async def test_the_network_tab_draws_the_stored_rtt_series() -> None:
    """The console's net readings (table net_rtt) are drawn: the last session's, one line per provider."""
    from nuanu_tui.core.config import Settings
    from nuanu_tui.core.store import Store
    from nuanu_tui.ui.widgets.latency_plot import RttPlot

    fill_store()
    store = Store.from_settings(Settings()).open()
    try:
        old = store.start_session("console", "earlier")
        store.record_rtt(1000.0, [("groq", 500.0)], old)  # another session's: not drawn
        now = store.start_session("console", "today")
        for i, (groq, eleven) in enumerate([(84.0, 91.0), (90.0, None), (120.0, 95.0)]):
            store.record_rtt(2000.0 + 5 * i, [("groq", groq), ("elevenlabs", eleven)], now)
        store.flush()
    finally:
        store.close()
    app = fake_app(FakeEngine())
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        screen = await open_history(pilot)
        plot = screen.query_one(RttPlot)
        await shown(pilot, lambda: bool(plot.series), "the RTT series")
        assert plot.series == {"groq": [84.0, 90.0, 120.0], "elevenlabs": [91.0, 95.0]}
        assert plot.times == {"groq": [0.0, 5.0, 10.0], "elevenlabs": [0.0, 10.0]}
        screen.query_one("#history-tabs").active = "tab-network"  # type: ignore[attr-defined]
        await pilot.pause()
        plot.replot()
        await pilot.pause()
        drawn = "\n".join(s.text for s in plot.render_lines(plot.content_region.reset_offset))
        assert "net round trip" in drawn and "groq" in drawn and "elevenlabs" in drawn
        assert any(ch in drawn for ch in "⠁⠂⠄⡀⠈⠐⠠⢀")  # braille points: the lines are plotted
