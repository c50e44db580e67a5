"""`nuanu-tui ride`: the headless ride. Feeds in, decisions out, a JSON report written however it ends."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nuanu_tui.cli.common import offline_line, quiet_device_noise
from nuanu_tui.core.errors import ConfigError, NuanuError

if TYPE_CHECKING:  # the ride's modules load only when it runs
    from nuanu_tui.core.config import Settings
    from nuanu_tui.core.ride.compose import RideHandle
    from nuanu_tui.core.ride.feeds import LineFeed


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from nuanu_tui.core.engine import Engine
    from nuanu_tui.core.ride.compose import RideRequest, run_ride
    from nuanu_tui.core.ride.director import DirectorConfig
    from nuanu_tui.core.ride.feeds import LineFeed
    from nuanu_tui.core.ride.recording import load_replay
    from nuanu_tui.core.store import Store
    from nuanu_tui.core.store_schema import default_db_path

    mqtt = args.mqtt or settings.mqtt
    if mqtt:
        from nuanu_tui.core.ride.mqtt import parse_mqtt_url

        parse_mqtt_url(mqtt)  # a bad URL is one line, before anything starts
    if args.ws is None and args.udp is None and not args.stdin and not args.replay and not mqtt:
        raise ConfigError("nothing to ride: give --ws PORT, --udp PORT, --stdin, --mqtt URL or --replay FILE")
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration must be positive seconds")
    if args.replay:
        load_replay(args.replay)  # a missing or unreadable file is one line, before anything starts
    quiet_device_noise(settings, args.audio)
    # The engine starts while the feeds already listen: what arrives meanwhile waits, judged at ready.
    starting = asyncio.ensure_future(
        Engine.create(
            settings,
            llm=args.llm,
            tts=args.tts,
            audio=args.audio,
            demo=args.demo,
            output_format=args.output_format,
        )
    )
    store: Store | None = Store.from_settings(settings)
    try:
        store.open()  # type: ignore[union-attr]
    except NuanuError as exc:  # the ride still runs and is still recorded as JSON lines
        print(f"warning: {exc.message}; decisions are not stored in the database", file=sys.stderr)
        store = None
    label = Path(args.replay).stem if args.replay else "live"
    request = RideRequest(
        udp_port=args.udp,
        ws_port=args.ws,
        host=args.host or settings.events_host,
        replay=args.replay,
        speed=None if args.speed == "max" else float(args.speed),
        director=DirectorConfig.from_settings(settings),
        data_dir=str(default_db_path(settings.data_dir).parent),
        label=label,
        inbox_size=settings.events_queue,
        session_id=store.start_session("ride", f"ride {label}") if store is not None else None,
        mqtt=mqtt,
        **RideRequest.camera_knobs(settings),
    )
    lines = [LineFeed(name="stdin")] if args.stdin else []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    handles: list[RideHandle] = []

    def started(handle: RideHandle) -> None:
        handles.append(handle)
        for feed in handle.feeds:  # MQTT: connected, or away and reconnecting, as it happens
            if hasattr(feed, "on_status"):
                feed.on_status = _status_printer(feed)

        async def say_where() -> None:
            session = handle.session
            await session.listening.wait()
            for where in handle.listening():
                print(f"ride: listening on {where}", file=sys.stderr, flush=True)
            await session.ready.wait()
            line = offline_line(session.speaker)
            if line:
                print(line, file=sys.stderr)
            after = ""
            if getattr(args, "accepted_ns", None):
                after = f" ({(time.perf_counter_ns() - args.accepted_ns) / 1e9:.1f} s after launch)"
            print(f"ride: ready — remarks start at once{after}", file=sys.stderr, flush=True)

        announce.append(asyncio.create_task(say_where()))

    announce: list[asyncio.Task[None]] = []

    only_stdin = args.stdin and args.ws is None and args.udp is None and not args.replay and not mqtt
    session = None
    try:
        session = await run_ride(
            starting,
            request,
            settings=settings,
            extra_feeds=list(lines),
            store=store,
            stop=stop,
            duration=args.duration,
            on_start=started,
            until=_end_of_input(lines[0], handles) if only_stdin else None,
        )
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        with contextlib.suppress(BaseException):  # stopped while starting: let it finish, then close it
            await starting
        if not starting.cancelled() and starting.exception() is None:
            await starting.result().aclose()
        if store is not None:
            store.flush(timeout=5)
            store.close()
        ride = session or (handles[0].session if handles else None)
        report = ride.report() if ride is not None else _empty_report()
        report["recording"] = ride.recording if ride is not None else None
        if args.json_path:
            Path(args.json_path).write_text(
                json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
            )
    print(summary_line(report["summary"]))
    if report["recording"]:
        print(f"recorded: {report['recording']}", file=sys.stderr)
    return 0


def _status_printer(feed: Any) -> Any:
    """Connected and away as they happen; a refusal at start is the ride's one error line instead."""

    def show(status: Any) -> None:
        if status.state in ("connected", "away") or (status.state == "refused" and feed.started):
            print(f"ride: {status.line()}", file=sys.stderr, flush=True)

    return show


def _empty_report() -> dict[str, Any]:
    summary = {"received": 0, "spoken": 0, "spoken_by_reason": {}, "skipped": {}, "rejected": {},
               "event_to_first_audio": {"n": 0, "p50": None, "p95": None, "max": None},
               "frames": {"received": 0, "rejected": {}, "unmapped": 0, "low_confidence": 0, "cameras": {}}}  # fmt: skip
    return {"ready_at": None, "events": [], "utterances": [], "summary": summary}


async def _end_of_input(feed: LineFeed, handles: list[RideHandle]) -> None:
    while feed.done is None or not handles:
        await asyncio.sleep(0.01)
    await feed.done.wait()
    await handles[0].session.drain()


def summary_line(summary: dict[str, Any]) -> str:
    skipped = ", ".join(f"{k} {v}" for k, v in summary["skipped"].items()) or "none"
    rejected = ", ".join(f"{k} {v}" for k, v in summary["rejected"].items()) or "none"
    e2a = summary["event_to_first_audio"]
    p = "—" if e2a["p50"] is None else f"p50 {e2a['p50']:.0f} ms, p95 {e2a['p95']:.0f} ms"
    frames = summary.get("frames") or {}
    seen = ""
    if frames.get("received"):
        refused = ", ".join(f"{k} {v}" for k, v in frames["rejected"].items()) or "none"
        seen = f"; frames {frames['received']} (rejected: {refused}; unmapped {frames['unmapped']})"
    return (
        f"received {summary['received']}: spoken {summary['spoken']}; skipped: {skipped}; rejected: {rejected};"
        f" event → first audio {p}{seen}"
    )
