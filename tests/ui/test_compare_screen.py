"""Pilot tests for the compare view: scripted lanes (fake engine) and one round on the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from mode_fakes import FAST, MAIN, SILENT, SLOW, SLOW_TEXT, LaneEngine, lane_app
from textual.widgets import Select
from ui_fakes import FIXED_TEXT, Messages, ready

from nuanu_tui.ui.app import make_app
from nuanu_tui.ui.messages import LaneHeard, RoundBegan, RoundDone
from nuanu_tui.ui.screens.compare import CompareScreen
from nuanu_tui.ui.widgets.lane import CompareLane
from nuanu_tui.ui.widgets.tally import TallyPanel

SIZE = (120, 40)


async def open_compare(pilot: Any) -> CompareScreen:
    await ready(pilot)
    await pilot.press("ctrl+t")  # a key, not app.switch_mode(): the screen must start in the app's context
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, CompareScreen)
    return screen


async def settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def lane(screen: CompareScreen, i: int) -> CompareLane:
    return screen.query_one(f"#lane-{i}", CompareLane)


@pytest.mark.slow
async def test_round_shows_both_lanes_and_the_tally() -> None:
    engine = LaneEngine()
    app = lane_app(engine)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_compare(pilot)
        assert screen.lanes == (FAST, SLOW)
        await pilot.press("f1")
        await settle(pilot)
        assert lane(screen, 0).text.strip() == "".join(FIXED_TEXT).strip()
        assert lane(screen, 1).text.strip() == "".join(SLOW_TEXT).strip()
        assert lane(screen, 0).query_one("Waterfall").view.ttfa == 384.0  # type: ignore[attr-defined]
        assert lane(screen, 1).query_one("Waterfall").view.ttfa == 700.0  # type: ignore[attr-defined]
        done = messages.of(RoundDone)[-1]
        assert (done.outcome, done.winner) == ("win", 0)
        # Both lanes got the same trigger, unqueued, as compare utterances of one round.
        assert engine.calls == [app.link.catalog.seeds[0]] * 2
        assert {k["source"] for k in engine.kwargs} == {"compare"}
        assert {k["queue"] for k in engine.kwargs} == {False}
        assert len({k["run_id"] for k in engine.kwargs}) == 1

        await pilot.press("f2")
        await settle(pilot)
        tally = screen.query_one(TallyPanel).tally
        assert tally is not None
        assert tally.rounds == 2 and tally.wins == (2, 0)
        assert tally.ttfa_p50 == (384.0, 700.0) and tally.ttft_p50 == (212.0, 528.0)
        assert tally.ttfa_diff[0] == pytest.approx(316.0)
        assert tally.ttfa_diff[1] == pytest.approx(700.0 / 384.0)
        rendered = str(screen.query_one(TallyPanel).render_lines(screen.query_one(TallyPanel).region)[0])
        assert rendered  # the panel renders without error


@pytest.mark.slow
async def test_auto_audible_gives_the_speaker_to_the_first_lane_to_audio() -> None:
    engine = LaneEngine()
    app = lane_app(engine)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_compare(pilot)
        assert screen.audible is None
        await pilot.press("f1")
        await settle(pilot)
        assert engine.claims == {FAST: MAIN, SLOW: SILENT}
        assert [m.lane for m in messages.of(LaneHeard)] == [0]
        assert lane(screen, 0).has_class("-heard") and not lane(screen, 1).has_class("-heard")


@pytest.mark.slow
async def test_chosen_audible_lane_is_passed_through() -> None:
    engine = LaneEngine()
    app = lane_app(engine)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_compare(pilot)
        await pilot.press("f6", "f6")  # auto -> A -> B
        assert screen.audible == 1
        await pilot.press("f1")
        await settle(pilot)
        assert engine.claims == {FAST: SILENT, SLOW: MAIN}  # B is heard although A is first to audio
        assert messages.of(RoundDone)[-1].audible == 1
        assert lane(screen, 1).has_class("-heard") and not lane(screen, 0).has_class("-heard")
        assert messages.of(RoundDone)[-1].winner == 0  # the win is still on TTFA


@pytest.mark.slow
async def test_sequential_runs_lanes_one_after_the_other_both_heard() -> None:
    engine = LaneEngine()
    app = lane_app(engine)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_compare(pilot)
        await pilot.press("f7")
        assert screen.sequential is True
        await pilot.press("f1", "f1")
        await settle(pilot)
        began = messages.of(RoundBegan)
        assert [m.sequential for m in began] == [True, True]
        assert [m.order for m in began] == [(0, 1), (1, 0)]  # alternating who goes first
        assert all(k["player"] is None for k in engine.kwargs)  # the engine's own (heard) player
        assert not messages.of(LaneHeard)
        assert lane(screen, 0).has_class("-heard") and lane(screen, 1).has_class("-heard")


@pytest.mark.slow
async def test_lane_choice_and_a_failing_lane() -> None:
    other = "groq/llama-3.1-8b-instant"
    engine = LaneEngine(
        stages={FAST: {}, SLOW: {}, other: {"ttft": 100.0, "first_audio_byte": 150.0, "first_audio": 151.0}},
        texts={other: ("Быстро!",)},
        errors={SLOW: ("network", "openai/gpt-4o-mini: connection refused (127.0.0.1:9)")},
    )
    app = lane_app(engine)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_compare(pilot)
        screen.query_one("#lane-a", Select).value = other
        await pilot.pause()
        assert screen.lanes == (other, SLOW)
        await pilot.press("f3")
        await settle(pilot)
        done = messages.of(RoundDone)[-1]
        assert done.views[0].llm == other and done.views[0].error is None
        assert done.views[1].error_kind == "network"
        assert (done.outcome, done.winner) == ("win", 0)
        assert done.tally.errors == (0, 1) and done.tally.ttfa_p50 == (151.0, None)
        assert lane(screen, 1).has_class("-error")
        assert "connection refused" in str(lane(screen, 1).query_one(".lane--foot").render())
        assert app.is_running


@pytest.mark.slow
async def test_compare_and_console_utterances_are_stored_in_their_sessions() -> None:
    engine = LaneEngine()
    app = lane_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")  # console
        await settle(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause()
        await pilot.press("f2")  # compare round: two utterances
        await settle(pilot)
        store = app.link.store
        assert store is not None
        kinds = {s["id"]: s["kind"] for s in store.sessions()}
        rows = store.utterances()
        assert sorted((kinds[r["session_id"]], r["source"], r["llm"]) for r in rows) == [
            ("compare", "compare", FAST),
            ("compare", "compare", SLOW),
            ("console", "console", FAST),
        ]
        compare_rows = [r for r in rows if r["source"] == "compare"]
        assert len({r["run_id"] for r in compare_rows}) == 1 and compare_rows[0]["run_id"]
        assert {r["first_audio_ms"] for r in compare_rows} == {384.0, 700.0}
    assert not store.is_open  # closed on quit


@pytest.mark.slow
async def test_round_on_the_emulator(sim: Any) -> None:
    from test_console import sim_settings

    app = make_app(sim_settings(sim), llm=FAST, tts="elevenlabs", audio="null", live_status=False)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await open_compare(pilot)
        await pilot.press("f1")
        await settle(pilot)
        done = messages.of(RoundDone)[-1]
        assert all(v.error is None for v in done.views), [v.error for v in done.views]
        assert [v.llm for v in done.views] == list(screen.lanes)
        for i in (0, 1):
            assert lane(screen, i).text.strip() == done.views[i].text
            assert done.views[i].ttfa is not None
        assert done.tally.rounds == 1 and sum(done.tally.wins) + done.tally.ties == 1
        assert len(messages.of(LaneHeard)) == 1


async def test_palette_offers_compare_actions() -> None:
    from nuanu_tui.ui.commands import _mode_commands

    app = lane_app(LaneEngine())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        commands = {title: callback for title, _, callback in _mode_commands(screen)}
        commands["Compare: heard = lane B"]()
        commands["Compare: toggle sequential"]()
        commands[f"Compare: lane A → {SLOW}"]()
        await pilot.pause()
        assert (screen.audible, screen.sequential, screen.lanes[0]) == (1, True, SLOW)
