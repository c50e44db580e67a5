"""The MQTT feed against a real mosquitto the test starts (password file, no anonymous clients): frames and
events published to a topic reach the ride; a wrong password is one line naming the broker and never the
password; a broker restart mid-ride is survived (the ride says the broker is away, the UDP feed keeps working,
the feed comes back with backoff and resubscribes)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.ride.decisions import RideDecision
from nuanu_tui.core.ride.director import Director, DirectorConfig
from nuanu_tui.core.ride.feeds import UdpFeed
from nuanu_tui.core.ride.mqtt import MqttFeed, MqttStatus, MqttTarget, parse_mqtt_url, target_from
from nuanu_tui.core.ride.session import RideSession
from tests.mosquitto import MOSQUITTO, MOSQUITTO_PASSWD, Broker, needs_mosquitto
from tests.ride_helpers import sim_engine

USER, PASSWORD = "shuttle", "mqtt-pass-0123456789"
T0 = 1_796_160_000.0


# --- the URL ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "env", "expected"),
    [
        ("mqtt://broker.local:1883/cameras/#", None, MqttTarget("broker.local", 1883, "cameras/#")),
        ("mqtt://10.0.0.5/shuttle/+/detections", None, MqttTarget("10.0.0.5", 1883, "shuttle/+/detections")),
        ("mqtts://cam@broker:8884/a", "envpw", MqttTarget("broker", 8884, "a", True, "cam", "envpw")),
        ("mqtts://cam:urlpw@broker/a", None, MqttTarget("broker", 8883, "a", True, "cam", "urlpw")),
        ("mqtt://cam:urlpw@broker/a", "envpw", MqttTarget("broker", 1883, "a", False, "cam", "envpw")),
        ("mqtt://[::1]:1884/#", None, MqttTarget("::1", 1884, "#")),
    ],
)
def test_mqtt_urls(url: str, env: str | None, expected: MqttTarget) -> None:
    target = parse_mqtt_url(url, env)
    assert target == expected and target.password == expected.password
    assert "pw" not in str(target) and "pw" not in repr(target)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://broker/a", "--mqtt needs mqtt://[USER@]HOST:PORT/TOPIC"),
        ("mqtt://broker:1883", "names no topic"),
        ("mqtt://broker:1883/", "names no topic"),
        ("mqtt://:1883/a", "names no broker host"),
        ("mqtt://broker:port/a", "the port must be a number"),
        ("mqtt://broker:70000/a", "the port must be 1 to 65535"),
        ("mqtt://broker/a/#/b", "'#' must be a whole level and the last one"),
        ("mqtt://broker/a/b+", "'+' must be a whole level"),
        ("mqtt://cam:hunter2@broker:x/a", "the port must be a number"),
    ],
)
def test_bad_mqtt_urls_are_one_line_without_the_password(url: str, says: str) -> None:
    with pytest.raises(NuanuError) as err:
        parse_mqtt_url(url)
    assert says in err.value.message and "hunter2" not in err.value.message and "\n" not in err.value.message


def test_the_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUANU_MQTT_PASSWORD", "from-env")
    assert target_from("mqtt://u:from-url@h/t").password == "from-env"
    monkeypatch.delenv("NUANU_MQTT_PASSWORD")
    assert target_from("mqtt://u:from-url@h/t").password == "from-url"


# --- against mosquitto ----------------------------------------------------------------------------------
@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if MOSQUITTO is None or MOSQUITTO_PASSWD is None:
        pytest.skip("needs mosquitto and mosquitto_passwd (.ci/run installs them)")
    b = Broker(tmp_path, {USER: PASSWORD})
    b.start()
    yield b
    b.stop()


def publish(port: int, topic: str, payloads: list[bytes], password: str = PASSWORD) -> None:
    """A real publisher (paho, QoS 1, each message acknowledged by the broker)."""
    import paho.mqtt.client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    c.username_pw_set(USER, password)
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        for info in [c.publish(topic, p, qos=1) for p in payloads]:
            info.wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()


def frames(start: int, n: int, cam: str = "front", label: str = "dog", x: float = 200) -> list[bytes]:
    return [
        json.dumps(
            {"type": "detections", "camera": cam, "ts": T0 + i / 30, "frame": i, "width": 1200, "height": 720,
             "detections": [{"label": label, "conf": 0.9, "box": [x - 50, 300, x + 50, 400], "track_id": 1}]}
        ).encode()
        for i in range(start, start + n)
    ]  # fmt: skip


class Watch:
    """Decisions and the feed's states as the ride reports them, with waits that poll nothing."""

    def __init__(self) -> None:
        self.decisions: list[RideDecision] = []
        self.states: list[MqttStatus] = []
        self.changed = asyncio.Event()

    def decision(self, d: RideDecision) -> None:
        self.decisions.append(d)
        self.changed.set()

    def status(self, s: MqttStatus) -> None:
        self.states.append(s)
        self.changed.set()

    async def until(self, pred: Any, timeout: float = 20.0) -> None:
        async def wait() -> None:
            while not pred():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def engine(sim: Any) -> AsyncIterator[Any]:
    e = await sim_engine(sim)
    yield e
    await e.aclose()


