"""Round-trip time to each provider in use, measured continuously, cheaply and off the audio path.

- TTS (ElevenLabs): a keep-alive ping on the socket that is open anyway; the pong's delay is the RTT.
- LLM hosts: a `HEAD /` on the host's front door over a kept-alive connection of our own. No key is sent and
  no quota is spent; the first probe opens the connection (its handshakes are not RTT) and is not reported.
  Where the reply says how long the server itself worked (`openai-processing-ms`, `x-envoy-upstream-service-time`),
  that time is subtracted.
Probes run in their own task on a timer; an utterance only ever reads the last values (`snapshot`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

PROBE_TIMEOUT_S = 2.0
SERVER_TIME_HEADERS = ("openai-processing-ms", "x-envoy-upstream-service-time")
# Colours and the warning: up to GOOD_MS is fine for a live remark, up to the warn threshold is slow.
GOOD_MS = 120.0


@dataclass(slots=True)
class RttReading:
    """The latest RTT to one provider (`ms` None: not measured yet, or the last probe failed)."""

    role: str  # "llm" or "tts"
    name: str  # provider, e.g. "groq", "elevenlabs"
    ms: float | None = None
    failed: bool = False
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=5))

    @property
    def typical_ms(self) -> float | None:
        """Median of the last few probes: one jittered probe neither raises nor clears a warning."""
        if not self.recent:
            return None
        ordered = sorted(self.recent)
        return ordered[len(ordered) // 2]


class HttpRttProbe:
    """`HEAD /` on an HTTP(S) origin over one kept-alive connection; RTT = time to the response headers minus
    the server's own time where it reports it."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._client: object | None = None
        self._opened = False

    async def __call__(self) -> float | None:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=PROBE_TIMEOUT_S,
                limits=httpx.Limits(max_connections=1, keepalive_expiry=600.0),
                follow_redirects=False,
                trust_env=False,
            )
        client: httpx.AsyncClient = self._client  # type: ignore[assignment]
        try:
            if not self._opened:  # the first request pays TCP/TLS: open the connection, report nothing
                await client.head(self.origin + "/")
                self._opened = True
            t = time.perf_counter()
            resp = await client.head(self.origin + "/")
            ms = (time.perf_counter() - t) * 1000.0
        except httpx.HTTPError:
            self._opened = False
            return None
        for header in SERVER_TIME_HEADERS:
            with contextlib.suppress(TypeError, ValueError):
                ms -= float(resp.headers.get(header))  # type: ignore[arg-type]
                break
        return max(ms, 0.0)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()  # type: ignore[attr-defined]


Probe = Callable[[], Awaitable[float | None]]

# Network conditions for grouping results: (upper bound of the larger RTT in ms, name).
CONDITIONS = (
    (5.0, "loopback (<5 ms)"),
    (50.0, "good (<50 ms)"),
    (150.0, "fair (50–150 ms)"),
    (float("inf"), "poor (≥150 ms)"),
)


def net_condition(net_rtt_ms: dict[str, float | None]) -> str:
    """`loopback|good|fair|poor` from the larger of the LLM and TTS round trips; `unmeasured` without one."""
    known = [v for v in net_rtt_ms.values() if v is not None]
    if not known:
        return "unmeasured"
    worst = max(known)
    return next(name for bound, name in CONDITIONS if worst < bound)


class NetMonitor:
    """Probes each provider in use every `interval_s`; keeps the latest readings for the status and results."""

    def __init__(self, interval_s: float, warn_ms: float) -> None:
        self.interval_s = interval_s
        self.warn_ms = warn_ms
        self.readings: dict[str, RttReading] = {}
        self._probes: dict[str, tuple[str, Probe]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closed = False

    def set_target(self, role: str, name: str | None, probe: Probe | None) -> None:
        """Probe `role` ("llm"/"tts") with `probe` from now on (None: nothing to probe, e.g. offline)."""
        old = self._probes.pop(role, None)
        if old is not None:
            closer = getattr(old[1], "aclose", None)
            if closer is not None and old[1] is not probe:
                task = asyncio.ensure_future(closer())
                task.add_done_callback(lambda _t: None)
        if name is None or probe is None:
            self.readings.pop(role, None)
            return
        self._probes[role] = (name, probe)
        reading = self.readings.get(role)
        if reading is None or reading.name != name:
            self.readings[role] = RttReading(role, name)
        self._wake.set()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="net-probe")

    async def probe_once(self, *roles: str) -> None:
        """Probe now (all roles, or the ones named); never raises."""
        await asyncio.gather(
            *(
                self._probe(role, name, probe)
                for role, (name, probe) in list(self._probes.items())
                if not roles or role in roles
            )
        )

    async def _probe(self, role: str, name: str, probe: Probe) -> None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S * 2):  # not wait_for: 3.11's can swallow a cancel
                ms = await probe()
        except Exception:
            ms = None
        reading = self.readings.get(role)
        if reading is None or reading.name != name:
            return  # switched while probing
        reading.failed = ms is None
        reading.ms = ms
        if ms is not None:
            reading.recent.append(ms)

    async def _run(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await self._wake.wait()
            self._wake.clear()
            await self.probe_once()

    def snapshot(self) -> dict[str, float | None]:
        """`{"llm": ms, "tts": ms}` at this moment (None where not measured): what an utterance records."""
        out: dict[str, float | None] = {"llm": None, "tts": None}
        for role, reading in self.readings.items():
            out[role] = None if reading.ms is None else round(reading.ms, 1)
        return out

    def degraded(self) -> tuple[str, ...]:
        """Providers whose link is past the warning threshold (typical RTT) or whose last probe failed."""
        out = []
        for reading in self.readings.values():
            typical = reading.typical_ms
            if (typical is not None and typical > self.warn_ms) or (reading.failed and reading.recent):
                out.append(reading.name)
        return tuple(out)

    def gauges(self) -> list[tuple[str, str, float]]:
        """(role, provider, ms) for every measured link: the RTT gauges' observations."""
        return [(r.role, r.name, r.ms) for r in list(self.readings.values()) if r.ms is not None]

    def view(self) -> tuple[tuple[str, float | None], ...]:
        """(provider, last RTT) pairs in a stable order (LLM first), for the status bar."""
        return tuple(
            (self.readings[role].name, self.readings[role].ms)
            for role in ("llm", "tts")
            if role in self.readings
        )

    async def aclose(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                async with asyncio.timeout(PROBE_TIMEOUT_S * 2):
                    await self._task
            self._task = None
        for _name, probe in self._probes.values():
            closer = getattr(probe, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        self._probes.clear()
