"""Quick ratings while riding: `+` and `-` rate the selected card (the newest by default) in the console
and the ride view; the rating is shown on the card, stored with the utterance and its configuration, and
counted per configuration. A hyphen typed into a trigger stays text."""

from __future__ import annotations

from typing import Any

import pytest
from mode_fakes import FAST, LaneEngine, lane_app
from test_ride_screen import SIZE, ride_app, send
from textual.widgets import Input
from ui_fakes import Messages, ready

from nuanu_tui.core.ratings import Likes
from nuanu_tui.core.votes import config_name
from nuanu_tui.ui.ride_messages import RideBatch
from nuanu_tui.ui.screens.ride import RideScreen
from nuanu_tui.ui.widgets.transcript import Transcript


def head(card: Any) -> str:
    return str(card.query_one(".card--head").render())


@pytest.mark.slow
async def test_console_plus_and_minus_rate_the_newest_then_the_selected_card(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NUANU_OPERATOR", "Wayan")
    engine = LaneEngine()
    app = lane_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for key in ("f1", "f2"):
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause()
        transcript = app.screen.query_one(Transcript)
        first, newest = list(transcript.cards.values())
        store = app.link.store
        assert store is not None
        config = config_name(FAST, None, engine.tts.spec)

        await pilot.press("plus")  # nothing selected: the newest card
        assert newest.rating == 1 and first.rating is None
        assert "liked" in head(newest) and "liked" not in head(first)
        assert store.quick_ratings() == {newest.view.utterance_id: 1}
        assert store.likes() == {config: Likes(config, 1, 0)}

        await pilot.press("plus")  # again: taken back
        assert newest.rating is None and "liked" not in head(newest)
        assert store.quick_ratings() == {}

        transcript.select(first.view.utterance_id)
        await pilot.press("minus")
        assert first.rating == -1 and "disliked" in head(first)
        await pilot.press("plus")
        await pilot.press("minus")  # changed its mind twice: the last key counts
        assert store.quick_ratings() == {first.view.utterance_id: -1}
        assert store.likes() == {config: Likes(config, 0, 1)}
        row = store._query("SELECT operator, config FROM utterance_ratings")[0]
        assert (row["operator"], row["config"]) == ("Wayan", config)

        trigger = app.screen.query_one(Input)
        trigger.focus()
        await pilot.press(*"кто-то", "minus")
        assert trigger.value == "кто-то-"  # typed text, not a rating
        assert store.quick_ratings() == {first.view.utterance_id: -1}


@pytest.mark.slow
async def test_ride_view_rates_the_newest_remark(sim: Any) -> None:
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
        transcript = screen.query_one(Transcript)
        await messages.wait_for(lambda m: bool(transcript.cards))
        card = list(transcript.cards.values())[-1]
        await pilot.press("minus")
        assert card.rating == -1 and "disliked" in head(card)
        store = app.link.store
        assert store is not None
        assert store.quick_ratings() == {card.view.utterance_id: -1}
        ((config, likes),) = store.likes().items()
        assert config.startswith(card.view.llm + " · ") and (likes.likes, likes.dislikes) == (0, 1)
