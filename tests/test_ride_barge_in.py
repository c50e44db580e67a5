"""A safety event in mid-remark barges in: the first remark's audio stops within 100 ms (measured on the
samples handed to the device, not on wall-clock sleeps) and the safety remark is spoken."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.audio.player import Player
from nuanu_tui.core.config import choose_defaults
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.providers import make_tts
from nuanu_tui.core.ride.decisions import RideDecision
from nuanu_tui.core.ride.director import Director
from nuanu_tui.core.ride.events import parse_event
from nuanu_tui.core.ride.session import RideSession
from tests.ride_helpers import GROQ, sim_settings
from tests.waiting import until

BARGE_BUDGET_MS = 100.0


class StampSink(NullSink):
    """A paced silent device that notes when each piece of each utterance was handed to it."""

    def __init__(self) -> None:
        super().__init__(name="stamp")
        self.utterance = 0
        self.pieces: list[tuple[int, int, int]] = []  # (perf_counter_ns, samples, utterance number)
        self.aborts: list[int] = []

    def utterance_started(self) -> None:
        super().utterance_started()
        self.utterance += 1

    def abort(self) -> None:
        self.aborts.append(time.perf_counter_ns())  # the device's buffer is dropped: silence from here
        super().abort()

    def _accepted(self, piece: memoryview) -> None:
        self.pieces.append((time.perf_counter_ns(), len(piece) // 2, self.utterance))

    def samples(self, utterance: int) -> int:
        return sum(n for _, n, u in self.pieces if u == utterance)


@pytest.mark.slow
async def test_safety_barges_in_and_the_first_remark_stops_within_100_ms(sim: Any) -> None:
    settings = sim_settings(sim)
    selection = choose_defaults(settings, GROQ, "elevenlabs")
    tts = make_tts(selection.tts, settings)
    sink = StampSink()
    player = Player(sink)
    player.start(tts.format.sample_rate)
    engine = Engine(settings, selection, player, tts)
    await engine.warm()
    barge_ns: list[int] = []
    decisions: list[RideDecision] = []

    session = RideSession(engine, Director(), on_decision=decisions.append)
    stop = asyncio.Event()
    ride = asyncio.create_task(session.run(stop=stop))
    rate = tts.format.sample_rate
    try:
        session.inbox.offer(parse_event(json.dumps({"label": "dog", "count": 2, "side": "left"})))
        await until(
            lambda: sink.samples(1) >= rate * 0.3, "the first remark heard", interval=0.005
        )  # the first remark is being heard
        safety_event = parse_event(json.dumps({"label": "child", "side": "ahead", "priority": "safety"}))
        barge_ns.append(time.perf_counter_ns())  # the safety event arrives: the clock for the 100 ms starts
        session.inbox.offer(safety_event)
        await until(lambda: len(session.results) == 2, "both remarks done", timeout=20, interval=0.005)
    finally:
        stop.set()
        await asyncio.wait_for(ride, 15)
        await engine.aclose()
    assert [(d.decision, d.reason, d.trigger) for d in decisions] == [
        ("spoken", "ok", "две собаки слева"),
        ("spoken", "barge_in", "впереди ребёнок"),
    ]
    first, safety = session.results
    assert first.error_kind == "cancelled"  # cut short, with what it reached
    assert first.stages_ms["first_audio"] is not None
    assert safety.ok and safety.stages_ms["first_audio"] is not None
    assert safety.trigger == "впереди ребёнок"
    # the device got nothing of the first remark later than 100 ms after the safety event arrived ...
    last_first = max(t for t, _, u in sink.pieces if u == 1)
    print(
        f"first remark's last samples reached the device {(last_first - barge_ns[0]) / 1e6:+.1f} ms after the safety event arrived"
    )
    assert (last_first - barge_ns[0]) / 1e6 <= BARGE_BUDGET_MS
    # ... and what it held of it was dropped within 100 ms as well
    stopped = [t for t in sink.aborts if t >= barge_ns[0]]
    print(f"device buffer dropped {(stopped[0] - barge_ns[0]) / 1e6:.1f} ms after the safety event arrived")
    assert stopped and (stopped[0] - barge_ns[0]) / 1e6 <= BARGE_BUDGET_MS
    # ... although it had more to say: it never played out
    assert first.stages_ms["playback_done"] is None
    assert sink.samples(2) > 0  # and the safety remark was heard
    assert session.tally.summary()["spoken_by_reason"] == {"barge_in": 1, "ok": 1}
