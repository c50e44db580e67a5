"""The console picker's instant-reaction switch reaches the engine; a reason to stay off comes back."""

from __future__ import annotations

from textual.widgets import Switch
from ui_fakes import FakeEngine, Messages, fake_app, ready

from nuanu_tui.ui.messages import ProviderSwitched

SIZE = (120, 40)


async def test_picker_switch_turns_instant_reactions_on_and_off() -> None:
    engine = FakeEngine()
    app = fake_app(engine)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        await ready(pilot)
        switch = app.screen.query_one("#pick-instant", Switch)
        assert switch.value is False  # starts where the setting put it (NUANU_INSTANT=0 here)
        switch.value = True
        on = await messages.wait_for(lambda m: isinstance(m, ProviderSwitched) and m.kind == "instant")
        assert (on.spec, on.error) == ("on", None) and engine.instant.enabled is True
        engine.instant.reason = "instant reactions off: cannot write the interjection cache in /x (denied)"
        switch.value = False
        off = await messages.wait_for(lambda m: isinstance(m, ProviderSwitched) and m.spec == "off")
        assert off.error is None and engine.instant.enabled is False
        switch.value = True
        again = await messages.wait_for(
            lambda m: isinstance(m, ProviderSwitched) and m.kind == "instant" and m.error is not None
        )
        assert again.error is not None and "cannot write the interjection cache" in again.error
