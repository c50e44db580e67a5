"""Utterances cut short by the operator are recorded honestly: a stopped one with its real start, the stages
it reached and mark `interrupted`; one cleared from the queue with when it was queued and mark `dropped`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.events import StageReached
from nuanu_tui.core.store import Store

pytestmark = pytest.mark.slow


async def test_stopped_and_dropped_utterances_are_recorded(tmp_path: Path) -> None:
    engine = await Engine.create(Settings(), llm="offline/phrasebook", tts="espeak", audio="null")
    store = Store(tmp_path / "nuanu.db").open()
    engine.add_listener(store.record)
    try:
        heard = asyncio.Event()

        def on_event(event: object) -> None:
            if isinstance(event, StageReached) and event.stage == "first_audio":
                heard.set()

        before = time.time()
        speaking = asyncio.create_task(engine.say("две собаки слева", on_event=on_event))
        queued = [asyncio.create_task(engine.say(f"кот номер {i}")) for i in range(3)]
        await asyncio.wait_for(heard.wait(), 30)
        for task in queued:  # the operator clears the queue...
            task.cancel()
        engine.interrupt()  # ...and stops the remark being spoken
        results = await asyncio.gather(speaking, *queued, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
    finally:
        await engine.aclose()
    store.close()
    with Store(tmp_path / "nuanu.db") as again:
        rows = again.utterances()
    assert [r["mark"] for r in rows].count("interrupted") == 1
    assert [r["mark"] for r in rows].count("dropped") == 3
    assert len(rows) == 4
    for row in rows:
        assert before <= row["started_at"] <= time.time()  # not 0 (1970)
        assert row["ok"] is False and row["error_kind"] == "cancelled"
    stopped = next(r for r in rows if r["mark"] == "interrupted")
    assert stopped["trigger"] == "две собаки слева"
    assert stopped["ttft_ms"] is not None and stopped["first_audio_ms"] is not None  # the stages it reached
    assert stopped["playback_done_ms"] is None
    assert stopped["text"]  # what it had said
    for row in rows:
        if row["mark"] == "dropped":
            assert row["trigger"].startswith("кот номер") and row["first_audio_ms"] is None


async def test_a_trigger_refused_before_it_ran_has_its_real_start() -> None:
    engine = await Engine.create(Settings(), llm="offline/phrasebook", tts="espeak", audio="null", warm=False)
    try:
        before = time.time()
        result = await engine.say("   ")
    finally:
        await engine.aclose()
    assert result.error_kind == "input" and before <= result.started_at <= time.time()
