"""Sample rides replayed at --speed max against the emulator: the decisions are the file's, every time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nuanu_tui.core.ride.clock import RideClock
from nuanu_tui.core.ride.director import Director
from nuanu_tui.core.ride.recording import RideRecorder, load_replay, replay_items, sample_rides
from nuanu_tui.core.ride.session import RideSession
from nuanu_tui.core.store import Store
from tests.ride_helpers import SAMPLE_COUNTS, adds_up, sim_engine


def decisions(session: RideSession) -> list[tuple[str, str, str | None]]:
    return [(d.decision, d.reason, d.trigger) for d in session.decisions]


async def replay(engine: Any, name: str, **kwargs: Any) -> RideSession:
    session = RideSession(engine, Director(), clock=RideClock(None), **kwargs)
    await session.run(replay=load_replay(name))
    return session


def test_the_package_ships_the_sample_rides_with_150_events_or_more() -> None:
    names = sample_rides()
    assert names == sorted(SAMPLE_COUNTS)
    assert sum(len(load_replay(n)) for n in names) >= 150


def counts(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: summary[k] for k in ("received", "spoken", "spoken_by_reason", "skipped", "rejected")}


@pytest.mark.slow
async def test_village_street_replays_to_its_decisions(sim: Any, tmp_path: Path) -> None:
    engine = await sim_engine(sim)
    store = Store(tmp_path / "nuanu.db").open()
    recorder = RideRecorder(tmp_path / "ride.jsonl")
    try:
        session_id = store.start_session("ride", "village")
        session = await replay(
            engine, "village_street", recorder=recorder, store=store, session_id=session_id
        )
    finally:
        await engine.aclose()
    summary = session.tally.summary()
    assert counts(summary) == SAMPLE_COUNTS["village_street"]
    assert adds_up(summary)
    spoken = [d for d in session.decisions if d.decision == "spoken"]
    # every spoken event became an utterance that reached the ear; nothing skipped reached the engine
    assert {d.utterance_id for d in spoken} == {r.utterance_id for r in session.results}
    assert len(engine.results) == len(spoken)
    assert all(r.stages_ms["first_audio"] is not None for r in session.results)
    assert summary["event_to_first_audio"]["n"] == len(spoken)
    barge = next(d for d in spoken if d.reason == "barge_in")
    assert barge.event is not None and barge.event.priority == "safety"
    rows = store.ride_events(session_id)
    store.close()
    assert [(r["decision"], r["reason"]) for r in rows] == [(d.decision, d.reason) for d in session.decisions]
    assert {r["utterance_id"] for r in rows if r["decision"] == "spoken"} == {d.utterance_id for d in spoken}
    # the recording replays to the same decisions
    recorded = replay_items((tmp_path / "ride.jsonl").read_text(encoding="utf-8"))
    assert len(recorded) == summary["received"] - summary["rejected"].get("malformed", 0) + sum(
        1 for d in session.decisions if d.raw is not None
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SAMPLE_COUNTS))
async def test_each_sample_ride_gives_the_same_decisions_twice(sim: Any, name: str) -> None:
    engine = await sim_engine(sim)
    try:
        first = await replay(engine, name)
        second = await replay(engine, name)
    finally:
        await engine.aclose()
    assert counts(first.tally.summary()) == SAMPLE_COUNTS[name]
    assert decisions(first) == decisions(second)
    assert adds_up(second.tally.summary())


@pytest.mark.slow
def test_ride_cli_writes_a_report_that_adds_up_and_repeats(sim_env: dict[str, str], tmp_path: Path) -> None:
    reports = []
    for i in (1, 2):
        out = tmp_path / f"out{i}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "nuanu_tui", "ride", "--replay", "assets/rides/market_in_rain.jsonl",
             "--demo", "--speed", "max", "--audio", "null", "--json", str(out)],
            env=sim_env, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        reports.append(json.loads(out.read_text(encoding="utf-8")))
        assert "received 50: spoken 8" in proc.stdout
        assert Path(reports[-1]["recording"]).is_file()
        assert Path(reports[-1]["recording"]).parent == Path(os.environ["NUANU_DATA_DIR"]) / "rides"
    a, b = reports
    assert counts(a["summary"]) == SAMPLE_COUNTS["market_in_rain"]
    assert adds_up(a["summary"])
    key = [(e["decision"], e["reason"], e["trigger"]) for e in a["events"]]
    assert key == [(e["decision"], e["reason"], e["trigger"]) for e in b["events"]]
    assert len(a["events"]) == 50
    assert {u["utterance_id"] for u in a["utterances"]} == {
        e["utterance_id"] for e in a["events"] if e["decision"] == "spoken"
    }
    first = a["utterances"][0]
    assert first["started_at"] > 0 and first["stages_ms"]["event_age"] is not None
    e2a = a["summary"]["event_to_first_audio"]
    assert e2a["n"] == 8 and e2a["p50"] <= e2a["p95"] <= e2a["max"]


@pytest.mark.slow
async def test_a_replay_at_4x_runs_on_the_recording_clock(sim: Any, tmp_path: Path) -> None:
    """At 4x, one second of the recording passes in a quarter second: the safety event (2 s in) still meets
    the first remark playing and barges in; the cow that waited behind it has grown stale by then."""
    t0 = 1796160000.0
    ride = tmp_path / "short.jsonl"
    ride.write_text(
        "\n".join(
            json.dumps(e)
            for e in (
                {"id": "dog", "ts": t0, "label": "dog", "count": 2, "side": "left"},
                {"id": "cow", "ts": t0 + 1.0, "label": "cow", "side": "right"},
                {"id": "kid", "ts": t0 + 2.0, "label": "child", "side": "ahead", "priority": "safety"},
            )
        ),
        encoding="utf-8",
    )
    engine = await sim_engine(sim)
    try:
        session = RideSession(engine, Director(), clock=RideClock(4.0))
        await session.run(replay=load_replay(str(ride)))
    finally:
        await engine.aclose()
    assert [(d.id, d.decision, d.reason) for d in session.decisions] == [
        ("dog", "spoken", "ok"),
        ("kid", "spoken", "barge_in"),
        ("cow", "skipped", "stale"),
    ]
    assert [r.error_kind for r in session.results] == ["cancelled", None]
    assert adds_up(session.tally.summary())


@pytest.mark.slow
def test_a_live_ride_stopped_by_sigterm_still_writes_its_report(
    sim_env: dict[str, str], tmp_path: Path
) -> None:
    import signal
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "live.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "nuanu_tui", "ride", "--udp", str(port), "--audio", "null", "--json", str(out)],
        env=sim_env, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # wait for the listener, not for a guessed time
            if line.startswith("ride: listening on udp"):
                break
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b'{"label": "dog", "count": 2, "side": "left"}', ("127.0.0.1", port))
            s.sendto(b'{"label": "dog", "count": "2"}', ("127.0.0.1", port))
        proc.send_signal(signal.SIGTERM)  # whenever it comes, the report is written and adds up
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    report = json.loads(out.read_text(encoding="utf-8"))
    summary = report["summary"]
    assert adds_up(summary) and summary["received"] <= 2 and len(report["events"]) == summary["received"]
    assert Path(report["recording"]).is_file()
    assert all(e["decision"] in ("spoken", "skipped", "rejected") for e in report["events"])
