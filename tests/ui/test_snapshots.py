"""A few deterministic screenshots of the console, driven by the scripted fake engine (fixed timings)."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.pilot import Pilot
from ui_fakes import FakeEngine, fake_app, ready

SIZE = (120, 40)


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.clear_notifications()  # toasts are timing-dependent; the cards show the same facts
    await pilot.pause()


def test_idle(snap_compare: Any) -> None:
    assert snap_compare(fake_app(FakeEngine()), terminal_size=SIZE, run_before=ready)


def test_mid_stream(snap_compare: Any) -> None:
    engine = FakeEngine(hold_after="first_audio")

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("f1")
        assert await asyncio.to_thread(engine.held.wait, 10)  # every event before the hold is posted
        await pilot.pause()
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(fake_app(engine), terminal_size=SIZE, run_before=run_before)


def test_finished_with_waterfall(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(fake_app(FakeEngine()), terminal_size=SIZE, run_before=run_before)


def test_error(snap_compare: Any) -> None:
    engine = FakeEngine(
        error=("network", "openai/gpt-4o-mini: connection refused (127.0.0.1:9)"), simulated=False
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("f2")
        await settle(pilot)

    assert snap_compare(fake_app(engine), terminal_size=SIZE, run_before=run_before)


# --- compare / bench / history ---------------------------------------------------------------------------
def test_compare_after_two_rounds(snap_compare: Any) -> None:
    from mode_fakes import LaneEngine, lane_app

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause()
        await pilot.press("f1", "f2")
        await settle(pilot)
        # The measured start skew (µs to a few ms) is real time: pin it so the picture is stable.
        screen = pilot.app.screen
        last = screen.rounds.pop()  # type: ignore[attr-defined]
        last.start_skew_ms = 0.0
        screen.on_round_done(last)  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(lane_app(LaneEngine()), terminal_size=SIZE, run_before=run_before)


def test_bench_finished(snap_compare: Any) -> None:
    from mode_fakes import FAST, SLOW, LaneEngine, lane_app

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        pilot.app.screen.set_config(triggers="seed", llms=[FAST, SLOW], runs=3, pause=0)  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        await settle(pilot)

    assert snap_compare(lane_app(LaneEngine(vary_ms=5.0)), terminal_size=SIZE, run_before=run_before)


def test_history_list(snap_compare: Any) -> None:
    from history_data import fill_store

    fill_store()

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)

    assert snap_compare(fake_app(FakeEngine()), terminal_size=SIZE, run_before=run_before)
