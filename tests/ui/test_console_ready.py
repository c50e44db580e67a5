"""The console says `starting…` until its engine is ready, and a trigger typed meanwhile is kept and spoken
at ready (or handed back to the input with a reason when the engine cannot start): never dropped."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from textual.notifications import Notify
from ui_fakes import FakeEngine, Messages

from nuanu_tui.core.config import Settings
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.ui.app import make_app
from nuanu_tui.ui.messages import EngineFailed, EngineReady, UtteranceDone
from nuanu_tui.ui.widgets.status_bar import StatusBar
from nuanu_tui.ui.widgets.trigger_input import TriggerInput

SIZE = (80, 24)


def gated_app(gate: threading.Event, engine: FakeEngine | None) -> Any:
    """The console whose engine becomes ready only when the test opens `gate` (None: it fails to start)."""

    async def factory() -> FakeEngine:
        await asyncio.to_thread(gate.wait, 60)
        if engine is None:
            raise NuanuError("settings", "GROQ_API_KEY is not set (.env)")
        return engine

    return make_app(Settings(), factory=factory, live_status=False, output_format="pcm_24000")


def status_text(app: Any) -> str:
    return str(app.screen.query_one(StatusBar).query_one("#status-line").render())


@pytest.mark.slow
async def test_a_trigger_typed_while_starting_is_kept_and_spoken_at_ready() -> None:
    gate, engine = threading.Event(), FakeEngine()
    app = gated_app(gate, engine)
    messages = Messages()
    try:
        async with app.run_test(size=SIZE, message_hook=messages) as pilot:
            await pilot.pause()
            line = status_text(app)
            assert "starting…" in line
            assert "● warm" not in line and "engine idle" not in line  # nothing claims ready too early
            await pilot.press(*"две собаки слева", "enter")
            await pilot.press(*"корова справа", "enter")
            await pilot.pause()
            assert engine.calls == []  # not spoken yet: the engine is not there
            kept = [m.notification.message for m in messages.of(Notify)]
            assert any("kept" in n and "две собаки слева" in n for n in kept), kept
            assert not any("try again" in n for n in kept)
            assert "starting…" in status_text(app)
            gate.set()
            await messages.wait_for(lambda m: isinstance(m, EngineReady))
            await messages.wait_for(
                lambda m: isinstance(m, UtteranceDone) and m.view.trigger == "корова справа"
            )
            assert engine.calls == ["две собаки слева", "корова справа"]  # both, in the order typed
            await pilot.pause()
            assert "engine idle" in status_text(app) and "starting…" not in status_text(app)
    finally:
        gate.set()


@pytest.mark.slow
async def test_a_trigger_typed_while_starting_goes_back_to_the_input_when_the_engine_fails() -> None:
    gate = threading.Event()
    app = gated_app(gate, None)
    messages = Messages()
    try:
        async with app.run_test(size=SIZE, message_hook=messages) as pilot:
            await pilot.pause()
            await pilot.press(*"две собаки слева", "enter")
            await pilot.pause()
            assert app.screen.query_one(TriggerInput).value == ""
            gate.set()
            await messages.wait_for(lambda m: isinstance(m, EngineFailed))
            await pilot.pause()
            assert app.screen.query_one(TriggerInput).value == "две собаки слева"  # handed back, not lost
            notes = [m.notification.message for m in messages.of(Notify)]
            assert any("Not spoken" in n and "did not start" in n for n in notes), notes
    finally:
        gate.set()
