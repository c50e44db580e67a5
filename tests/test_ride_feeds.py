"""The feeds end to end against the emulator: each transport's valid, malformed, oversized and unauthorized
events reach the director (or not) and get the documented decision; a safety event barges in."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from nuanu_tui.core.errors import ConfigError
from nuanu_tui.core.ride.decisions import RideDecision
from nuanu_tui.core.ride.director import Director, DirectorConfig
from nuanu_tui.core.ride.events import MAX_EVENT_BYTES
from nuanu_tui.core.ride.events import parse_event as parse
from nuanu_tui.core.ride.feeds import Inbox, LineFeed, UdpFeed, WebSocketFeed
from nuanu_tui.core.ride.session import RideSession
from tests.ride_helpers import adds_up, sim_engine

TOKEN = "feed-token-0123456789"
OVERSIZE = json.dumps({"label": "dog", "text": "x" * MAX_EVENT_BYTES})


class Ride:
    """A live ride on a real engine, its decisions collected as they are made."""

    def __init__(self, engine: Any, feeds: list[Any]) -> None:
        self.decisions: list[RideDecision] = []
        self._changed = asyncio.Event()
        self.session = RideSession(
            engine,
            Director(DirectorConfig(cooldown_s=0.0, stale_ms=60_000.0)),
            on_decision=self._collect,
            inbox_size=64,
        )
        self.feeds = feeds
        self.stop = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None

    def _collect(self, d: RideDecision) -> None:
        self.decisions.append(d)
        self._changed.set()

    async def __aenter__(self) -> Ride:
        async def run() -> None:
            await self.session.run(self.feeds, stop=self.stop)

        self.task = asyncio.create_task(run())
        while not all(getattr(f, "bound_port", 1) or getattr(f, "done", None) for f in self.feeds):
            await asyncio.sleep(0.01)  # the listeners are bound (port 0 picks a free one)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 15)

    async def until(self, n: int, timeout: float = 10.0) -> list[tuple[str, str, str]]:
        async def wait() -> None:
            while len(self.decisions) < n:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)
        return [(d.decision, d.reason, d.source) for d in self.decisions]


@pytest.fixture
async def engine(sim: Any) -> AsyncIterator[Any]:
    e = await sim_engine(sim)
    yield e
    await e.aclose()


@pytest.mark.slow
async def test_websocket_feed(engine: Any) -> None:
    feed = WebSocketFeed(0, token=TOKEN)
    async with Ride(engine, [feed]) as ride:
        url = f"ws://127.0.0.1:{feed.bound_port}/events"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url):
                pass
        assert refused.value.response.status_code == 401
        with pytest.raises(InvalidStatus):
            async with connect(f"{url}?token=wrong"):
                pass
        await ride.until(2)
        async with connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
            await ws.send(json.dumps({"label": "dog", "count": 2, "side": "left", "confidence": 0.9}))
            await ride.until(3)
            await ws.send('{"label": "dog", "count": "two"}')
            await ws.send(OVERSIZE)
            got = await ride.until(5)
        async with connect(f"{url}?token={TOKEN}") as ws:  # the query parameter works as well
            await ws.send("камера, слон на мопеде")
            got = await ride.until(6)
    assert got[:5] == [
        ("rejected", "unauthorized", "ws"),
        ("rejected", "unauthorized", "ws"),
        ("spoken", "ok", "ws"),
        ("rejected", "malformed", "ws"),
        ("rejected", "malformed", "ws"),
    ]
    assert got[5] == ("spoken", "ok", "ws")  # it waited for the first remark to end, then spoke
    assert ride.decisions[2].trigger == "две собаки слева"
    assert ride.decisions[4].detail.startswith("oversize")
    assert all(TOKEN not in (d.detail + (d.raw or "")) for d in ride.decisions)
    assert adds_up(ride.session.tally.summary())


async def test_udp_feed(engine: Any) -> None:
    feed = UdpFeed(0, token=TOKEN)
    async with Ride(engine, [feed]) as ride:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        addr = ("127.0.0.1", feed.bound_port)
        try:
            sock.sendto(json.dumps({"label": "cow", "side": "right", "token": TOKEN}).encode(), addr)
            await ride.until(1)
            sock.sendto(json.dumps({"label": "cow", "confidence": "x", "token": TOKEN}).encode(), addr)
            await ride.until(2)
            sock.sendto(OVERSIZE.encode() + b" " * 10, addr)
            await ride.until(3)
            sock.sendto(json.dumps({"label": "pig", "side": "left"}).encode(), addr)
            await ride.until(4)
            sock.sendto(json.dumps({"label": "pig", "token": "guess"}).encode(), addr)
            await ride.until(5)
            sock.sendto(b"\xff\xfe\x00", addr)
            got = await ride.until(6)
        finally:
            sock.close()
    assert got == [
        ("spoken", "ok", "udp"),
        ("rejected", "malformed", "udp"),
        ("rejected", "malformed", "udp"),
        ("rejected", "unauthorized", "udp"),
        ("rejected", "unauthorized", "udp"),
        ("rejected", "malformed", "udp"),
    ]
    assert ride.decisions[0].trigger == "справа корова"
    assert [d.detail for d in ride.decisions[1:3]] == [
        "confidence: Input should be a valid number",
        f"oversize: {len(OVERSIZE) + 10} bytes (at most {MAX_EVENT_BYTES})",
    ]
    assert ride.decisions[5].detail == "not UTF-8"
    assert adds_up(ride.session.tally.summary())


async def test_stdin_feed(engine: Any) -> None:
    """stdin is the operator's own pipe: it has no token, so a `token` field is simply ignored there."""
    read_fd, write_fd = os.pipe()
    feed = LineFeed(os.fdopen(read_fd, "rb"), name="stdin")
    writer = os.fdopen(write_fd, "wb", buffering=0)
    async with Ride(engine, [feed]) as ride:
        writer.write(b'{"label": "monkey", "count": 5, "side": "ahead"}\n')
        await ride.until(1)
        writer.write(b"# a comment line is skipped\n\n{not json}\n")
        await ride.until(2)
        writer.write(OVERSIZE.encode() + b"\n")
        await ride.until(3)
        writer.write(b'{"label": "dog", "side": "behind", "token": "whatever", "confidence": 0.2}\n')
        got = await ride.until(4)
        writer.close()
        await asyncio.wait_for(feed.done.wait(), 5)  # type: ignore[union-attr]
    assert got == [
        ("spoken", "ok", "stdin"),
        ("rejected", "malformed", "stdin"),
        ("rejected", "malformed", "stdin"),
        ("skipped", "low_confidence", "stdin"),
    ]
    assert ride.decisions[0].trigger == "впереди пять обезьян"


