"""The first second of a ride (issue 18): ready is explicit and true, early events wait with their real age,
a safety event stops the remark playing and starts its own at once, and nothing stalls the loop after ready.

Durations are measured by `benchmarks/first_second.py`; these tests check what must hold whatever the speed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import pytest

from benchmarks.first_second import phases, run_ride, safety_delays, t0_wall
from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.audio.player import Player
from nuanu_tui.core.chain_builder import PendingLLM
from nuanu_tui.core.config import choose_defaults, failover_chain
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.providers import make_tts
from nuanu_tui.core.ride.decisions import RideDecision
from nuanu_tui.core.ride.director import Director, DirectorConfig
from nuanu_tui.core.ride.feeds import UdpFeed
from nuanu_tui.core.ride.session import RideSession
from tests.ride_helpers import GROQ, sim_settings
from tests.waiting import until


class StampSink(NullSink):
    """A paced silent device that notes (wall clock) when each utterance's samples arrive and when it aborts."""

    def __init__(self) -> None:
        super().__init__(name="stamp")
        self.utterance = 0
        self.pieces: list[tuple[float, int]] = []  # (time.time(), utterance number)
        self.aborts: list[float] = []

    def utterance_started(self) -> None:
        super().utterance_started()
        self.utterance += 1

    def abort(self) -> None:
        self.aborts.append(time.time())
        super().abort()

    def _accepted(self, piece: memoryview) -> None:
        self.pieces.append((time.time(), self.utterance))


def send(port: int, **event: Any) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(json.dumps(event).encode(), ("127.0.0.1", port))


def chain_engine(sim: Any, sink: NullSink | None = None) -> Engine:
    """A real engine on the emulator with the Groq -> OpenAI -> phrasebook chain, not yet warmed."""
    settings = sim_settings(sim, failover="auto")
    selection = choose_defaults(settings, GROQ, "elevenlabs")
    tts = make_tts(selection.tts, settings)
    player = Player(sink or NullSink())
    player.start(tts.format.sample_rate)
    return Engine(settings, selection, player, tts)


@pytest.mark.slow
async def test_events_before_ready_wait_and_are_judged_with_their_real_age(sim: Any) -> None:
    engine = chain_engine(sim)
    decided: list[tuple[float, RideDecision]] = []
    session = RideSession(
        None,
        Director(DirectorConfig(stale_ms=30_000)),
        on_decision=lambda d: decided.append((time.time(), d)),
    )
    feed = UdpFeed(0)
    starting: asyncio.Future[Engine] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    ride = asyncio.create_task(session.run([feed], stop=stop, speaker=starting))
    try:
        await until(lambda: feed.bound_port != 0, "the UDP feed is bound")
        assert not session.ready.is_set()
        sent = time.time()
        send(feed.bound_port, label="dog", count=2, side="left", ts=sent)  # fresh: waits, then spoken
        send(feed.bound_port, label="cow", side="right", ts=sent - 40.0)  # already too old: stale
        await until(lambda: len(session.inbox) == 2, "both events wait in the inbox")
        await engine.warm()  # the engine starts while the events wait (the real start-up time)
        assert engine.ready.is_set() and engine.ready_at is not None
        assert not decided  # nothing was judged before the ride was ready
        starting.set_result(engine)
        await until(lambda: len(session.results) == 1, "the waiting event is spoken", timeout=30)
    finally:
        stop.set()
        await asyncio.wait_for(ride, 20)
        await engine.aclose()
    assert session.ready_at is not None and session.ready_at >= engine.ready_at
    assert all(at >= session.ready_at for at, _ in decided)
    by_label = {d.event.label: d for _, d in decided if d.event is not None}
    assert (by_label["cow"].decision, by_label["cow"].reason) == ("skipped", "stale")
    dog = by_label["dog"]
    assert (dog.decision, dog.reason) == ("spoken", "ok")
    result = session.results[0]
    t0 = result.started_at - (result.wait_ms or 0) / 1000
    waited_ms = (session.ready_at - sent) * 1000
    # its age runs from its ts to its remark's t0: the whole start-up wait is in it, and nothing more
    assert dog.event_age_ms is not None and dog.event_age_ms >= waited_ms
    assert dog.event_age_ms == pytest.approx((t0 - sent) * 1000, abs=2.0)
    assert result.stages_ms["event_age"] == dog.event_age_ms
    assert session.report()["ready_at"] == session.ready_at


