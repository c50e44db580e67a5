"""The ride view at 80×24 and 120×40: the director's rules are readable and F3 needs no pick."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input
from ui_fakes import FakeEngine, ready

from nuanu_tui.core.config import Settings
from nuanu_tui.ui.app import make_app
from nuanu_tui.ui.screens.ride import KNOBS


def ride_fake_app(engine: FakeEngine) -> Any:
    async def factory() -> FakeEngine:
        return engine

    settings = Settings().model_copy(update={"ride_udp_port": 0, "ride_ws_port": 0})
    return make_app(settings, factory=factory, live_status=False, output_format="pcm_24000")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.slow
async def test_the_directors_rules_show_their_whole_values(size: tuple[int, int]) -> None:
    app = ride_fake_app(FakeEngine())
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+y")
        await ready(pilot)
        screen: Any = app.screen
        values = {"stale_ms": "15000", "min_confidence": "0.5", "dedup_s": "120", "cooldown_s": "12.5",
                  "max_per_min": "6"}  # fmt: skip
        for name, value in values.items():
            screen.query_one(f"#knob-{name}", Input).value = value
        await pilot.pause()
        apply = screen.query_one("#ride-apply")
        assert apply.region.right <= size[0] and apply.region.width > 0  # the whole row fits
        for name, _, _ in KNOBS:
            field = screen.query_one(f"#knob-{name}", Input)
            shown = "".join(s.text for s in field.render_lines(field.content_region.reset_offset))
            assert values[name] in shown, (name, shown)  # not `0.` for 0.5
            assert field.region.right <= size[0]


async def test_f3_with_no_rides_listed_says_to_pick_one() -> None:
    app = ride_fake_app(FakeEngine())
    notes: list[str] = []
    async with app.run_test(
        size=(80, 24), message_hook=lambda m: notes.append(str(getattr(m, "notification", "")))
    ) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+y")
        await ready(pilot)
        screen: Any = app.screen
        screen._show_rides([])
        await pilot.press("f3")
        await pilot.pause()
        assert screen.query_one("#ride-pick").is_blank()
        assert any("Pick a ride to replay" in n for n in notes), notes
        assert "Select.NULL" not in str(screen.query_one("#ride-title").render())
