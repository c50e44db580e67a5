"""The ride view's bridge: its verbs over the shared engine link (`EngineLink`'s loop, ops and store).

A ride runs where the engine runs (the engine's process, through `ops.ride`); this module only starts and
stops it, forwards the operator's trigger and the director's settings, and turns the ride's batched updates
into `RideBatch` messages. It never waits on the UI, and it adds nothing to `link.py`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from pathlib import Path
from typing import Any

from textual.message_pump import MessagePump

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.events import UtteranceFinished
from nuanu_tui.core.ride.compose import RideRequest, RideUpdate
from nuanu_tui.core.ride.director import DirectorConfig
from nuanu_tui.core.ride.recording import sample_rides
from nuanu_tui.core.store_schema import default_db_path
from nuanu_tui.ui.link import EngineLink
from nuanu_tui.ui.relay import Relay
from nuanu_tui.ui.ride_messages import (
    CameraLine,
    DirectorChanged,
    RideBatch,
    RideCounters,
    RideLine,
    RideStarted,
    RideStopped,
)

KEEP_DECISIONS = 1000  # the engine keeps few for the view's ride: the feed and the database have them
DEFAULT_UDP_PORT = 47800
DEFAULT_WS_PORT = 47801


def line_of(d: Any) -> RideLine:
    e = d.event
    if e is None:
        what = d.trigger or d.detail or "(unreadable)"
    elif e.text is not None:
        what = e.text
    else:
        what = " ".join(p for p in (e.label, f"×{e.count}" if e.count != 1 else "", e.side or "") if p)
    return RideLine(
        d.received_at, what, e.confidence if e else None, e.priority if e else None,
        d.decision, d.reason, d.source, d.detail,
    )  # fmt: skip


def counters_of(u: RideUpdate) -> RideCounters:
    s = u.summary
    e2a = s["event_to_first_audio"]
    frames = s.get("frames") or {}
    cameras = tuple(CameraLine(c.camera, c.mounting, c.fps, tuple(c.sides.items())) for c in u.cameras)
    return RideCounters(
        s["received"], s["spoken"], dict(s["skipped"]), dict(s["rejected"]), u.events_per_s,
        e2a["p50"], e2a["p95"], e2a["n"], u.queued, u.paused, u.listening,
        cameras, frames.get("received", 0), sum(frames.get("rejected", {}).values()), u.feeds, u.feeds_ok,
    )  # fmt: skip


class RideBridge:
    """Ride verbs; every public method is called from the UI thread and returns at once."""

    def __init__(self, link: EngineLink) -> None:
        self.link = link
        settings = link.settings
        self.director = DirectorConfig.from_settings(settings) if settings is not None else DirectorConfig()
        self.udp_port = getattr(settings, "ride_udp_port", DEFAULT_UDP_PORT)
        self.ws_port = getattr(settings, "ride_ws_port", DEFAULT_WS_PORT)
        self.host = getattr(settings, "events_host", "127.0.0.1")
        self.inbox_size = getattr(settings, "events_queue", 256)
        self.mqtt: str | None = getattr(settings, "mqtt", None)  # NUANU_MQTT: the live ride subscribes too
        self.cameras = RideRequest.camera_knobs(settings) if settings is not None else {}
        data_dir = getattr(settings, "data_dir", None)
        self.data_dir = str(default_db_path(data_dir).parent) if settings is not None else None
        self._running: concurrent.futures.Future[Any] | None = None

    @property
    def ready(self) -> bool:
        return self.link.ready

    @property
    def running(self) -> bool:
        return self._running is not None and not self._running.done()

    # --- rides ----------------------------------------------------------------------------------------
    def start(
        self, target: MessagePump, replay: str | None = None, speed: float | None = 4.0
    ) -> concurrent.futures.Future[Any]:
        """Stop the ride running (if any), then start a new one: live feeds, plus `replay` when given."""
        previous = self._running
        self._running = self.link.submit(self._ride(target, replay, speed, previous))
        return self._running

    async def _ride(
        self, target: MessagePump, replay: str | None, speed: float | None, previous: Any
    ) -> dict[str, Any] | None:
        ops = self.link.ops
        if ops is None:
            raise NuanuError("engine", "the engine is not running")
        if previous is not None and not previous.done():
            ops.ride_stop()
            await asyncio.wrap_future(previous)
        label = Path(replay).stem if replay else "live"
        request = RideRequest(
            udp_port=self.udp_port or None, ws_port=self.ws_port or None, host=self.host,
            replay=replay, speed=speed if replay else 1.0, director=self.director,
            data_dir=self.data_dir, label=label, inbox_size=self.inbox_size,
            session_id=self.link.session("ride"), keep_decisions=KEEP_DECISIONS,
            mqtt=self.mqtt, **self.cameras,
        )  # fmt: skip
        relays: dict[str, Relay] = {}

        def on_event(event: Any) -> None:
            uid = event.result.utterance_id if isinstance(event, UtteranceFinished) else event.utterance_id
            relay = relays.get(uid)
            if relay is None:
                relay = relays[uid] = self.link.relay(target)
            relay(event)
            if isinstance(event, UtteranceFinished):
                relays.pop(uid, None)

        def on_update(u: RideUpdate) -> None:
            target.post_message(RideBatch(tuple(line_of(d) for d in u.decisions), u.dropped, counters_of(u)))
            if u.finished:
                recording.append(u.recording)

        recording: list[str | None] = []
        what = f"replay {label} at {'max' if speed is None else f'{speed:g}x'}" if replay else "live"
        target.post_message(RideStarted(what))
        store = self.link.store if self.link.store is not None and self.link.store.is_open else None
        try:
            summary: dict[str, Any] = await ops.ride(
                request, on_update=on_update, on_event=on_event, store=store
            )
        except NuanuError as exc:
            target.post_message(RideStopped(what, exc.message))
            return None
        target.post_message(RideStopped(what, None, recording[-1] if recording else None))
        return summary

    def stop(self) -> None:
        if self.link.ops is not None:
            self.link.call_soon(self.link.ops.ride_stop)

    def stop_remark(self) -> None:
        """Esc: the current remark stops (audio, TTS context, LLM stream); the ride goes on."""
        if self.link.engine is not None:
            self.link.call_soon(self.link.engine.interrupt)

    # --- the operator ---------------------------------------------------------------------------------
    def operator(self, text: str, interrupt: bool) -> concurrent.futures.Future[Any]:
        return self.link.submit(self._call("ride_operator", text, interrupt))

    def configure(self, changes: dict[str, Any], target: MessagePump) -> concurrent.futures.Future[Any]:
        async def run() -> None:
            try:
                now = await self._call("ride_configure", changes)
            except NuanuError as exc:
                target.post_message(DirectorChanged({}, exc.message))
                return
            for name, value in now.items():
                setattr(self.director, name, value)  # the next ride starts with the same rules
            target.post_message(DirectorChanged(now))

        return self.link.submit(run())

    async def _call(self, verb: str, *args: Any) -> Any:
        ops = self.link.ops
        if ops is None:
            raise NuanuError("engine", "the engine is not running")
        result = getattr(ops, verb)(*args)
        return await result if inspect.isawaitable(result) else result

    # --- rides on disk ----------------------------------------------------------------------------------
    def rides(self) -> list[tuple[str, str]]:
        """(label, what to replay): the sample rides, then recorded ones, newest first."""
        out = [(f"sample: {name.replace('_', ' ')}", name) for name in sample_rides()]
        if self.data_dir is not None:
            folder = Path(self.data_dir) / "rides"
            if folder.is_dir():
                recorded = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
                out += [(f"recorded: {p.stem}", str(p)) for p in recorded[:50]]
        return out
