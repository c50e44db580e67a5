"""Pilot tests for compare's arena mode: lanes in random order as A and B, identities hidden until the
operator votes, the vote stored with both configurations, the operator and both utterances."""

from __future__ import annotations

import random

import pytest
from mode_fakes import FAST, SLOW, SLOW_TEXT, LaneEngine, lane_app
from test_compare_screen import SIZE, open_compare, settle
from ui_fakes import FIXED_TEXT

from nuanu_tui.core.votes import config_name
from nuanu_tui.ui.screens.compare import CompareScreen
from nuanu_tui.ui.widgets.lane import CompareLane
from nuanu_tui.ui.widgets.tally import TallyPanel


def position(screen: CompareScreen, p: int) -> CompareLane:
    return screen.query_one(f"#lane-{p}", CompareLane)


def shown_text(screen: CompareScreen) -> str:
    """Everything the lanes and the round line show, as plain text."""
    parts = []
    for p in (0, 1):
        widget = position(screen, p)
        for static in widget.query("Static"):
            parts.append(str(static.render()))
        parts.append(str(widget.query_one("Waterfall").render()))
    parts.append(str(screen.query_one("#round-line").render()))
    return "\n".join(parts)


def spoken(screen: CompareScreen, p: int) -> str:
    """Which lane's words are shown at position p (FAST's or SLOW's)."""
    text = position(screen, p).text.strip()
    return (
        FAST if text == "".join(FIXED_TEXT).strip() else SLOW if text == "".join(SLOW_TEXT).strip() else "?"
    )


@pytest.mark.parametrize(("key", "winner"), [("left", "a"), ("right", "b"), ("down", "tie")])
@pytest.mark.slow
async def test_arena_hides_identities_until_the_vote(
    key: str, winner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUANU_OPERATOR", "Ketut")
    engine = LaneEngine()
    app = lane_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        screen.arena_rng = random.Random(3)
        await pilot.press("f10")
        assert screen.arena and not screen.query_one(TallyPanel).display
        await pilot.press("f1")
        await settle(pilot)
        assert screen.pending is not None
        seen = shown_text(screen)
        for secret in ("groq", "openai", "llama", "gpt", "elevenlabs"):
            assert secret not in seen.lower(), secret
        assert seen.count("hidden until you vote") == 2
        order = (spoken(screen, 0), spoken(screen, 1))
        assert sorted(order) == sorted((FAST, SLOW))  # both remarks are there, in some order
        assert app.link.store is not None and app.link.store.votes() == []

        await pilot.press(key)
        await pilot.pause()
        assert screen.pending is None
        votes = app.link.store.votes()
        assert len(votes) == 1
        vote = votes[0]
        a_llm, b_llm = order
        tts = engine.tts.spec
        # The fakes record no prompt file: the phrasebook's "-" stands in its place.
        assert (vote.a, vote.b) == (config_name(a_llm, None, tts), config_name(b_llm, None, tts))
        assert vote.winner == winner and vote.operator == "Ketut"
        assert vote.trigger == app.link.catalog.seeds[0]
        rows = {r["id"]: r["llm"] for r in app.link.store.utterances()}
        assert (rows[vote.a_utterance], rows[vote.b_utterance]) == order
        assert vote.session_id is not None
        revealed = shown_text(screen)
        assert "hidden until you vote" not in revealed
        assert a_llm in str(position(screen, 0).query_one(".lane--head").render())
        assert b_llm in str(position(screen, 1).query_one(".lane--head").render())


@pytest.mark.slow
async def test_arena_order_is_random_and_skip_stores_nothing() -> None:
    engine = LaneEngine()
    app = lane_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot)
        screen.arena_rng = random.Random(11)
        await pilot.press("f10")
        orders = set()
        for _ in range(6):
            await pilot.press("f1")
            await settle(pilot)
            orders.add((spoken(screen, 0), spoken(screen, 1)))
            await pilot.press("s")
            await pilot.pause()
            assert screen.pending is None
        assert orders == {(FAST, SLOW), (SLOW, FAST)}
        assert app.link.store is not None and app.link.store.votes() == []
        await pilot.press("f10")  # arena off: plain compare again, lane 0 on the left, tally back
        await pilot.press("f1")
        await settle(pilot)
        assert (spoken(screen, 0), spoken(screen, 1)) == (FAST, SLOW)
        assert screen.pending is None and screen.query_one(TallyPanel).display


@pytest.mark.slow
async def test_bench_ratings_panel_shows_scores_and_like_rate() -> None:
    from test_bench_screen import open_bench
    from textual.widgets import DataTable, TabbedContent

    from nuanu_tui.core.votes import make_vote

    engine = LaneEngine()
    app = lane_app(engine)
    tts = engine.tts.spec
    fast, slow, third = (config_name(s, None, tts) for s in (FAST, SLOW, "offline/phrasebook"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_bench(pilot)
        store = app.link.store
        assert store is not None
        for i, winner in enumerate(("a", "a", "a", "b")):
            store.record_vote(make_vote(fast, slow, winner, ts=1_800_000_000.0 + i))  # type: ignore[arg-type]
        store.rate("u1", 1, fast)
        store.rate("u2", -1, fast)
        store.rate("u3", 1, third)
        screen.query_one(TabbedContent).active = "tab-ratings"
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = screen.query_one("#bench-ratings", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert [row[5] for row in rows] == [fast, slow, third]
        assert rows[0][:2] == ["1", "1085"] and rows[1][:2] == ["2", "915"]  # 3:1 with the prior: 2.67
        assert rows[0][3] == "3-1-0" and rows[0][4] == "50% of 2" and rows[1][4] == "-"
        assert rows[2] == ["", "", "", "", "100% of 1", third]
        assert "4 arena vote(s) · 3 quick rating(s)" in str(screen.query_one("#ratings-note").render())


def test_a_hidden_lane_keeps_its_prompt_to_itself_until_the_vote() -> None:
    """Racing two prompts blind: the lane's footer must not name the prompt («minimal@1») before the vote."""
    from nuanu_tui.core.timeline import STAGES
    from nuanu_tui.ui.messages import UtteranceView
    from nuanu_tui.ui.widgets.lane import CompareLane

    lane = CompareLane("A", "groq/llama-3.1-8b-instant", STAGES, {})
    lane.view = UtteranceView(
        "u1",
        "собака",
        "groq/llama-3.1-8b-instant",
        "elevenlabs",
        0.0,
        text="Гав.",
        done=True,
        prompt="minimal@1",
    )
    lane.hidden = True
    assert "minimal@1" not in lane._foot()
    lane.hidden = False
    assert "minimal@1" in lane._foot()