async def test_the_chain_is_built_off_the_loop_before_the_first_remark(sim: Any) -> None:
    engine = chain_engine(sim)
    try:
        await engine.warm()
        specs = failover_chain(engine.settings, GROQ)
        assert [s.partition("/")[0] for s in specs] == ["groq", "openai", "offline"]
        await engine.chain_builder.wait()
        chain = engine.llm_chain(GROQ)
        links = chain.chain  # type: ignore[attr-defined]
        assert [p.spec for p in links] == specs
        assert not any(isinstance(p, PendingLLM) for p in links)  # built (in threads), not placeholders
        assert all(getattr(p, "_code_warm", True) for p in links)  # and each SDK's code path is warm
    finally:
        await engine.aclose()


async def test_a_link_still_building_is_a_placeholder_that_waits_off_the_loop(sim: Any) -> None:
    engine = chain_engine(sim)
    try:
        await engine.warm()
        openai = next(s for s in failover_chain(engine.settings, GROQ) if s.startswith("openai/"))
        engine._llms.pop(openai, None)
        engine.chain_builder._futures.pop(openai, None)
        engine.chain_builder.start([openai])  # as at start-up: the build runs in a worker thread
        link = engine.chain_builder.link(openai)
        assert isinstance(link, PendingLLM)
        assert (await link.provider()).spec == openai  # the stream would wait here, off the loop
        assert engine.chain_builder.link(openai) is engine._llms[openai]
    finally:
        await engine.aclose()


@pytest.mark.slow
async def test_a_one_shot_say_is_ready_without_waiting_for_the_spare_links(sim: Any) -> None:
    """`say` (network in background) starts its remark while a spare (here OpenAI, held) is still building:
    a spare matters only if the primary fails, and a one-shot has no feeds for a build to stall."""
    import threading

    engine = chain_engine(sim)
    gate = threading.Event()
    make = engine.chain_builder._make

    def held(spec: str) -> Any:
        if spec.startswith("openai/"):
            gate.wait(30)
        return make(spec)

    engine.chain_builder._make = held
    try:
        await engine.warm(network_in_background=True)
        assert engine.ready.is_set() and engine.chain_builder.building  # ready, the spare still building
        result = await engine.say("две собаки слева")
        assert result.ok and result.served_by == GROQ
        assert engine.chain_builder.building  # the remark never waited for it
        gate.set()
        await engine.chain_builder.wait()
        openai = next(s for s in failover_chain(engine.settings, GROQ) if s.startswith("openai/"))
        assert engine.chain_builder.link(openai) is engine._llms[openai]
    finally:
        gate.set()
        await engine.aclose()


@pytest.mark.slow
async def test_a_safety_event_stops_the_first_remark_and_starts_its_own_at_once(sim: Any) -> None:
    sink = StampSink()
    engine = chain_engine(sim, sink)
    decided: list[tuple[float, RideDecision]] = []
    session = RideSession(engine, Director(), on_decision=lambda d: decided.append((time.time(), d)))
    feed = UdpFeed(0)
    stop = asyncio.Event()
    await engine.warm()
    ride = asyncio.create_task(session.run([feed], stop=stop))
    try:
        await until(lambda: session.ready.is_set() and feed.bound_port != 0, "the ride is ready")
        send(feed.bound_port, label="dog", count=2, side="left")
        await until(
            lambda: sum(1 for _, u in sink.pieces if u == 1) >= 3, "the first remark is heard", timeout=20
        )
        send(feed.bound_port, label="child", side="ahead", priority="safety")
        await until(lambda: len(session.results) == 2, "both remarks ended", timeout=30)
    finally:
        stop.set()
        await asyncio.wait_for(ride, 20)
        await engine.aclose()
    [(judged_at, safety)] = [(at, d) for at, d in decided if d.reason == "barge_in"]
    assert safety.event is not None and safety.event.priority == "safety"
    first, remark = sorted(session.results, key=lambda r: r.started_at)
    assert first.error_kind == "cancelled"  # cut short ...
    arrived = safety.received_at
    stopped = [t for t in sink.aborts if t >= arrived]
    # ... in the same instant the safety event was judged: before the decision was even told
    assert stopped and arrived <= stopped[0] <= judged_at
    assert not [
        t for t, u in sink.pieces if u == 1 and t > stopped[0]
    ]  # nothing of it reached the device after
    t0 = remark.started_at - (remark.wait_ms or 0) / 1000
    assert judged_at <= t0  # the safety remark starts after the stop, with nothing in between but the stop
    assert remark.ok and remark.stages_ms["first_audio"] is not None
    assert safety.event_age_ms == pytest.approx((t0 - safety.event.ts) * 1000, abs=2.0)
    [(_, dog)] = [(at, d) for at, d in decided if d.reason == "ok"]
    assert dog.event is not None  # the cut remark's age too runs to its start, not to its judgement
    assert dog.event_age_ms == pytest.approx((first.started_at - dog.event.ts) * 1000, abs=2.0)


