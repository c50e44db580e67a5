"""Where a ride is composed: engine + director + feeds + recorder + store, from one `RideRequest`.

The same function serves `nuanu-tui ride` (in the CLI's process) and the TUI's ride view (in the engine's
process, through `EngineOps`), so both run one implementation. What the ride tells its watcher arrives in
`RideUpdate` batches at most every `UPDATE_INTERVAL_S`, each with at most `UPDATE_MAX_LINES` decisions (the
newest) and the full counts: a flood of events costs the watcher a bounded amount of work.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nuanu_tui.core.events import PipelineEvent
from nuanu_tui.core.ride.clock import RideClock
from nuanu_tui.core.ride.decisions import RideDecision
from nuanu_tui.core.ride.director import Director, DirectorConfig
from nuanu_tui.core.ride.feeds import Feed, UdpFeed, WebSocketFeed
from nuanu_tui.core.ride.recording import RideRecorder, load_replay, new_ride_path
from nuanu_tui.core.ride.session import RideSession, RideStore
from nuanu_tui.core.ride.tracker import CameraView, Tracker, tracker_config

UPDATE_INTERVAL_S = 0.1
UPDATE_MAX_LINES = 200


@dataclass(frozen=True, slots=True)
class RideRequest:
    """What a ride is made of. Plain values: it crosses to the engine's process."""

    udp_port: int | None = None
    ws_port: int | None = None
    host: str = "127.0.0.1"
    replay: str | None = None  # a ride file, or a sample's name
    speed: float | None = 1.0  # None: --speed max (virtual ride time)
    director: DirectorConfig = field(default_factory=DirectorConfig)
    data_dir: str | None = None  # the recording goes to DATA_DIR/rides/; None: not recorded
    label: str = "live"
    inbox_size: int = 256
    session_id: str | None = None
    keep_decisions: int = 200_000  # decisions kept for the report (the TUI needs few: it has the feed)
    mqtt: str | None = None  # mqtt://[USER@]HOST:PORT/TOPIC; the password comes from the settings
    mountings: tuple[tuple[str, str], ...] = ()  # camera name -> front | rear | left | right
    track_hits: int = 3
    track_window_s: float = 0.3
    track_lost_s: float = 1.0
    track_iou: float = 0.3

    @classmethod
    def camera_knobs(cls, settings: Any) -> dict[str, Any]:
        """The camera fields of a request, from `Settings` (NUANU_CAMERAS, NUANU_TRACK_*)."""
        return {
            "mountings": tuple(settings.mountings().items()),
            "track_hits": settings.track_hits,
            "track_window_s": settings.track_window_ms / 1000.0,
            "track_lost_s": settings.track_lost_s,
            "track_iou": settings.track_iou,
        }

    def tracker(self) -> Tracker:
        return Tracker(
            tracker_config(
                self.director.min_confidence,
                dict(self.mountings),
                hits=self.track_hits,
                window_s=self.track_window_s,
                lost_s=self.track_lost_s,
                iou=self.track_iou,
            )
        )


@dataclass(frozen=True, slots=True)
class RideUpdate:
    """A batch for the watcher: the newest decisions since the last batch, and the counts so far."""

    decisions: tuple[RideDecision, ...]
    dropped: int  # decisions in this interval not carried (beyond UPDATE_MAX_LINES)
    summary: dict[str, Any]
    queued: int
    paused: bool
    events_per_s: float
    listening: tuple[str, ...] = ()
    finished: bool = False
    recording: str | None = None
    cameras: tuple[CameraView, ...] = ()  # per camera: frames per second, confirmed tracks per side
    feeds: tuple[str, ...] = ()  # feeds' connection lines (MQTT: connected, or away and reconnecting)
    feeds_ok: bool = True  # no feed is away


def _where(f: Feed) -> str:
    return getattr(f, "where", None) or f"{getattr(f, 'host', '')}:{getattr(f, 'bound_port', '')}"


def feed_lines(feeds: list[Feed]) -> tuple[tuple[str, ...], bool]:
    """Lines of the feeds that have a connection to keep (MQTT), and whether all of them are up."""
    lines, ok = [], True
    for f in feeds:
        status = getattr(f, "status", None)
        if status is not None:
            lines.append(status.line())
            ok = ok and status.state in ("connected", "closed")
    return tuple(lines), ok


class RideHandle:
    """Live controls of a running ride (called on the ride's loop)."""

    def __init__(self, session: RideSession, feeds: list[Feed] | None = None) -> None:
        self.session = session
        self.stop = asyncio.Event()
        self.feeds = feeds or []

    def listening(self) -> list[str]:
        """Where the listeners are, once bound: `udp 127.0.0.1:47800`, `ws ws://127.0.0.1:47801/events`."""
        out = []
        for f in self.feeds:
            where = getattr(f, "where", None)
            if where:
                out.append(f"{f.name} {where}")
                continue
            port = getattr(f, "bound_port", 0)
            if port:
                where = f"ws://{f.host}:{port}/events" if f.name == "ws" else f"{f.host}:{port}"  # type: ignore[attr-defined]
                out.append(f"{f.name} {where}")
        return out

    def operator(self, text: str, interrupt: bool = False) -> None:
        self.session.operator(text, interrupt=interrupt)

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        config = self.session.director.config
        config.update(**changes)
        self.session.tracker.config.min_confidence = config.min_confidence  # the camera's default, too
        return {"stale_ms": config.stale_ms, "min_confidence": config.min_confidence,
                "dedup_s": config.dedup_s, "cooldown_s": config.cooldown_s,
                "max_per_min": config.max_per_min, "paused": config.paused}  # fmt: skip


