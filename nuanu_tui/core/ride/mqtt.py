"""The MQTT feed: a broker's topic (frames or events, one JSON object per message) into the ride's inbox.

`--mqtt mqtt://[USER@]HOST:PORT/TOPIC` (`mqtts://` for TLS; `+` and `#` wildcards in TOPIC); the password
comes from `NUANU_MQTT_PASSWORD`, else from the URL. The client is paho-mqtt (pure Python, every platform)
running its own network thread, which also remakes the connection with exponential backoff when the broker
goes away; messages and state changes cross to the ride's loop with `call_soon_threadsafe`. While the broker
is away the feed says so (`state`, `line()`), and the other feeds are untouched. A wrong user name or password
at start is one line naming the broker (exit 2); the password is never in a line, a log or a recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.mqtt_url import MqttTarget, parse_mqtt_url, safe_url, topic_problem

PASSWORD_VAR = "NUANU_MQTT_PASSWORD"
KEEPALIVE_S = 10
MIN_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
FIRST_ANSWER_S = 5.0  # how long start() waits to learn whether the broker takes us
AUTH_REFUSED = ("Bad user name or password", "Not authorized")


def target_from(url: str) -> MqttTarget:
    """The feed's target from `--mqtt URL` and the environment's password."""
    return parse_mqtt_url(url, os.environ.get(PASSWORD_VAR) or None)


@dataclass(frozen=True, slots=True)
class MqttStatus:
    """The feed's connection as the ride view and the status line show it."""

    where: str
    state: str  # connecting | connected | away | refused | closed
    detail: str
    since: float  # wall clock of the last change
    attempts: int  # connection attempts since the last success

    def line(self) -> str:
        if self.state == "connected":
            return f"mqtt {self.where}: connected"
        if self.state == "away":
            return f"mqtt {self.where}: broker away ({self.detail}); reconnecting with backoff, attempt {self.attempts}"
        if self.state == "refused":
            return f"mqtt broker {self.where} {self.detail}"
        return f"mqtt {self.where}: {self.state}"


class MqttFeed:
    """Subscribes to the target's topic; each message goes to the inbox as a UDP datagram would."""

    def __init__(
        self,
        target: MqttTarget,
        *,
        on_status: Callable[[MqttStatus], None] | None = None,
        min_backoff: float = MIN_BACKOFF_S,
        max_backoff: float = MAX_BACKOFF_S,
        first_answer_s: float = FIRST_ANSWER_S,
        name: str = "mqtt",
    ) -> None:
        self.target = target
        self.name = name
        self.on_status = on_status
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.first_answer_s = first_answer_s
        self.where = target.where  # shown as the feed's address; never the password
        self.status = MqttStatus(target.where, "connecting", "", time.time(), 0)
        self.connections = 0  # successful connections (a reconnect makes it 2)
        self.started = False  # start() has returned: what is refused from now on is a status, not an error
        self.messages = 0
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._answered = threading.Event()

    # --- called on paho's network thread ---------------------------------------------------------------
    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the ride's loop has closed
                loop.call_soon_threadsafe(fn, *args)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            name = str(reason.getName())
            if name in AUTH_REFUSED:
                detail = f"refused the user name or password ({name.lower()}); check {PASSWORD_VAR}"
                self._post(self._set, "refused", detail, True)
            else:
                self._post(self._set, "away", f"refused: {name.lower()}", True)
            self._answered.set()
        else:
            client.subscribe(self.target.topic, qos=0)  # connected once the broker confirms it (SUBACK)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        failed = [r for r in reasons if r.is_failure]
        if failed:
            self._post(
                self._set, "refused", f"refused the subscription ({str(failed[0].getName()).lower()})", False
            )
        else:
            self._post(self._set, "connected", "", False)
        self._answered.set()

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        self._post(self._set, "away", "cannot connect", True)
        self._answered.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if self.status.state == "connected" or not reason.is_failure:
            detail = "connection lost" if reason.is_failure else "disconnected"
            self._post(self._set, "away", detail, True)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self._post(self._deliver, message.payload)

    # --- on the ride's loop -----------------------------------------------------------------------------
    def _set(self, state: str, detail: str, attempt: bool) -> None:
        s = self.status
        if state == "connected":
            self.connections += 1
        attempts = 0 if state == "connected" else s.attempts + (1 if attempt else 0)
        if s.state == "closed":
            return
        changed = (state, detail) != (s.state, s.detail)
        self.status = MqttStatus(s.where, state, detail, time.time() if changed else s.since, attempts)
        if self.on_status is not None:
            self.on_status(self.status)

    def _deliver(self, payload: bytes) -> None:
        self.messages += 1
        if self._inbox is not None:
            self._inbox.feed_raw(payload, "mqtt")

    async def start(self, inbox: Any) -> None:
        import paho.mqtt.client as mqtt

        self._inbox = inbox
        self._loop = asyncio.get_running_loop()
        t = self.target
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"nuanu-tui-{os.getpid()}-{os.urandom(3).hex()}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        if t.user is not None:
            client.username_pw_set(t.user, t.password)
        if t.tls:
            client.tls_set_context(ssl.create_default_context())
        client.reconnect_delay_set(self.min_backoff, self.max_backoff)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        client.connect_async(t.host, t.port, keepalive=KEEPALIVE_S)
        client.loop_start()
        await asyncio.to_thread(self._answered.wait, self.first_answer_s)
        await asyncio.sleep(0)  # let the first state change land
        self.started = self.status.state != "refused"
        if not self.started:
            line = self.status.line()
            await self.aclose()
            raise NuanuError("settings", line)  # a bad password is bad input: exit 2

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        self._set("closed", "", False)
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)

    _inbox: Any = None


__all__ = [
    "MqttFeed",
    "MqttStatus",
    "MqttTarget",
    "parse_mqtt_url",
    "safe_url",
    "target_from",
    "topic_problem",
]
