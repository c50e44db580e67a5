"""Pilot tests for the console: real engine on the emulator (null audio) and a scripted fake engine."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from pydantic import SecretStr
from textual.notifications import Notify
from textual.widgets import Select
from ui_fakes import FakeEngine, Messages, fake_app, ready

from nuanu_tui.core.config import Settings
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.timeline import STAGES
from nuanu_tui.ui.app import NuanuApp, make_app
from nuanu_tui.ui.messages import (
    AudioDevicesListed,
    EngineFailed,
    EngineReady,
    ProviderSwitched,
    StageArrived,
    StatusChanged,
    TextArrived,
    UtteranceDone,
)
from nuanu_tui.ui.widgets.status_bar import StatusBar
from nuanu_tui.ui.widgets.transcript import Transcript
from nuanu_tui.ui.widgets.trigger_input import TriggerInput
from nuanu_tui.ui.widgets.waterfall import Waterfall
from tests.conftest import needs_sigkill
from tests.test_speaker import FAULTS
from tests.test_speaker import _portaudio as portaudio_missing

SIZE = (120, 40)


def sim_settings(sim: Any, **update: Any) -> Settings:
    keys = {
        k: SecretStr(f"{k}-TESTKEY-0123456789")
        for k in ("groq_api_key", "openai_api_key", "elevenlabs_api_key")
    }
    return Settings().model_copy(
        update={
            **keys,
            "groq_base_url": sim.groq_base_url,
            "openai_base_url": sim.openai_base_url,
            "elevenlabs_base_url": sim.elevenlabs_base_url,
            **update,
        }
    )


def sim_app(sim: Any) -> NuanuApp:
    """The real console (engine process included) on the emulator, Groq + ElevenLabs, silent audio."""
    return make_app(
        sim_settings(sim), llm="groq/llama-3.1-8b-instant", tts="elevenlabs", audio="null", live_status=False
    )


def errors(messages: Messages) -> list[str]:
    return [m.notification.message for m in messages.of(Notify) if m.notification.severity == "error"]


# --- real engine (emulator, null audio) ------------------------------------------------------------------
@pytest.mark.slow
async def test_typed_trigger_streams_remark_and_fills_waterfall(sim: Any) -> None:
    app = sim_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press(*"две собаки слева", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = messages.of(UtteranceDone)[-1].view
        assert view.error is None, view.error
        assert view.trigger == "две собаки слева"
        assert view.text
        streamed = "".join(m.text for m in messages.of(TextArrived) if m.utterance_id == view.utterance_id)
        assert streamed.strip() == view.text
        card = app.screen.query_one(Transcript).card(view.utterance_id)
        assert card is not None and card.text.strip() == view.text
        assert {m.stage for m in messages.of(StageArrived)} == set(STAGES)
        waterfall = app.screen.query_one(Waterfall)
        assert waterfall.view is not None and waterfall.view.utterance_id == view.utterance_id
        assert all(waterfall.view.stages_ms[s] is not None for s in STAGES)
        assert waterfall.view.floor_ms is not None  # the emulator reports Groq queue/prompt time


@pytest.mark.slow
async def test_switching_llm_changes_the_next_run(sim: Any) -> None:
    app = sim_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        app.screen.query_one("#pick-llm", Select).value = "openai/gpt-4o-mini"
        switched = await messages.wait_for(lambda m: isinstance(m, ProviderSwitched))
        assert (switched.kind, switched.spec, switched.error) == ("llm", "openai/gpt-4o-mini", None)
        await pilot.press("f3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = messages.of(UtteranceDone)[-1].view
        assert view.llm == "openai/gpt-4o-mini"
        assert view.error is None, view.error
        assert app.link.engine.results[-1].llm == "openai/gpt-4o-mini"


@pytest.mark.slow
async def test_interrupt_mode_cancels_what_is_playing(sim: Any) -> None:
    app = sim_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press("f8")  # queue -> interrupt
        assert app.interrupt_mode is True
        await pilot.press("f1")
        first = await messages.wait_for(lambda m: isinstance(m, StageArrived) and m.stage == "first_audio")
        await pilot.press("f2")
        await app.workers.wait_for_complete()
        await pilot.pause()
        done = {m.view.utterance_id: m.view for m in messages.of(UtteranceDone)}
        cut = done[first.utterance_id]
        assert cut.error_kind == "cancelled"
        assert cut.stages_ms["playback_done"] is None
        later = [v for uid, v in done.items() if uid != first.utterance_id]
        assert len(later) == 1 and later[0].error is None and later[0].stages_ms["playback_done"] is not None


@pytest.mark.slow
async def test_provider_fault_notifies_and_app_stays_alive() -> None:
    settings = Settings().model_copy(
        update={
            "openai_base_url": "http://127.0.0.1:9/v1",
            "openai_api_key": SecretStr("sk-FAKEKEY-not-real-0123456789abcdef"),
            "connect_timeout": 1.0,
            "failover": "off",  # strict: this test is about the error path (failover has its own tests)
        }
    )
    app = make_app(settings, llm="openai/gpt-4o-mini", tts="espeak", audio="null", live_status=False)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await app.workers.wait_for_complete()
        await pilot.pause()
        view = messages.of(UtteranceDone)[-1].view
        assert view.error is not None and view.error_kind not in (None, "internal")
        assert any(view.error in e for e in errors(messages))
        assert "FAKEKEY" not in " ".join(errors(messages))
        card = app.screen.query_one(Transcript).card(view.utterance_id)
        assert card is not None and card.has_class("-error")
        # Still alive: switch to the offline phrasebook and speak.
        app.screen.switch_llm("offline/phrasebook")
        await messages.wait_for(lambda m: isinstance(m, ProviderSwitched) and m.spec == "offline/phrasebook")
        await pilot.press("f2")
        await app.workers.wait_for_complete()
        await pilot.pause()
        last = messages.of(UtteranceDone)[-1].view
        assert last.llm == "offline/phrasebook" and last.error is None, last.error
        assert app.is_running


# --- fake engine (fast, deterministic) ------------------------------------------------------------------
async def test_queue_mode_plays_triggers_in_order() -> None:
    engine = FakeEngine()
    app = fake_app(engine)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press("f1", "f2", "f3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        seeds = app.link.catalog.seeds
        assert engine.calls == list(seeds[:3])
        assert [m.view.trigger for m in messages.of(UtteranceDone)] == list(seeds[:3])
        assert engine.interrupted == 0
        assert len(app.screen.query_one(Transcript).cards) == 3


async def test_deltas_are_coalesced_not_posted_per_token() -> None:
    tokens = tuple(f"слово{i} " for i in range(300))
    app = fake_app(FakeEngine(text=tokens))
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await app.workers.wait_for_complete()
        await pilot.pause()
        texts = messages.of(TextArrived)
        assert "".join(m.text for m in texts) == "".join(tokens)
        assert len(texts) <= 3  # 300 deltas in one burst: the first at once, the rest batched


@pytest.mark.slow
async def test_history_walks_with_up_and_down() -> None:
    app = fake_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"one", "enter", *"two", "enter")
        field = app.screen.query_one(TriggerInput)
        assert field.value == ""
        await pilot.press("up")
        assert field.value == "two"
        await pilot.press("up", "up")
        assert field.value == "one"
        await pilot.press("down")
        assert field.value == "two"
        await pilot.press("down")
        assert field.value == ""
        await app.workers.wait_for_complete()


@pytest.mark.slow
async def test_selecting_an_earlier_card_shows_its_waterfall() -> None:
    app = fake_app(FakeEngine())
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press("f1", "f2")
        await app.workers.wait_for_complete()
        await pilot.pause()
        waterfall = app.screen.query_one(Waterfall)
        ids = [m.view.utterance_id for m in messages.of(UtteranceDone)]
        assert waterfall.view is not None and waterfall.view.utterance_id == ids[1]
        await pilot.press("f6")
        assert waterfall.view.utterance_id == ids[0]
        assert app.screen.query_one(Transcript).cards[ids[0]].has_class("-selected")
        await pilot.click(f"#card-{ids[1]}")
        assert waterfall.view.utterance_id == ids[1]


async def test_interrupt_key_cancels_a_held_utterance() -> None:
    engine = FakeEngine(hold_after="first_audio")
    app = fake_app(engine)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await messages.wait_for(lambda m: isinstance(m, StageArrived) and m.stage == "first_audio")
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert engine.interrupted == 1
        assert messages.of(UtteranceDone)[-1].view.error_kind == "cancelled"


async def test_engine_start_failure_is_shown_not_fatal() -> None:
    async def broken() -> Any:
        raise NuanuError("config", "bad audio spec 'speakers': use device, null or wav:PATH")

    app = make_app(Settings(), factory=broken, live_status=False)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        assert messages.of(EngineFailed)[0].message.startswith("bad audio spec")
        assert any("bad audio spec" in e for e in errors(messages))
        await pilot.press("f1")  # no engine: a warning, no crash
        await pilot.pause()
        assert app.is_running
        banner = str(app.screen.query_one(StatusBar).query_one("#banner").render())
        assert "ENGINE DOWN" in banner


async def test_status_bar_shows_badges_and_stats() -> None:
    engine = FakeEngine(offline_reasons=("LLM offline: no GROQ_API_KEY or OPENAI_API_KEY",))
    app = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1", "f2")
        await app.workers.wait_for_complete()
        await pilot.pause()
        bar = app.screen.query_one(StatusBar)
        banner = str(bar.query_one("#banner").render())
        line = str(bar.query_one("#status-line").render())
        assert "SIMULATED" in banner and "OFFLINE" in banner and "no GROQ_API_KEY" in banner
        assert "2 utt" in line and "p50 384 ms" in line and "p90 384 ms" in line


async def test_status_bar_shows_failing_providers_live() -> None:
    engine = FakeEngine()
    app = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        bar = app.screen.query_one(StatusBar)
        assert "FAILING" not in str(bar.query_one("#banner").render())
        engine.unavailable = ("elevenlabs/eleven_flash_v2_5",)
        await pilot.press("f1")  # any finished utterance refreshes the status, as does the periodic poll
        await app.workers.wait_for_complete()
        await pilot.pause()
        banner = str(bar.query_one("#banner").render())
        assert "FAILING" in banner and "elevenlabs/eleven_flash_v2_5" in banner and "espeak/ru" in banner


async def test_quit_closes_the_engine() -> None:
    engine = FakeEngine()
    app = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+q")
    assert engine.closed
    assert not app.link._thread.is_alive()


@pytest.mark.slow
async def test_a_killed_engine_process_is_shown_logged_and_restarted(sim: Any) -> None:
    """Kill the engine's process mid-remark (SIGKILL; TerminateProcess on Windows): ENGINE DOWN names the
    signal, the card ends as failed (and is recorded), engine.log says why, the engine comes back by itself
    and the next trigger is spoken."""
    app = sim_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        engine = app.link.engine
        pid = engine.pid
        assert pid != os.getpid()
        await pilot.press("f1")
        await messages.wait_for(lambda m: isinstance(m, StageArrived) and m.stage == "first_audio")
        engine.proc.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        failed = await messages.wait_for(lambda m: isinstance(m, EngineFailed))
        how = "killed by SIGKILL" if os.name == "posix" else "exit code"
        assert how in failed.message and "\n" not in failed.message
        assert failed.restart_in is not None and failed.restart_in > 0
        done = await messages.wait_for(lambda m: isinstance(m, UtteranceDone))
        assert done.view.error_kind == "engine" and how in (done.view.error or "")
        assert done.view.stages_ms.get("first_audio") is not None  # what it reached before dying
        await pilot.pause()
        bar = app.screen.query_one(StatusBar)
        assert "ENGINE DOWN" in str(bar.query_one("#banner").render())
        assert "restarting" in str(bar.query_one("#status-line").render())
        card = app.screen.query_one(Transcript).card(done.view.utterance_id)
        assert card is not None and card.has_class("-error") and "playing" not in str(card._foot())
        await messages.wait_for(lambda m: isinstance(m, EngineReady) and m.restarted)
        await pilot.pause()
        assert app.link.engine is not engine and app.link.engine.pid != pid
        assert "ENGINE DOWN" not in str(bar.query_one("#banner").render())
        log = engine.log_path.read_text(encoding="utf-8")
        assert how in log and "engine restarted" in log
        await pilot.press(*"две собаки слева", "enter")  # the next trigger works
        ok = await messages.wait_for(
            lambda m: isinstance(m, UtteranceDone) and m.view.utterance_id != done.view.utterance_id
        )
        assert ok.view.error is None, ok.view.error
        await app.workers.wait_for_complete()
        store = app.link.store
        assert store is not None
        rows = {r["id"]: r for r in store.utterances()}
        assert rows[done.view.utterance_id]["error_kind"] == "engine"  # the failed one is recorded too


async def test_a_damaged_database_is_moved_aside_and_said_in_one_line(tmp_path: Any) -> None:
    from nuanu_tui.core.store_schema import default_db_path
    from tests.test_store import damage, filled

    path = default_db_path()
    filled(path)
    damage(path)
    app = fake_app(FakeEngine())
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        notes = [m.notification for m in messages.of(Notify) if m.notification.title == "Database"]
        assert len(notes) == 1 and "moved it to" in notes[0].message and "\n" not in notes[0].message
        store = app.link.store
        assert store is not None and store.is_open and store.utterances() == []  # a fresh one


# --- Esc and the queue (one behaviour, one key each) ------------------------------------------------------
@pytest.mark.slow
async def test_esc_stops_the_current_remark_and_the_queue_plays_on() -> None:
    engine = FakeEngine(hold_after="first_audio")
    app = fake_app(engine)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press("f1", "f1", "f1", "f1", "f1")
        await messages.wait_for(lambda m: isinstance(m, StageArrived) and m.stage == "first_audio")
        await pilot.press("escape")  # stops u1 only
        await messages.wait_for(lambda m: isinstance(m, StageArrived) and m.utterance_id == "u2")
        await pilot.press("ctrl+l")  # drops u3..u5, u2 plays on
        await messages.wait_for(lambda m: isinstance(m, UtteranceDone) and m.view.utterance_id == "u5")
        assert engine.busy
        await pilot.press("escape")  # stops u2
        await app.workers.wait_for_complete()
        await pilot.pause()
        marks = {m.view.utterance_id: m.view.mark for m in messages.of(UtteranceDone)}
        assert marks == {
            "u1": "interrupted",
            "u2": "interrupted",
            "u3": "dropped",
            "u4": "dropped",
            "u5": "dropped",
        }
        notes = [m.notification.message for m in messages.of(Notify)]
        assert "3 queued remarks dropped (recorded)" in notes


def test_keys_are_documented_in_one_place() -> None:
    """README key table, footer bindings and palette help all come from `nuanu_tui.ui.keys`."""
    from pathlib import Path

    from nuanu_tui.ui.keys import CONSOLE_KEYS, console_bindings, readme_table
    from nuanu_tui.ui.screens.console import ConsoleScreen

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme, "README key table is stale: python -m nuanu_tui.ui.keys"
    bound = {(b.key, b.action) for b in ConsoleScreen.BINDINGS}  # type: ignore[union-attr]
    assert bound == {(b.key, b.action) for b in console_bindings()}
    assert {k.action for k in CONSOLE_KEYS if k.action} >= {"stop", "clear_queue"}
    assert ("escape", "stop") in bound and ("ctrl+l", "clear_queue") in bound


async def test_palette_says_what_the_keys_do() -> None:
    from nuanu_tui.ui.commands import NuanuCommands
    from nuanu_tui.ui.keys import does

    app = fake_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        provider = NuanuCommands(app.screen)
        helps = {title: help_text for title, help_text, _ in provider._commands()}
        assert helps["Stop speaking"] == does("stop") and "(Esc)" in helps["Stop speaking"]
        assert helps["Clear the queue"] == does("clear_queue") and "(Ctrl+L)" in helps["Clear the queue"]


async def test_palette_offers_the_emulated_networks_in_demo() -> None:
    """The network profiles reach the palette through the bridge's catalog (the UI never imports the emulator)."""
    from nuanu_tui.ui.commands import NuanuCommands

    app = fake_app(FakeEngine(simulated=True))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        helps = {title: help_text for title, help_text, _ in NuanuCommands(app.screen)._commands()}
        nets = {title: text for title, text in helps.items() if title.startswith("Network: ")}
        assert list(nets) == ["Network: loopback", "Network: wifi", "Network: lte", "Network: bad"]
        assert nets["Network: lte"] == "Emulated link, live: 80 ms RTT, 15 ms jitter, 0 % loss"
        assert nets["Network: bad"] == "Emulated link, live: 250 ms RTT, 60 ms jitter, 2 % loss"


