"""A flood: 1000 events a second for 10 seconds over UDP and WebSocket together, into the ride view with the
engine in its own process. The processes stay up, a key press is handled while the flood runs, memory
stays bounded (the feed keeps a fixed number of lines) and the counts add up."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from ui_fakes import Messages
from websockets.sync.client import connect

from nuanu_tui.ui.app import make_app
from nuanu_tui.ui.ride_messages import DirectorChanged, RideBatch
from nuanu_tui.ui.screens.ride import RideScreen
from nuanu_tui.ui.widgets.ride_feed import FEED_LINES, RideFeed
from tests.conftest import needs_proc
from tests.ride_helpers import GROQ, sim_settings

RATE_PER_TRANSPORT = 500  # events a second on each of UDP and WebSocket: 1000 together
SECONDS = 10
LABELS = ("dog", "cow", "scooter", "chicken", "monkey", "truck", "person", "temple")
SIDES = ("left", "right", "ahead", "behind")


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def events(seed: int) -> Any:
    rng = random.Random(seed)
    while True:
        yield json.dumps(
            {"label": rng.choice(LABELS), "count": rng.randint(1, 5), "side": rng.choice(SIDES),
             "confidence": round(rng.uniform(0.3, 1.0), 2)}
        )  # fmt: skip


def pace(send: Any, seed: int, sent: list[int]) -> None:
    """RATE_PER_TRANSPORT a second for SECONDS, in 10 ms steps (a real camera is bursty too)."""
    gen = events(seed)
    start = time.monotonic()
    total = RATE_PER_TRANSPORT * SECONDS
    while sent[0] < total:
        due = min(total, int((time.monotonic() - start) * RATE_PER_TRANSPORT) + RATE_PER_TRANSPORT // 100)
        while sent[0] < due:
            send(next(gen))
            sent[0] += 1
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.timeout(240)
@needs_proc  # reads its RSS from /proc
async def test_flood_over_udp_and_websocket(sim: Any) -> None:
    udp, ws = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    settings = sim_settings(sim, ride_udp_port=udp, ride_ws_port=ws, events_queue=512)
    app = make_app(settings, llm=GROQ, tts="elevenlabs", audio="null", live_status=False)
    messages = Messages()
    sent_udp, sent_ws = [0], [0]
    async with app.run_test(size=(120, 40), message_hook=messages) as pilot:
        await pilot.press("ctrl+y")
        screen = app.screen
        assert isinstance(screen, RideScreen)
        await messages.wait_for(lambda m: isinstance(m, RideBatch) and len(m.counters.listening) == 2)
        rss_before = rss_mb()

        def udp_flood() -> None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                pace(lambda e: s.sendto(e.encode(), ("127.0.0.1", udp)), 1, sent_udp)

        def ws_flood() -> None:
            with connect(f"ws://127.0.0.1:{ws}/events") as c:
                pace(c.send, 2, sent_ws)

        threads = [threading.Thread(target=udp_flood), threading.Thread(target=ws_flood)]
        for t in threads:
            t.start()
        await messages.wait_for(lambda m: isinstance(m, RideBatch) and m.counters.received > 2000, timeout=60)
        await pilot.press("f2")  # mid-flood: pause the director
        changed = await messages.wait_for(lambda m: isinstance(m, DirectorChanged), timeout=60)
        during = any(t.is_alive() for t in threads)  # handled while the flood was still running
        for t in threads:
            await asyncio.to_thread(t.join)
        total = sent_udp[0] + sent_ws[0]
        assert total == 2 * RATE_PER_TRANSPORT * SECONDS
        last = await messages.wait_for(
            lambda m: isinstance(m, RideBatch) and m.counters.received >= total and m.counters.queued == 0,
            timeout=60,
        )
        await pilot.pause()
        c = last.counters
        feed = screen.query_one(RideFeed)
        rss_after = rss_mb()
        alive = app.link.engine.dead is None
        host = await asyncio.wrap_future(app.link.submit(app.link.engine.stats()))
    assert changed.error is None and changed.settings["paused"] is True and during
    assert alive  # the engine's process stayed up
    assert c.received == total  # every event was received (an overflow would be counted, as rejected) ...
    assert c.received == c.spoken + sum(c.skipped.values()) + sum(c.rejected.values())  # ... and decided
    assert c.skipped.get("paused", 0) > 0  # the pause took effect inside the flood
    assert len(feed.lines) == FEED_LINES  # the feed kept a fixed number of lines
    batches = messages.of(RideBatch)
    assert max(len(b.lines) for b in batches) <= 200
    print(f"flood: {total} events, {len(batches)} batches, console RSS {rss_before:.0f} -> {rss_after:.0f} MB,"
          f" skipped {c.skipped}, rejected {c.rejected}")  # fmt: skip
    print(f"engine process peak RSS {host.rss_peak_mb:.0f} MB")
    assert rss_after - rss_before < 60  # bounded (this test's own hook keeps every message it saw)
    assert host.rss_peak_mb < 300