@pytest.mark.slow
def test_no_callback_stalls_the_loop_after_ready() -> None:
    """`ride --demo` with the Groq -> OpenAI -> phrasebook chain in a fresh process, watched by asyncio's
    slow-callback detection at 20 ms (run-queue waits of this shared machine taken out): no report after
    ready, through the first remark, a barge-in and steady state."""
    run = run_ride(rounds=2)
    ride, watch = run["ride"], run["watch"]
    assert "ride: ready" in run["stderr"]
    assert run["stderr"].index("ride: listening") < run["stderr"].index("ride: ready")
    ready = ride["ready_at"]
    assert ready is not None
    after_ready = [r for r in watch["reports"] if r[0] >= ready and r[1] - r[2] >= 20.0]
    assert after_ready == [], (
        f"loop stalls after ready (ended_at, wall ms, run-queue ms, what): {after_ready}"
    )
    assert all(t0_wall(u) >= ready for u in ride["utterances"])
    assert all(u["stages_ms"]["first_audio"] is not None for u in ride["utterances"])  # every remark heard
    assert ride["summary"]["spoken_by_reason"].get("barge_in", 0) >= 1  # the path a safety event takes ran
    assert len(safety_delays(run)) >= 1
    assert watch["callbacks"] > 100  # the watch really saw the loop
    assert set(phases(run)) == {"start-up", "first remark", "steady state"}


@pytest.mark.slow
async def test_a_typed_trigger_before_ready_is_kept_and_spoken_at_ready(sim: Any) -> None:
    engine = chain_engine(sim)
    decided: list[tuple[float, RideDecision]] = []
    session = RideSession(None, Director(), on_decision=lambda d: decided.append((time.time(), d)))
    starting: asyncio.Future[Engine] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    ride = asyncio.create_task(session.run([], stop=stop, speaker=starting))
    try:
        await until(lambda: session.listening.is_set(), "the ride listens")
        session.operator("две собаки слева")  # typed while the engine is still starting
        await engine.warm()
        assert not decided and not session.results  # kept, not spoken, not dropped
        starting.set_result(engine)
        await until(lambda: len(session.results) == 1, "the kept trigger is spoken", timeout=30)
    finally:
        stop.set()
        await asyncio.wait_for(ride, 20)
        await engine.aclose()
    [(at, d)] = decided
    assert session.ready_at is not None and at >= session.ready_at
    assert (d.source, d.decision, d.trigger) == ("operator", "spoken", "две собаки слева")
    assert session.results[0].trigger == "две собаки слева"


async def test_a_long_lived_engine_warms_the_rubric_before_ready(tmp_path: Any) -> None:
    """The rubric rates each remark on the loop; cold, the first rating took ~23 ms there. The warm-up (in a
    thread, before ready) rates a throwaway remark, so the morphology's first parses are done by then."""
    from nuanu_tui.core import quality
    from nuanu_tui.core.config import Settings

    quality._content_lemma.cache_clear()
    quality.subject_of.cache_clear()
    settings = Settings().model_copy(update={"data_dir": tmp_path})
    engine = await Engine.create(settings, llm="offline/phrasebook", tts="espeak", audio="null")
    try:
        assert quality._content_lemma.cache_info().currsize > 0
        assert quality.subject_of.cache_info().currsize > 0
    finally:
        await engine.aclose()
