"""A few deterministic screenshots of the console, driven by the scripted fake engine (fixed timings)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_finished_with_waterfall(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(fake_app(FakeEngine()), terminal_size=SIZE, run_before=run_before)


@pytest.mark.slow
def test_error(snap_compare: Any) -> None:
    engine = FakeEngine(
        error=("network", "openai/gpt-4o-mini: connection refused (127.0.0.1:9)"), simulated=False
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("f2")
        await settle(pilot)

    assert snap_compare(fake_app(engine), terminal_size=SIZE, run_before=run_before)


async def compare_rounds(pilot: Pilot[Any], *keys: str) -> None:
    """Open the compare view and play one round per key."""
    await ready(pilot)
    await pilot.press("ctrl+t")
    await pilot.pause()
    await pilot.press(*keys)
    await settle(pilot)
    # The measured start skew (µs to a few ms) is real time: pin it so the picture is stable.
    screen = pilot.app.screen
    last = screen.rounds.pop()  # type: ignore[attr-defined]
    last.start_skew_ms = 0.0
    screen.on_round_done(last)  # type: ignore[attr-defined]
    await pilot.pause()


# --- compare / bench / history ---------------------------------------------------------------------------
@pytest.mark.slow
def test_compare_after_two_rounds(snap_compare: Any) -> None:
    from mode_fakes import LaneEngine, lane_app

    async def run_before(pilot: Pilot[Any]) -> None:
        await compare_rounds(pilot, "f1", "f2")

    assert snap_compare(lane_app(LaneEngine()), terminal_size=SIZE, run_before=run_before)


@pytest.mark.slow
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


@pytest.mark.slow
def test_history_list(snap_compare: Any) -> None:
    from history_data import fill_store

    fill_store()

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)

    assert snap_compare(fake_app(FakeEngine()), terminal_size=SIZE, run_before=run_before)


# --- small terminals: 80x24 (the most common) and 60x20 ---------------------------------------------------
SMALL = ((80, 24), (60, 20))


@pytest.mark.parametrize("size", SMALL, ids=lambda s: f"{s[0]}x{s[1]}")
def test_console_small(snap_compare: Any, size: tuple[int, int]) -> None:
    engine = FakeEngine(offline_reasons=("LLM offline: no GROQ_API_KEY or OPENAI_API_KEY",))

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(fake_app(engine), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SMALL, ids=lambda s: f"{s[0]}x{s[1]}")
def test_console_small_with_panels(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("f1")
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)

    assert snap_compare(fake_app(FakeEngine()), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SMALL, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.slow
def test_compare_small(snap_compare: Any, size: tuple[int, int]) -> None:
    from mode_fakes import LaneEngine, lane_app

    async def run_before(pilot: Pilot[Any]) -> None:
        await compare_rounds(pilot, "f1")

    assert snap_compare(lane_app(LaneEngine()), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SMALL, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.slow
def test_ride_small(snap_compare: Any, size: tuple[int, int]) -> None:
    """The ride view with its listeners off (ports 0: nothing bound, nothing time- or port-dependent)."""
    from nuanu_tui.core.config import Settings
    from nuanu_tui.ui.app import make_app

    engine = FakeEngine()

    async def factory() -> FakeEngine:
        return engine

    settings = Settings().model_copy(update={"ride_udp_port": 0, "ride_ws_port": 0})
    app = make_app(settings, factory=factory, live_status=False, output_format="pcm_24000")

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+y")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


# --- every view after a remark at the sizes people use: 80x24, 100x30, 120x40 ---------------------------
SIZES = ((80, 24), (100, 30), (120, 40))


def size_id(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


async def console_remark(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await pilot.press("f1")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=size_id)
def test_console_sizes(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(fake_app(FakeEngine()), terminal_size=size, run_before=console_remark)


@pytest.mark.parametrize("size", SIZES, ids=size_id)
@pytest.mark.slow
def test_compare_sizes(snap_compare: Any, size: tuple[int, int]) -> None:
    from mode_fakes import LaneEngine, lane_app

    async def run_before(pilot: Pilot[Any]) -> None:
        await compare_rounds(pilot, "f1")

    assert snap_compare(lane_app(LaneEngine()), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=size_id)
@pytest.mark.slow
def test_bench_sizes(snap_compare: Any, size: tuple[int, int]) -> None:
    from mode_fakes import FAST, SLOW, LaneEngine, lane_app

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        pilot.app.screen.set_config(triggers="seed", llms=[FAST, SLOW], runs=2, pause=0)  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        await settle(pilot)

    assert snap_compare(lane_app(LaneEngine(vary_ms=5.0)), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=size_id)
@pytest.mark.slow
def test_history_sizes(snap_compare: Any, size: tuple[int, int]) -> None:
    from history_data import fill_store

    fill_store()

    async def run_before(pilot: Pilot[Any]) -> None:
        await console_remark(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)

    assert snap_compare(fake_app(FakeEngine()), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=size_id)
@pytest.mark.slow
def test_ride_sizes(snap_compare: Any, size: tuple[int, int]) -> None:
    """The ride view (listeners off) after a remark, drawn from the bridge's messages with fixed times."""
    import dataclasses

    from ui_fakes import FIXED_STAGES, FIXED_START

    from nuanu_tui.core.config import Settings
    from nuanu_tui.ui.app import make_app
    from nuanu_tui.ui.messages import StageArrived, TextArrived, UtteranceBegan, UtteranceDone, UtteranceView

    engine = FakeEngine()

    async def factory() -> FakeEngine:
        return engine

    settings = Settings().model_copy(update={"ride_udp_port": 0, "ride_ws_port": 0})
    app = make_app(settings, factory=factory, live_status=False, output_format="pcm_24000")
    view = UtteranceView(
        utterance_id="ride-1", trigger="две собаки слева", llm="groq/llama-3.1-8b-instant",
        tts="elevenlabs/eleven_flash_v2_5", started_at=FIXED_START, simulated=True,
    )  # fmt: skip
    text = "Слева две собаки — провожают нас взглядом."

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.press("ctrl+y")
        await settle(pilot)
        screen = pilot.app.screen
        screen.post_message(UtteranceBegan(view))
        screen.post_message(TextArrived(view.utterance_id, text))
        for stage, ms in FIXED_STAGES.items():
            screen.post_message(StageArrived(view.utterance_id, stage, ms))
        done = dataclasses.replace(view, done=True, text=text, stages_ms=dict(FIXED_STAGES), ws_reused=True)
        screen.post_message(UtteranceDone(done))
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
