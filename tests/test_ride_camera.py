"""A camera in a ride: frames over a real UDP feed become events the director speaks (`camera:NAME`, the
frame's ts, their provenance), frames are counted apart from events, a recording keeps the frames and replays
to the same decisions, and the sample camera ride replays the same twice."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from nuanu_tui.core.ride.clock import RideClock
from nuanu_tui.core.ride.decisions import RideDecision
from nuanu_tui.core.ride.director import Director, DirectorConfig
from nuanu_tui.core.ride.events import parse_event
from nuanu_tui.core.ride.feeds import Inbox, UdpFeed
from nuanu_tui.core.ride.recording import RideRecorder, load_replay, replay_items
from nuanu_tui.core.ride.session import RideSession
from tests.ride_helpers import adds_up, sim_engine

T0 = 1_796_160_000.0


def frame(i: int, *dets: dict[str, Any], cam: str = "front", ts: float | None = None) -> bytes:
    return json.dumps(
        {
            "type": "detections",
            "camera": cam,
            "ts": ts if ts is not None else T0 + i / 30,
            "frame": i,
            "width": 1200,
            "height": 720,
            "detections": list(dets),
        }
    ).encode()


def dog(x: float, tid: int | None = None, label: str = "dog", conf: float = 0.9) -> dict[str, Any]:
    d: dict[str, Any] = {"label": label, "conf": conf, "box": [x - 50, 300, x + 50, 400]}
    if tid is not None:
        d["track_id"] = tid
    return d


def camera_rows(decisions: list[RideDecision] | Any) -> list[tuple[Any, ...]]:
    return [
        (d.source, d.decision, d.reason, d.event.label, d.event.side, d.event.count, d.event.origin.track_ids)
        for d in decisions
        if d.source.startswith("camera:")
    ]


@pytest.mark.slow
async def test_frames_over_udp_are_spoken_recorded_and_replay_the_same(sim: Any, tmp_path: Path) -> None:
    engine = await sim_engine(sim)
    decisions: list[RideDecision] = []
    changed = asyncio.Event()

    def seen(d: RideDecision) -> None:
        decisions.append(d)
        changed.set()

    async def until(pred: Any) -> None:
        async def wait() -> None:
            while not pred():
                changed.clear()
                await changed.wait()

        await asyncio.wait_for(wait(), 15)

    recorder = RideRecorder(tmp_path / "ride.jsonl")
    config = DirectorConfig(cooldown_s=0.0, stale_ms=10**12, dedup_s=0.0)
    session = RideSession(engine, Director(config), recorder=recorder, on_decision=seen)
    feed = UdpFeed(0)
    stop = asyncio.Event()
    task = asyncio.create_task(session.run([feed], stop=stop))
    try:
        await asyncio.wait_for(session.listening.wait(), 10)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        addr = ("127.0.0.1", feed.bound_port)
        try:
            for i in range(4):  # a dog on the left, confirmed at the third frame; a giraffe nobody maps
                sock.sendto(frame(i, dog(200, 7), dog(900, 8, "giraffe")), addr)
            sock.sendto(b'{"type": "detections", "camera": "front", "width": 1200}', addr)  # no height
            sock.sendto(frame(4, dog(200, 7), dog(1000, 3, "cat"), cam="rear"), addr)
            await until(
                lambda: any(d.source == "camera:front" for d in decisions) and any(d.frame for d in decisions)
            )
            for i in range(5, 9):  # a second dog: the count rises
                sock.sendto(frame(i, dog(200, 7), dog(320, 9)), addr)
            await until(lambda: len([d for d in decisions if d.source == "camera:front"]) == 2)
        finally:
            sock.close()
        await session.drain()
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await engine.aclose()

    front = [d for d in decisions if d.source == "camera:front"]
    assert [(d.decision, d.trigger) for d in front] == [
        ("spoken", "собака слева"),
        ("spoken", "две собаки слева"),
    ]
    first = front[0].to_json()
    assert first["ts"] == T0 + 2 / 30 and first["count"] == 1 and first["label"] == "dog"
    assert first["origin"] == {"camera": "front", "track_ids": [7], "first_frame": 0, "last_frame": 2}
    assert front[1].to_json()["origin"]["track_ids"] == [7, 9]
    (bad,) = [d for d in decisions if d.frame]
    assert (bad.decision, bad.reason, bad.source) == ("rejected", "malformed", "udp")
    assert bad.detail == "frame height: Field required" and bad.to_json()["frame"] is True
    summary = session.tally.summary()
    assert summary["frames"] == {
        "received": 10,
        "rejected": {"malformed": 1},
        "unmapped": 4,
        "low_confidence": 0,
        "cameras": {"front": 8, "rear": 1},
    }
    assert summary["received"] == 2 and summary["spoken"] == 2 and adds_up(summary)  # events as before

    text = (tmp_path / "ride.jsonl").read_text(encoding="utf-8")
    lines = [json.loads(x) for x in text.splitlines()]
    assert sum(1 for x in lines if x.get("type") == "detections") == 9
    assert [x["origin"]["track_ids"] for x in lines if x.get("source") == "camera:front"] == [[7], [7, 9]]
    items = replay_items(text)
    assert len(items) == 10  # the frames and the broken one; not the events the frames made

    engine = await sim_engine(sim)
    try:
        again = RideSession(engine, Director(config), clock=RideClock(None))
        await again.run(replay=items)
    finally:
        await engine.aclose()
    assert camera_rows(again.decisions) == camera_rows(decisions)
    assert again.tally.summary()["frames"] == summary["frames"]


def test_frames_share_the_queue_limit_and_overflow_as_frames() -> None:
    dropped: list[Any] = []
    inbox = Inbox(3, on_reject=dropped.append)
    inbox.offer(parse_event(json.dumps({"id": "s", "label": "child", "priority": "safety"})))
    for i in range(4):
        inbox.offer(parse_event(frame(i, dog(200, 1))))
    assert [(r.reason, r.frame, r.event.frame) for r in dropped] == [
        ("overflow", True, 0),
        ("overflow", True, 1),
    ]
    assert len(inbox) == 3 and inbox.get_nowait().id == "s"  # type: ignore[union-attr]


def test_the_sample_camera_ride_ships() -> None:
    items = load_replay("camera_crossing")
    kinds = [json.loads(i.raw).get("type") for i in items]
    assert kinds.count("detections") == 660 and len(items) == 661


@pytest.mark.slow
async def test_the_sample_camera_ride_replays_the_same_twice(sim: Any) -> None:
    runs = []
    engine = await sim_engine(sim)
    try:
        for _ in range(2):
            session = RideSession(engine, Director(), clock=RideClock(None))
            await session.run(replay=load_replay("camera_crossing"))
            runs.append(session)
    finally:
        await engine.aclose()
    a, b = runs
    assert camera_rows(a.decisions) == camera_rows(b.decisions)
    assert [(d.decision, d.reason) for d in a.decisions] == [(d.decision, d.reason) for d in b.decisions]
    frames = a.tally.summary()["frames"]
    assert frames == {
        "received": 660,
        "rejected": {"malformed": 1},
        "unmapped": 490,
        "low_confidence": 28,
        "cameras": {"front": 329, "rear": 330},
    }
    made = [
        (d.event.label, d.event.side, d.event.count) for d in a.decisions if d.source.startswith("camera:")
    ]
    assert made == [
        ("dog", "left", 1),
        ("dog", "left", 2),
        ("motorbike", "right", 1),
        ("motorbike", "ahead", 1),
        ("motorbike", "left", 1),
        ("dog", "left", 1),
        ("car", "behind", 1),
        ("motorbike", "right", 1),
    ]
    assert any(d.reason == "barge_in" for d in a.decisions)  # the child among the frames
    assert adds_up(a.tally.summary())


@pytest.mark.slow
async def test_frames_over_websocket_and_stdin_are_tracked_too(sim: Any) -> None:
    import io

    from websockets.asyncio.client import connect

    from nuanu_tui.core.ride.feeds import LineFeed, WebSocketFeed

    engine = await sim_engine(sim)
    decisions: list[RideDecision] = []
    changed = asyncio.Event()

    def seen(d: RideDecision) -> None:
        decisions.append(d)
        changed.set()

    lines = b"".join(frame(i, dog(1000, 3), cam="pipe") + b"\n" for i in range(3))
    ws = WebSocketFeed(0)
    config = DirectorConfig(cooldown_s=0.0, stale_ms=10**12, dedup_s=0.0)
    session = RideSession(engine, Director(config), on_decision=seen)
    stop = asyncio.Event()
    task = asyncio.create_task(session.run([ws, LineFeed(io.BytesIO(lines), name="stdin")], stop=stop))
    try:
        await asyncio.wait_for(session.listening.wait(), 10)
        async with connect(f"ws://127.0.0.1:{ws.bound_port}/events") as client:
            for i in range(3):
                await client.send(frame(i, dog(200, 1), cam="socket").decode())

        async def both() -> None:
            while {d.source for d in decisions} != {"camera:socket", "camera:pipe"}:
                changed.clear()
                await changed.wait()

        await asyncio.wait_for(both(), 15)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await engine.aclose()
    made = sorted((d.source, d.event.side) for d in decisions if d.event is not None)
    assert made == [("camera:pipe", "right"), ("camera:socket", "left")]
    assert session.tally.summary()["frames"]["cameras"] == {"pipe": 3, "socket": 3}
