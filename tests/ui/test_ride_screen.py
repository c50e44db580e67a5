"""The ride view on the emulator, with the engine in its own process (as the console runs it): UDP events
show up with their decisions, pause works on one key, and a sample ride replays to its counts."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import pytest
from textual.widgets import Select
from ui_fakes import Messages

from nuanu_tui.ui.app import make_app
from nuanu_tui.ui.ride_messages import DirectorChanged, RideBatch, RideStarted, RideStopped
from nuanu_tui.ui.screens.ride import RideScreen
from nuanu_tui.ui.widgets.ride_feed import RideFeed
from tests.ride_helpers import GROQ, SAMPLE_COUNTS, sim_settings

SIZE = (120, 40)


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ride_app(sim: Any) -> tuple[Any, int]:
    udp = free_port(socket.SOCK_DGRAM)
    settings = sim_settings(sim, ride_udp_port=udp, ride_ws_port=0)
    return make_app(settings, llm=GROQ, tts="elevenlabs", audio="null", live_status=False), udp


def send(port: int, event: dict[str, Any]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(json.dumps(event).encode(), ("127.0.0.1", port))


def seen(messages: Messages, badge: str) -> bool:
    return any(line.badge == badge for m in messages.of(RideBatch) for line in m.lines)


@pytest.mark.slow
async def test_udp_events_show_up_with_decisions_and_pause_is_one_key(sim: Any) -> None:
    app, udp = ride_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await pilot.press("ctrl+y")
        screen = app.screen
        assert isinstance(screen, RideScreen)
        await messages.wait_for(
            lambda m: isinstance(m, RideBatch) and "udp" in " ".join(m.counters.listening)
        )
        send(udp, {"label": "dog", "count": 2, "side": "left", "confidence": 0.9})
        await messages.wait_for(lambda m: isinstance(m, RideBatch) and m.counters.spoken == 1)
        send(udp, {"label": "cow", "confidence": 0.2})
        send(udp, {"label": "cow", "count": "lots"})
        await messages.wait_for(lambda m: isinstance(m, RideBatch) and m.counters.received == 3)
        await pilot.press("f2")  # pause
        await messages.wait_for(lambda m: isinstance(m, DirectorChanged) and m.settings.get("paused") is True)
        send(udp, {"label": "temple", "side": "right", "ts": 1.0e10})  # fresh (far-future ts is never stale)
        await messages.wait_for(lambda m: isinstance(m, RideBatch) and m.counters.received == 4)
        await pilot.pause()
        feed = screen.query_one(RideFeed)
        badges = [line.badge for line in feed.lines]
        assert badges == ["SPOKEN", "LOW CONF", "REJECTED malformed", "PAUSED"]
        assert feed.lines[0].what == "dog ×2 left"
        assert "PAUSED" in str(screen.query_one("#ride-title").render())
        await pilot.press("f2")  # resume
        await messages.wait_for(
            lambda m: isinstance(m, DirectorChanged) and m.settings.get("paused") is False
        )


@pytest.mark.slow
async def test_a_sample_ride_replays_in_the_view(sim: Any) -> None:
    app, _ = ride_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await pilot.press("ctrl+y")
        screen = app.screen
        await messages.wait_for(lambda m: isinstance(m, RideStarted) and m.what == "live")
        await pilot.pause()
        screen.query_one("#ride-pick", Select).value = "market_in_rain"
        screen.query_one("#ride-speed", Select).value = "max"
        await pilot.press("f3")
        await messages.wait_for(lambda m: isinstance(m, RideStarted) and m.what.startswith("replay"))
        stopped = await messages.wait_for(
            lambda m: isinstance(m, RideStopped) and m.what.startswith("replay"), timeout=90
        )
        assert stopped.error is None and stopped.recording
        last = [m for m in messages.of(RideBatch)][-1].counters
        want = SAMPLE_COUNTS["market_in_rain"]
        assert (last.received, last.spoken, last.skipped, last.rejected) == (
            want["received"], want["spoken"], want["skipped"], want["rejected"],
        )  # fmt: skip
        assert seen(messages, "BARGE-IN") and seen(messages, "REJECTED malformed")
        assert len(screen.query_one(RideFeed).lines) == want["received"]


@pytest.mark.slow
async def test_a_ride_comes_back_live_after_its_engine_process_is_killed(sim: Any) -> None:
    """The ride view hears the engine go down and come back (restarted by the bridge), and goes live again:
    an event sent afterwards is spoken."""
    from nuanu_tui.ui.messages import EngineFailed, EngineReady

    app, udp = ride_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await pilot.press("ctrl+y")
        await messages.wait_for(
            lambda m: isinstance(m, RideBatch) and "udp" in " ".join(m.counters.listening)
        )
        app.link.engine.proc.kill()
        await messages.wait_for(lambda m: isinstance(m, EngineFailed) and m.restart_in is not None)
        await pilot.pause()
        how = "SIGKILL" if os.name == "posix" else "exit code"  # TerminateProcess on Windows
        assert how in str(app.screen.query_one("#ride-title").render())  # down, and why
        await messages.wait_for(lambda m: isinstance(m, EngineReady) and m.restarted)
        await messages.wait_for(lambda m: len(messages.of(RideStarted)) >= 2)  # live again
        again = messages.of(RideStarted)[1]
        await messages.wait_for(
            lambda m: (
                isinstance(m, RideBatch)
                and "udp" in " ".join(m.counters.listening)
                and messages.index(m) > messages.index(again)
            )
        )
        send(udp, {"label": "dog", "count": 2, "side": "left", "confidence": 0.9})
        await messages.wait_for(lambda m: isinstance(m, RideBatch) and m.counters.spoken == 1)


@pytest.mark.slow
async def test_f3_with_no_ride_picked_replays_the_first_sample(sim: Any) -> None:
    """The picker's no-selection sentinel once reached the bridge ("ride file 'Select.NULL' not found")."""
    app, _ = ride_app(sim)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await pilot.press("ctrl+y")
        screen: Any = app.screen
        await messages.wait_for(lambda m: isinstance(m, RideStarted) and m.what == "live")
        await pilot.pause()
        pick = screen.query_one("#ride-pick", Select)
        assert pick.is_blank() and screen.ride_options
        first_label, first = screen.ride_options[0]
        assert first_label.startswith("sample: ")
        screen.query_one("#ride-speed", Select).value = "max"
        await pilot.press("f3")
        started = await messages.wait_for(
            lambda m: isinstance(m, RideStarted) and m.what.startswith("replay")
        )
        assert first in started.what and pick.value == first
        stopped = await messages.wait_for(
            lambda m: isinstance(m, RideStopped) and m.what.startswith("replay"), timeout=90
        )
        assert stopped.error is None and "Select.NULL" not in str(stopped.what)