def target(broker: Broker, topic: str = "shuttle/+/detections", password: str = PASSWORD) -> MqttTarget:
    return MqttTarget("127.0.0.1", broker.port, topic, user=USER, password=password)


@needs_mosquitto
async def test_a_wrong_password_is_one_line_naming_the_broker(broker: Broker) -> None:
    feed = MqttFeed(target(broker, password="not-the-password"))
    with pytest.raises(NuanuError) as err:
        await feed.start(object())
    line = err.value.message
    assert line == (
        f"mqtt broker mqtt://{USER}@127.0.0.1:{broker.port}/shuttle/+/detections refused the user name or"
        " password (not authorized); check NUANU_MQTT_PASSWORD"
    )
    assert "not-the-password" not in line and PASSWORD not in line
    assert feed.status.state == "closed" and feed.connections == 0


@needs_mosquitto
@pytest.mark.slow
async def test_frames_and_events_over_mqtt_survive_a_broker_restart(engine: Any, broker: Broker) -> None:
    watch = Watch()
    director = Director(DirectorConfig(cooldown_s=0.0, stale_ms=10**12, dedup_s=0.0))
    session = RideSession(engine, director, on_decision=watch.decision)
    mqtt_feed = MqttFeed(target(broker), on_status=watch.status, min_backoff=0.2, max_backoff=1.0)
    udp = UdpFeed(0)
    stop = asyncio.Event()
    task = asyncio.create_task(session.run([mqtt_feed, udp], stop=stop))
    try:
        await asyncio.wait_for(session.listening.wait(), 15)
        assert mqtt_feed.status.state == "connected"
        await asyncio.to_thread(publish, broker.port, "shuttle/front/detections", frames(0, 4))
        await asyncio.to_thread(
            publish,
            broker.port,
            "shuttle/any/detections",
            [json.dumps({"label": "cow", "side": "right"}).encode()],
        )
        await asyncio.to_thread(
            publish, broker.port, "elsewhere/front", frames(4, 4, label="cat")
        )  # not ours
        await watch.until(lambda: len(watch.decisions) >= 2)
        assert [(d.source, d.trigger) for d in watch.decisions] == [
            ("camera:front", "собака слева"),
            ("mqtt", "справа корова"),
        ]

        broker.stop()  # mid-ride
        await watch.until(lambda: mqtt_feed.status.state == "away")
        assert mqtt_feed.status.line().startswith(
            f"mqtt mqtt://{USER}@127.0.0.1:{broker.port}/shuttle/+/detections: broker away"
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:  # the other feeds keep working while the broker is away
            sock.sendto(json.dumps({"label": "pig", "side": "left"}).encode(), ("127.0.0.1", udp.bound_port))
        finally:
            sock.close()
        await watch.until(lambda: any(d.source == "udp" for d in watch.decisions))
        await watch.until(lambda: mqtt_feed.status.attempts >= 2)  # it keeps trying, with backoff

        broker.start()
        await watch.until(lambda: mqtt_feed.status.state == "connected")
        assert mqtt_feed.connections == 2
        await asyncio.to_thread(
            publish, broker.port, "shuttle/rear/detections", frames(100, 4, cam="rear", x=1000)
        )
        await watch.until(lambda: any(d.source == "camera:rear" for d in watch.decisions))
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    rear = next(d for d in watch.decisions if d.source == "camera:rear")
    assert rear.trigger == "собака слева"  # image right on a rear camera: the shuttle's left
    assert [s.state for s in watch.states][:2] == ["connected", "away"]
    assert session.tally.summary()["frames"]["received"] == 8
    assert all(PASSWORD not in s.line() for s in watch.states)


@needs_mosquitto
def test_the_ride_cli_says_a_wrong_password_in_one_line(
    broker: Broker, sim_env: dict[str, str], tmp_path: Path
) -> None:
    import subprocess
    import sys

    env = {**sim_env, "NUANU_MQTT_PASSWORD": "wrong-password-42"}
    url = f"mqtt://{USER}@127.0.0.1:{broker.port}/cameras/#"
    proc = subprocess.run(
        [sys.executable, "-m", "nuanu_tui", "ride", "--mqtt", url, "--demo", "--audio", "null", "--duration", "5"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("SIMULATED")]
    assert errors == [
        f"nuanu-tui: error: mqtt broker {url} refused the user name or password (not authorized);"
        " check NUANU_MQTT_PASSWORD"
    ]
    assert "wrong-password-42" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "nuanu_tui", "ride", "--mqtt", "mqtt://u:hunter2@h/a/#/b", "--demo"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert (
        bad.stderr.strip()
        == "nuanu-tui: error: --mqtt topic 'a/#/b': '#' must be a whole level and the last one"
    )
