"""`nuanu-tui ride`: the headless ride. Feeds in, decisions out, a JSON report written however it ends."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nuanu_tui.core.errors import ConfigError

if TYPE_CHECKING:  # the parser is built on every start: the ride's modules load only for `ride`
    from nuanu_tui.core.config import Settings
    from nuanu_tui.core.ride.feeds import Feed, LineFeed
    from nuanu_tui.core.ride.session import RideSession

SPEEDS = ("1", "4", "max")


def add_ride_parser(sub: Any, common: Any) -> None:
    ride = sub.add_parser("ride", help="ride mode: camera events in, the director decides, rides recorded")
    common(ride)
    ride.add_argument("--ws", type=int, metavar="PORT", help="WebSocket feed on ws://HOST:PORT/events")
    ride.add_argument("--udp", type=int, metavar="PORT", help="UDP feed (one JSON event per datagram)")
    ride.add_argument("--stdin", action="store_true", help="JSON lines (or plain text triggers) on stdin")
    ride.add_argument("--replay", metavar="FILE", help="replay a recorded ride or a sample (village_street)")
    ride.add_argument("--speed", choices=SPEEDS, default="1", help="replay speed: 1, 4 or max")
    ride.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    ride.add_argument("--host", help="address the feeds listen on (default 127.0.0.1 / NUANU_EVENTS_HOST)")
    ride.add_argument("--json", dest="json_path", metavar="PATH", help="write the ride report here")


def build_feeds(args: argparse.Namespace, settings: Settings) -> list[Feed]:
    from nuanu_tui.core.ride.feeds import LineFeed, UdpFeed, WebSocketFeed

    host = args.host or settings.events_host
    token = settings.events_token.get_secret_value().strip() if settings.events_token else None
    feeds: list[Feed] = []
    if args.ws is not None:
        feeds.append(WebSocketFeed(args.ws, host, token or None))
    if args.udp is not None:
        feeds.append(UdpFeed(args.udp, host, token or None))
    if args.stdin:
        feeds.append(LineFeed(name="stdin"))
    return feeds


async def run_ride_cli(args: argparse.Namespace, settings: Settings) -> int:
    from nuanu_tui.cli import offline_line
    from nuanu_tui.core.engine import Engine
    from nuanu_tui.core.ride.director import Director, DirectorConfig
    from nuanu_tui.core.ride.feeds import LineFeed
    from nuanu_tui.core.ride.recording import RideRecorder, load_replay, new_ride_path
    from nuanu_tui.core.ride.session import RideClock, RideSession
    from nuanu_tui.core.store import Store, default_db_path

    feeds = build_feeds(args, settings)
    replay = load_replay(args.replay) if args.replay else None
    if not feeds and replay is None:
        raise ConfigError("nothing to ride: give --ws PORT, --udp PORT, --stdin or --replay FILE")
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration must be positive seconds")
    engine = await Engine.create(
        settings,
        llm=args.llm,
        tts=args.tts,
        audio=args.audio,
        demo=args.demo,
        output_format=args.output_format,
    )
    data_dir = default_db_path(settings.data_dir).parent
    label = Path(args.replay).stem if args.replay else "live"
    store = Store.from_settings(engine.settings).open()
    session_id = store.start_session("ride", f"ride {label}")
    recorder = RideRecorder(new_ride_path(data_dir, label), secrets=engine.settings.secrets())
    speed = None if args.speed == "max" else float(args.speed)
    session = RideSession(
        engine,
        Director(DirectorConfig.from_settings(settings)),
        clock=RideClock(speed),
        inbox_size=settings.events_queue,
        recorder=recorder,
        store=store,
        session_id=session_id,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    until = None
    lines = [f for f in feeds if isinstance(f, LineFeed)]
    if lines and len(lines) == len(feeds) and replay is None:
        until = _end_of_input(lines[0], session)
    try:
        line = offline_line(engine)
        if line:
            print(line, file=sys.stderr)
        for feed in feeds:
            print(f"ride: {feed.name} feed {_where(feed)}", file=sys.stderr)
        await session.run(feeds, replay=replay, stop=stop, duration=args.duration, until=until)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await engine.aclose()
        store.flush(timeout=5)
        store.close()
        report = session.report()
        report["recording"] = str(recorder.path)
        if args.json_path:
            Path(args.json_path).write_text(
                json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
            )
    print(summary_line(report["summary"]))
    print(f"recorded: {recorder.path}", file=sys.stderr)
    return 0


async def _end_of_input(feed: LineFeed, session: RideSession) -> None:
    while feed.done is None:
        await asyncio.sleep(0.01)
    await feed.done.wait()
    await session.drain()


def _where(feed: Feed) -> str:
    port = getattr(feed, "port", None)
    host = getattr(feed, "host", "")
    return f"on {host}:{port}" if port is not None else "reading"


def summary_line(summary: dict[str, Any]) -> str:
    skipped = ", ".join(f"{k} {v}" for k, v in summary["skipped"].items()) or "none"
    rejected = ", ".join(f"{k} {v}" for k, v in summary["rejected"].items()) or "none"
    e2a = summary["event_to_first_audio"]
    p = "—" if e2a["p50"] is None else f"p50 {e2a['p50']:.0f} ms, p95 {e2a['p95']:.0f} ms"
    return (
        f"received {summary['received']}: spoken {summary['spoken']}; skipped: {skipped}; rejected: {rejected};"
        f" event → first audio {p}"
    )