@pytest.mark.slow
async def test_the_ride_views_decisions_are_exported_to_opentelemetry(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the headless `ride` does: the engine (in its own process) counts each director decision by
    outcome and reason, and a local OTLP/HTTP receiver gets them when the view closes."""
    from tests.test_telemetry import Receiver, _attrs

    receiver = Receiver()
    try:
        endpoint = f"http://127.0.0.1:{receiver.port}/v1/metrics"
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint)
        app, udp = ride_app(sim)
        messages = Messages()
        async with app.run_test(size=SIZE, message_hook=messages) as pilot:
            await pilot.press("ctrl+y")
            await messages.wait_for(
                lambda m: isinstance(m, RideBatch) and "udp" in " ".join(m.counters.listening)
            )
            send(udp, {"label": "dog", "count": 2, "side": "left", "confidence": 0.9})
            send(udp, {"label": "cow", "confidence": 0.2})
            await messages.wait_for(lambda m: isinstance(m, RideBatch) and m.counters.received == 2)
            await messages.wait_for(lambda m: isinstance(m, RideBatch) and m.counters.spoken == 1)
            await pilot.press("ctrl+q")  # closing the engine flushes its export
        points: dict[tuple[str, str], int] = {}
        for p in receiver.metric("nuanu.director.decisions"):  # cumulative: the last point per series
            points[(_attrs(p)["nuanu.decision"], _attrs(p)["nuanu.reason"])] = p.as_int
        assert points == {("spoken", "ok"): 1, ("skipped", "low_confidence"): 1}
    finally:
        receiver.close()