class _Batcher:
    def __init__(
        self, session_ref: list[RideSession], on_update: Callable[[RideUpdate], None], feeds: list[Feed]
    ):
        self._ref = session_ref
        self._on_update = on_update
        self._lines: list[RideDecision] = []
        self._dropped = 0
        self._feeds = feeds
        self._last_t = time.monotonic()
        self._last_n = 0
        self.task: asyncio.Task[None] | None = None

    def add(self, d: RideDecision) -> None:
        self._lines.append(d)
        if len(self._lines) > 2 * UPDATE_MAX_LINES:  # keep only the newest between two batches
            cut = len(self._lines) - UPDATE_MAX_LINES
            self._dropped += cut
            del self._lines[:cut]

    def flush(self, finished: bool = False, recording: str | None = None) -> None:
        session = self._ref[0]
        lines = self._lines[-UPDATE_MAX_LINES:]
        dropped = self._dropped + len(self._lines) - len(lines)
        self._lines, self._dropped = [], 0
        now = time.monotonic()
        received = session.tally.received
        rate = (received - self._last_n) / max(now - self._last_t, 1e-6)
        self._last_t, self._last_n = now, received
        listening = tuple(f"{f.name} {_where(f)}" for f in self._feeds)
        feeds, ok = feed_lines(self._feeds)
        self._on_update(
            RideUpdate(
                tuple(lines), dropped, session.tally.summary(), len(session.inbox),
                session.director.config.paused, rate, listening, finished, recording,
                tuple(session.tracker.cameras()), feeds, ok,
            )
        )  # fmt: skip

    async def run(self) -> None:
        while True:
            await asyncio.sleep(UPDATE_INTERVAL_S)
            self.flush()


def build_feeds(request: RideRequest, token: str | None, mqtt_password: str | None = None) -> list[Feed]:
    feeds: list[Feed] = []
    if request.ws_port is not None:
        feeds.append(WebSocketFeed(request.ws_port, request.host, token))
    if request.udp_port is not None:
        feeds.append(UdpFeed(request.udp_port, request.host, token))
    if request.mqtt:
        from nuanu_tui.core.ride.mqtt import MqttFeed, parse_mqtt_url

        feeds.append(MqttFeed(parse_mqtt_url(request.mqtt, mqtt_password)))
    return feeds


async def run_ride(
    engine: Any,
    request: RideRequest,
    *,
    extra_feeds: list[Feed] | None = None,
    store: RideStore | None = None,
    on_update: Callable[[RideUpdate], None] | None = None,
    on_event: Callable[[PipelineEvent], None] | None = None,
    on_start: Callable[[RideHandle], None] | None = None,
    stop: asyncio.Event | None = None,
    duration: float | None = None,
    until: Any = None,
    settings: Any = None,
) -> RideSession:
    """Run one ride to its end (replay over, `duration`, `stop`, or `until`); returns the session.

    `engine` may still be starting (an awaitable giving it, with `settings` given here): the feeds listen at
    once and what arrives waits for the ride to be ready (`RideSession.ready`)."""
    starting = inspect.isawaitable(engine)
    settings = settings if starting else engine.settings
    token = settings.events_token.get_secret_value().strip() if settings.events_token else None
    mqtt_password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
    feeds = build_feeds(request, token or None, mqtt_password) + list(extra_feeds or ())
    replay = await asyncio.to_thread(load_replay, request.replay) if request.replay else None
    recorder = None
    if request.data_dir is not None:
        path = new_ride_path(Path(request.data_dir), request.label)
        recorder = RideRecorder(path, secrets=settings.secrets())
    ref: list[RideSession] = []
    batcher = _Batcher(ref, on_update, feeds) if on_update is not None else None
    session = RideSession(
        None if starting else engine,
        Director(dataclasses.replace(request.director)),  # live edits change this ride's copy
        clock=RideClock(request.speed),
        inbox_size=request.inbox_size,
        recorder=recorder,
        store=store,
        session_id=request.session_id,
        on_decision=batcher.add if batcher is not None else None,
        on_event=on_event,
        keep_decisions=request.keep_decisions,
        tracker=request.tracker(),
    )
    ref.append(session)
    handle = RideHandle(session, feeds)
    if stop is not None:
        handle.stop = stop
    if on_start is not None:
        on_start(handle)
    if batcher is not None:
        batcher.task = asyncio.create_task(batcher.run(), name="ride-updates")
    try:
        await session.run(
            feeds,
            replay=replay,
            stop=handle.stop,
            duration=duration,
            until=until,
            speaker=engine if starting else None,
        )
    finally:
        if batcher is not None:
            if batcher.task is not None:
                batcher.task.cancel()
                with contextlib.suppress(BaseException):
                    await batcher.task
            batcher.flush(finished=True, recording=str(recorder.path) if recorder is not None else None)
    session.recording = str(recorder.path) if recorder is not None else None
    return session