@pytest.mark.parametrize("make", [lambda: WebSocketFeed(0, "0.0.0.0"), lambda: UdpFeed(0, "0.0.0.0")])
async def test_listening_beyond_loopback_needs_a_token(make: Callable[[], Any]) -> None:
    with pytest.raises(ConfigError, match="NUANU_EVENTS_TOKEN"):
        await make().start(Inbox())


def test_overflow_drops_the_oldest_non_safety_event() -> None:
    from nuanu_tui.core.ride.events import parse_event

    dropped: list[Any] = []
    inbox = Inbox(3, on_reject=dropped.append)

    def put(label: str, prio: str = "normal") -> None:
        inbox.offer(parse_event(json.dumps({"id": label, "label": "dog", "priority": prio})))

    put("s1", "safety")
    put("a")
    put("b")
    put("c")  # full: "a" goes (the safety one stays)
    put("s2", "safety")  # full: "b" goes
    assert [(r.reason, r.event.id) for r in dropped] == [("overflow", "a"), ("overflow", "b")]
    assert [inbox.get_nowait().id for _ in range(3)] == ["s1", "c", "s2"]  # type: ignore[union-attr]


@pytest.mark.slow
async def test_a_typed_trigger_always_speaks_even_when_paused(engine: Any) -> None:
    async with Ride(engine, []) as ride:
        ride.session.director.config.paused = True
        ride.session.inbox.offer(parse(json.dumps({"label": "dog", "side": "left"})))
        await ride.until(1)
        ride.session.operator("камера, слон на мопеде")
        got = await ride.until(2)
        ride.session.operator("   ")  # nothing to say is a malformed trigger, not a remark
        got = await ride.until(3)
        await asyncio.wait_for(ride.session.drain(), 30)  # the remark plays to its end
    assert got == [
        ("skipped", "paused", "feed"),
        ("spoken", "ok", "operator"),
        ("rejected", "malformed", "operator"),
    ]
    assert ride.decisions[1].trigger == "камера, слон на мопеде" and ride.decisions[1].event is None
    assert [r.trigger for r in ride.session.results] == ["камера, слон на мопеде"]
