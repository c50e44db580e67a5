"""An MQTT broker URL (`mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC`, `mqtts://` for TLS) taken apart.

Its own module, free of the ride, because the settings check `NUANU_MQTT` with it at start-up; the feed that
uses the target is `core/ride/mqtt.py`. Nothing here ever shows a password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from nuanu_tui.core.errors import NuanuError

SCHEMES = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True, slots=True)
class MqttTarget:
    """Where to subscribe. `str()` and `where` never show the password."""

    host: str
    port: int
    topic: str
    tls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.user}@" if self.user else ""
        return f"{scheme}://{user}{self.host}:{self.port}/{self.topic}"

    def __str__(self) -> str:
        return self.where


def parse_mqtt_url(url: str, password: str | None = None) -> MqttTarget:
    """`mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC`; `password` (the environment's) wins over the URL's.
    The topic is everything after the first `/` after the host, taken as written (`#` included)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or scheme not in SCHEMES:
        raise _bad(f"--mqtt needs mqtt://[USER@]HOST:PORT/TOPIC or mqtts://… (got {safe_url(url)!r})")
    netloc, slash, topic = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if not at:
        hostport, userinfo = netloc, ""
    user, colon, url_password = userinfo.partition(":")
    host, port_text = hostport, ""
    if hostport.startswith("["):  # [::1]:1883
        host, _, tail = hostport[1:].partition("]")
        port_text = tail.removeprefix(":")
    elif ":" in hostport:
        host, _, port_text = hostport.rpartition(":")
    if not host:
        raise _bad(f"--mqtt {safe_url(url)!r} names no broker host")
    try:
        port = int(port_text) if port_text else SCHEMES[scheme]
    except ValueError:
        raise _bad(f"--mqtt {safe_url(url)!r}: the port must be a number") from None
    if not 0 < port < 65536:
        raise _bad(f"--mqtt {safe_url(url)!r}: the port must be 1 to 65535")
    if not slash or not topic:
        raise _bad(f"--mqtt {safe_url(url)!r} names no topic (mqtt://HOST:PORT/TOPIC, e.g. cameras/#)")
    problem = topic_problem(topic)
    if problem:
        raise _bad(f"--mqtt topic {topic!r}: {problem}")
    return MqttTarget(
        host=host,
        port=port,
        topic=topic,
        tls=scheme == "mqtts",
        user=unquote(user) or None,
        password=password or (unquote(url_password) if colon else None) or None,
    )


def _bad(message: str) -> NuanuError:
    """A bad --mqtt URL: usage (exit 2), one line."""
    return NuanuError("usage", message)


def topic_problem(topic: str) -> str | None:
    """Why a subscription filter is not valid MQTT, or None: `+` fills a whole level, `#` only the last."""
    if len(topic.encode()) > 65535 or "\0" in topic:
        return "too long or has a NUL character"
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "'#' must be a whole level and the last one"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def safe_url(url: str) -> str:
    """A URL as it may be shown: any password in it replaced."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{host}"
    return f"{scheme}{sep}{netloc}{slash}{tail}"[:200]


__all__ = ["SCHEMES", "MqttTarget", "parse_mqtt_url", "safe_url", "topic_problem"]