@pytest.mark.slow
async def test_f1_five_times_then_esc_and_clear_records_every_remark(sim: Any) -> None:
    """The real console and engine process: nothing queued vanishes unrecorded."""
    app = sim_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press("f1", "f1", "f1", "f1", "f1")
        await messages.wait_for(lambda m: isinstance(m, StageArrived) and m.stage == "first_audio")
        await pilot.press("ctrl+l", "escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        done = messages.of(UtteranceDone)
        assert sorted(m.view.mark or "" for m in done) == ["dropped"] * 4 + ["interrupted"]
        store = app.link.store
        assert store is not None
        rows = store.utterances()
    assert sorted(r["mark"] for r in rows) == ["dropped"] * 4 + ["interrupted"]
    assert all(r["started_at"] > 1_700_000_000 for r in rows)
    stopped = next(r for r in rows if r["mark"] == "interrupted")
    assert stopped["first_audio_ms"] is not None and stopped["playback_done_ms"] is None


# --- small terminals --------------------------------------------------------------------------------------
def transcript_rows(app: NuanuApp) -> int:
    transcript = app.screen.query_one(Transcript)
    return transcript.content_region.height


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
@pytest.mark.slow
async def test_transcript_keeps_five_rows_on_small_terminals(size: tuple[int, int]) -> None:
    engine = FakeEngine(offline_reasons=("LLM offline: no GROQ_API_KEY",))
    engine.unavailable = ("elevenlabs/eleven_flash_v2_5",)  # three banners, each one line
    app = fake_app(engine)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert transcript_rows(app) >= 5
        banner = app.screen.query_one(StatusBar).query_one("#banner")
        assert banner.region.height == 3  # SIMULATED, OFFLINE, FAILING: one line each
        chart = app.screen.query_one(Waterfall)
        # Shown, four stages, where the transcript keeps five rows under three banners (80×24), else the
        # card's stage strip is all (60×20).
        assert chart.display == (size == (80, 24)) and (chart.compact or not chart.display)
        await pilot.press("f10")  # shown on request; the waterfall only where the transcript keeps 5 rows
        await pilot.pause()
        assert app.screen.query_one("#picker").display
        assert transcript_rows(app) >= 5
        await pilot.press("f10")
        await pilot.pause()
        assert not app.screen.query_one("#picker").display


@pytest.mark.slow
async def test_shrinking_while_speaking_keeps_the_transcript() -> None:
    engine = FakeEngine(hold_after="first_audio")
    app = fake_app(engine)
    messages = Messages()
    async with app.run_test(size=(120, 40), message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await messages.wait_for(lambda m: isinstance(m, StageArrived) and m.stage == "first_audio")
        await pilot.pause()
        assert app.screen.query_one(Waterfall).display and app.screen.query_one("#picker").display
        for size in ((80, 24), (60, 20), (60, 16)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            assert transcript_rows(app) >= 5, size
            assert not app.screen.query_one("#picker").display
            chart = app.screen.query_one(Waterfall)  # the live remark's stages, as room allows
            assert chart.display == (size != (60, 16)), size
            assert not chart.display or chart.compact or size == (80, 24), size
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query_one(Waterfall).display and app.screen.query_one("#picker").display
        await pilot.press("escape")
        await app.workers.wait_for_complete()


@pytest.mark.slow
async def test_a_database_that_refuses_writes_is_shown_not_hidden(sim: Any) -> None:
    import sqlite3

    from nuanu_tui.core.store import Store
    from nuanu_tui.core.store_schema import default_db_path

    Store(default_db_path()).open().close()
    conn = sqlite3.connect(default_db_path())  # sound file, but it refuses every utterance row
    conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON utterances BEGIN SELECT RAISE(FAIL, 'disk says no'); END"
    )
    conn.close()
    app = sim_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await messages.wait_for(lambda m: isinstance(m, UtteranceDone))
        await app.workers.wait_for_complete()
        assert app.link.store is not None and app.link.store.flush(10)
        app.link.request_status(app.screen)
        await messages.wait_for(lambda m: isinstance(m, StatusChanged) and m.status.store_failed == 1)
        await pilot.pause()
        banner = str(app.screen.query_one(StatusBar).query_one("#banner").render())
        assert "NOT STORED" in banner and "disk says no" in banner


@pytest.mark.slow
@needs_sigkill
async def test_a_bench_whose_engine_dies_is_closed_as_failed(sim: Any) -> None:
    from nuanu_tui.ui.messages import BenchRunDone

    app = sim_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        pid = app.link.engine.pid
        await pilot.press("ctrl+n")
        await pilot.pause()
        app.screen.set_config(triggers="seed", llms=["groq/llama-3.1-8b-instant"], runs=20, pause=0)  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        await messages.wait_for(lambda m: isinstance(m, BenchRunDone) and not m.warmup)
        os.kill(pid, signal.SIGKILL)
        await messages.wait_for(lambda m: isinstance(m, EngineFailed))
        await messages.wait_for(lambda m: isinstance(m, EngineReady) and m.restarted)
        await app.workers.wait_for_complete()
        store = app.link.store
        assert store is not None
        (run,) = store.bench_runs()
        assert run["status"] == "failed" and run["finished_at"] is not None
        assert len(store.utterances(run_id=run["id"])) >= 1  # what finished before is kept
        assert app.is_running


# --- a real speaker (private PulseAudio server, tests/conftest.py) ----------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(portaudio_missing() is not None, reason="PortAudio library not installed")
@pytest.mark.parametrize("fault", FAULTS)
async def test_console_survives_a_pulled_speaker(sim: Any, speaker: Any, fault: str) -> None:
    """F1, the speaker fails mid-remark (pulled, suspended, its server killed): that card fails, the status
    bar says AUDIO LOST with the device; it is repaired: the status bar says it is back and F2 plays,
    without a restart. (One run also switches the speaker live in the picker.)"""
    import asyncio

    breaks, repairs, says = FAULTS[fault]
    app = make_app(
        sim_settings(sim, tts_fallback=False),
        llm="groq/llama-3.1-8b-instant",
        tts="elevenlabs",
        audio="device",
        live_status=True,
    )
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        bar = app.screen.query_one(StatusBar)
        assert "sounddevice:" in str(bar.query_one("#status-line").render())  # the device's name
        pid = app.link.engine.pid
        await pilot.press("f1")
        await messages.wait_for(lambda m: isinstance(m, StageArrived) and m.stage == "first_audio")
        await asyncio.to_thread(breaks, speaker)
        failed = (await messages.wait_for(lambda m: isinstance(m, UtteranceDone), timeout=60)).view
        assert failed.error is not None and says in failed.error
        assert failed.stages_ms["first_audio"] is not None  # it was heard until the cable came out
        assert failed.stages_ms["playback_done"] is None
        await messages.wait_for(lambda m: isinstance(m, StatusChanged) and m.status.audio_lost is not None)
        await pilot.pause()
        banner = str(bar.query_one("#banner").render())
        assert "AUDIO LOST" in banner and "sounddevice:" in banner and " since " in banner
        await asyncio.to_thread(repairs, speaker)
        await messages.wait_for(
            lambda m: isinstance(m, StatusChanged) and m.status.audio_back is not None, timeout=60
        )
        await pilot.pause()
        assert "AUDIO LOST" not in str(bar.query_one("#banner").render())
        assert "back since" in str(bar.query_one("#status-line").render())
        await pilot.press("f2")
        done = await messages.wait_for(
            lambda m: isinstance(m, UtteranceDone) and m.view.utterance_id != failed.utterance_id, timeout=60
        )
        assert done.view.error is None, done.view.error
        assert done.view.stages_ms["first_audio"] is not None
        assert done.view.stages_ms["playback_done"] is not None
        assert app.link.engine.pid == pid  # the same engine process: no restart
        if fault != "sink unloaded":
            return

        # the picker lists the outputs and switches live: the next remark plays on the chosen one
        await messages.wait_for(lambda m: isinstance(m, AudioDevicesListed) and "device:pulse" in m.devices)
        app.screen.query_one("#pick-audio", Select).value = "device:pulse"
        switched = await messages.wait_for(lambda m: isinstance(m, ProviderSwitched) and m.kind == "audio")
        assert (switched.spec, switched.error) == ("sounddevice:pulse", None)
        await messages.wait_for(
            lambda m: isinstance(m, StatusChanged) and m.status.audio == "sounddevice:pulse"
        )
        await pilot.pause()
        assert "sounddevice:pulse" in str(bar.query_one("#status-line").render())
        await pilot.press("f3")
        third = await messages.wait_for(
            lambda m: (
                isinstance(m, UtteranceDone)
                and m.view.utterance_id not in (failed.utterance_id, done.view.utterance_id)
            ),
            timeout=60,
        )
        assert third.view.error is None and third.view.stages_ms["first_audio"] is not None


@pytest.mark.slow
async def test_a_compare_round_whose_engine_dies_ends_its_lanes_as_failed(sim: Any) -> None:
    app = sim_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause()
        await pilot.press("f1")
        await messages.wait_for(lambda m: isinstance(m, StageArrived) and m.stage == "first_audio")
        app.link.engine.proc.kill()
        await messages.wait_for(lambda m: isinstance(m, UtteranceDone) and m.view.error_kind == "engine")
        await messages.wait_for(lambda m: isinstance(m, EngineReady) and m.restarted)
        await app.workers.wait_for_complete()
        await pilot.pause()
        from nuanu_tui.ui.widgets.lane import CompareLane

        lanes = list(app.screen.query(CompareLane))
        begun = [lane for lane in lanes if lane.view is not None]
        assert begun and all(lane.view.done and lane.view.error_kind == "engine" for lane in begun)
        assert all(lane.has_class("-error") for lane in begun)
        store = app.link.store
        assert store is not None
        assert {r["error_kind"] for r in store.utterances() if r["source"] == "compare"} == {"engine"}
