"""The ride view with cameras, at 80x24, the engine in its own process: frames over UDP show each camera's
frames per second and confirmed tracks per side, the tracker's events appear with their camera as source,
and while the MQTT broker is away the view says so (and says when it is back)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from ui_fakes import Messages

from nuanu_tui.ui.app import make_app
from nuanu_tui.ui.ride_messages import RideBatch
from nuanu_tui.ui.screens.ride import RideScreen
from nuanu_tui.ui.widgets.ride_feed import RideFeed
from tests.mosquitto import MOSQUITTO, MOSQUITTO_PASSWD, Broker
from tests.ride_helpers import GROQ, sim_settings

SIZE = (80, 24)
T0 = 1.0e10  # far in the future: never stale
USER, PASSWORD = "shuttle", "ui-mqtt-pass-0123"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def frame(i: int, cam: str, *xs: float) -> bytes:
    dets = [
        {"label": "dog", "conf": 0.9, "box": [x - 40, 300, x + 40, 380], "track_id": n}
        for n, x in enumerate(xs)
    ]
    return json.dumps(
        {
            "type": "detections",
            "camera": cam,
            "ts": T0 + i / 30,
            "frame": i,
            "width": 1200,
            "height": 720,
            "detections": dets,
        }
    ).encode()


@pytest.mark.slow
async def test_cameras_and_a_broker_away_in_the_ride_view(sim: Any, tmp_path: Path) -> None:
    if MOSQUITTO is None or MOSQUITTO_PASSWD is None:
        pytest.skip("needs mosquitto and mosquitto_passwd (.ci/run installs them)")
    broker = Broker(tmp_path, {USER: PASSWORD})
    broker.start()
    udp = free_port()
    settings = sim_settings(
        sim, ride_udp_port=udp, ride_ws_port=0, cameras="back=rear",
        mqtt=f"mqtt://{USER}@127.0.0.1:{broker.port}/cams/#", mqtt_password=SecretStr(PASSWORD),
    )  # fmt: skip
    app = make_app(settings, llm=GROQ, tts="elevenlabs", audio="null", live_status=False)
    messages = Messages()
    try:
        async with app.run_test(size=SIZE, message_hook=messages) as pilot:
            await pilot.press("ctrl+y")
            screen = app.screen
            assert isinstance(screen, RideScreen)
            await messages.wait_for(
                lambda m: isinstance(m, RideBatch) and any("connected" in f for f in m.counters.feeds)
            )
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for i in range(10):  # front: two dogs on the left; back (mounted rear): one in the middle
                    s.sendto(frame(i, "front", 100, 250), ("127.0.0.1", udp))
                    s.sendto(frame(i, "back", 600), ("127.0.0.1", udp))
            await messages.wait_for(lambda m: isinstance(m, RideBatch) and m.counters.frames == 20)
            # the second camera's event waits for the first one's remark (busy), then gets its decision
            await messages.wait_for(lambda m: isinstance(m, RideBatch) and m.counters.received == 2)
            await pilot.pause()
            line = str(screen.query_one("#ride-cameras").render())
            assert "back 10 fps A0 L0 R0 B1" in line and "front 10 fps A0 L2 R0 B0" in line
            feed = screen.query_one(RideFeed)
            made = {(x.what, x.source) for x in feed.lines}
            assert ("dog ×2 left", "camera:front") in made and ("dog behind", "camera:back") in made

            # batches from before the broker was up (connecting) are not ok either: only a new one counts
            before = {id(m) for m in messages.of(RideBatch)}
            broker.stop()
            await messages.wait_for(
                lambda m: isinstance(m, RideBatch) and not m.counters.feeds_ok and id(m) not in before,
                timeout=20,
            )
            await pilot.pause()
            assert "MQTT AWAY" in str(screen.query_one("#ride-title").render())
            assert "broker away" in str(screen.query_one("#ride-cameras").render())
            seen = {id(m) for m in messages.of(RideBatch)}  # wait_for also looks at the batches already here
            broker.start()
            await messages.wait_for(
                lambda m: isinstance(m, RideBatch) and m.counters.feeds_ok and id(m) not in seen, timeout=30
            )
            await pilot.pause()
            assert "MQTT AWAY" not in str(screen.query_one("#ride-title").render())
            assert PASSWORD not in str(screen.query_one("#ride-cameras").render())
    finally:
        broker.stop()
