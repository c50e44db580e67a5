"""The console's demo mode switched to an emulated link: the status bar shows the RTT to each provider and the
waterfall splits TTFA into network / provider / ours (the issue's "done when", on the real engine process)."""

from __future__ import annotations

from typing import Any

import pytest
from ui_fakes import Messages, ready

from nuanu_tui.core.config import Settings
from nuanu_tui.ui.app import make_app
from nuanu_tui.ui.messages import ProviderSwitched, StatusChanged, UtteranceDone
from nuanu_tui.ui.widgets.status_bar import StatusBar, net_line

RTT = 80.0
SLACK_MS = 40.0  # a loaded machine only ever adds time


def _near_rtt(ms: float | None) -> bool:
    return ms is not None and RTT <= ms <= RTT + SLACK_MS


@pytest.mark.slow
async def test_demo_console_switched_to_a_slow_link_shows_its_round_trips() -> None:
    settings = Settings().model_copy(update={"net_probe_s": 0.5})
    app = make_app(settings, demo=True, audio="null")
    messages = Messages()
    async with app.run_test(size=(160, 40), message_hook=messages) as pilot:
        await ready(pilot)
        screen: Any = app.screen
        screen.switch_net("rtt=80,jitter=0,loss=0")
        switched = await messages.wait_for(lambda m: isinstance(m, ProviderSwitched) and m.kind == "net")
        assert switched.error is None and switched.spec.startswith("rtt 80")

        def measured(m: Any) -> bool:
            if not isinstance(m, StatusChanged):
                return False
            rtts = dict(m.status.net_rtt)
            return _near_rtt(rtts.get("groq")) and _near_rtt(rtts.get("elevenlabs"))

        status = (await messages.wait_for(measured, timeout=60.0)).status
        await pilot.pause()
        assert [name for name, _ms in status.net_rtt] == ["groq", "elevenlabs"]
        line = net_line(status)
        assert line.startswith("[b]net[/] [dim](rtt 80 ms") and "groq [$success]" in line
        assert not status.net_degraded  # 80 ms is below the 200 ms warning
        bar = app.screen.query_one(StatusBar)
        assert "net" in str(bar._line.render())  # the line on screen carries it

        await pilot.press(*"две собаки слева", "enter")
        done = await messages.wait_for(lambda m: isinstance(m, UtteranceDone), timeout=60.0)
        view = done.view
        assert view.error is None, view.error
        assert _near_rtt(view.net_rtt_ms["llm"]) and _near_rtt(view.net_rtt_ms["tts"])
        assert view.net_split is not None and 2 * RTT <= view.net_split["network"] <= 2 * (RTT + SLACK_MS)
        # History keeps the series the status bar showed.
        store = app.link.store
        assert store is not None
        series = [p for p in store.rtt_series() if p["provider"] == "groq" and _near_rtt(p["rtt_ms"])]
        assert series, store.rtt_series()
