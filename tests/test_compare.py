"""Compare mode: both lanes start together, the faster one is heard and wins, the tally adds up.

End-to-end through the emulator with different injected TTFTs per model (Groq 8B 60 ms, GPT-4o-mini
250 ms). Each model answers with its own text (same first clause, different length), so which lane's audio
ended up in which output is checked byte for byte against what the emulator sent per context.
"""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from nuanu_tui.core.audio.player import Player
from nuanu_tui.core.audio.wav_sink import WavSink
from nuanu_tui.core.compare import (
    AudioClaim,
    CompareConfig,
    CompareFinished,
    CompareSession,
    CompareStarted,
    LaneAudible,
    LaneEvent,
    Tally,
    default_lanes,
)
from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.errors import ConfigError, NuanuError
from nuanu_tui.core.events import StageReached, UtteranceFinished, UtteranceStarted
from nuanu_tui.core.timeline import STAGES, UtteranceResult
from nuanu_tui.sim import SimThread
from nuanu_tui.sim.profiles import LLMProfile, ProfileSet, TTSProfile
from tests.conftest import FAKE_KEYS

FAST = "groq/llama-3.1-8b-instant"
SLOW = "openai/gpt-4o-mini"
FAST_TTFT_MS = 60.0
SLOW_TTFT_MS = 250.0
TOKEN_MS = 4.0
PROFILE = ProfileSet(
    name="compare",
    groq=LLMProfile(ttft_ms=FAST_TTFT_MS, token_interval_ms=TOKEN_MS),
    openai=LLMProfile(ttft_ms=SLOW_TTFT_MS, token_interval_ms=TOKEN_MS),
    tts=TTSProfile(first_audio_ms=40.0, chunk_interval_ms=5.0, chunk_ms=100.0),
    models=(
        ("8b", LLMProfile(ttft_ms=FAST_TTFT_MS, token_interval_ms=TOKEN_MS)),
        ("gpt-4o-mini", LLMProfile(ttft_ms=SLOW_TTFT_MS, token_interval_ms=TOKEN_MS)),
    ),
)
# same first clause (same flush point, so TTFA differs by the TTFT difference), different lengths
REPLIES = {
    "llama-3.1-8b-instant": "Вот это да, собака!",
    "gpt-4o-mini": "Вот это да, собака и кот на мопеде!",
}
TRIGGER = "две собаки слева"


def reply(trigger: str, model: str) -> str:
    return REPLIES.get(model, "Вот это да, кто-то ещё!")


def short_voice(text: str, rate: int) -> bytes:
    """12 ms of a tone per character: non-silent, deterministic, and short so rounds stay quick."""
    n = int(rate * 0.012) * len(text)
    return (np.sin(np.arange(n) * 2 * np.pi * 220.0 / rate) * 8000).astype("<i2").tobytes()


@pytest.fixture(scope="module")
def csim() -> Iterator[object]:
    thread = SimThread(profile=PROFILE, reply_fn=reply, speech_fn=short_voice)
    server = thread.start()
    yield server
    thread.stop()


class Rig:
    """An engine on the emulator: main player writes `main.wav`; the silent lane goes to `silent.wav`."""

    def __init__(self, engine: Engine, silent: Player, main_path: Path, silent_path: Path) -> None:
        self.engine = engine
        self.silent = silent
        self.main_path = main_path
        self.silent_path = silent_path
        self.silent_calls = 0

    async def close(self) -> tuple[bytes, bytes]:
        """Close both outputs and return (main, silent) WAV frames."""
        await self.engine.aclose()
        await asyncio.to_thread(self.silent.close)
        return wav_frames(self.main_path), wav_frames(self.silent_path)


MakeRig = Callable[..., Awaitable[Rig]]


def wav_frames(path: Path) -> bytes:
    """A WAV sink that was handed no audio creates no file (it never replaces a recording with silence)."""
    if not path.exists():
        return b""
    with wave.open(str(path), "rb") as w:
        return w.readframes(w.getnframes())


@pytest.fixture
async def make_rig(csim: object, tmp_path: Path) -> AsyncIterator[MakeRig]:
    rigs: list[Rig] = []

    async def make(failover: str = "auto") -> Rig:
        settings = Settings().model_copy(
            update={
                "failover": failover,
                "groq_base_url": csim.groq_base_url,  # type: ignore[attr-defined]
                "openai_base_url": csim.openai_base_url,  # type: ignore[attr-defined]
                "elevenlabs_base_url": csim.elevenlabs_base_url,  # type: ignore[attr-defined]
                "groq_api_key": SecretStr(FAKE_KEYS["GROQ_API_KEY"]),
                "openai_api_key": SecretStr(FAKE_KEYS["OPENAI_API_KEY"]),
                "elevenlabs_api_key": SecretStr(FAKE_KEYS["ELEVENLABS_API_KEY"]),
            }
        )
        main_path, silent_path = tmp_path / f"main{len(rigs)}.wav", tmp_path / f"silent{len(rigs)}.wav"
        engine = await Engine.create(settings, llm=FAST, tts="elevenlabs", audio=f"wav:{main_path}")
        silent = Player(WavSink(str(silent_path)))
        silent.start(engine.tts.format.sample_rate)
        rig = Rig(engine, silent, main_path, silent_path)

        def silent_player() -> Player:  # the engine's silent output, but one we can listen to afterwards
            rig.silent_calls += 1
            return silent

        engine.silent_player = silent_player  # type: ignore[method-assign]
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        await rig.engine.aclose()
        await asyncio.to_thread(rig.silent.close)


def sent(sim: object, result: UtteranceResult) -> bytes:
    audio = sim.sent_audio[result.utterance_id]  # type: ignore[attr-defined]
    assert audio, result.utterance_id
    return audio


# --- unit: config, tally, claim --------------------------------------------------------------------------
def test_default_lanes_are_first_groq_preset_and_gpt() -> None:
    assert default_lanes() == ("groq/llama-3.3-70b-versatile", "openai/gpt-4o-mini")
    config = CompareConfig()
    assert config.lanes == default_lanes() and config.audible is None and config.sequential is False


@pytest.mark.parametrize(
    "config",
    [
        CompareConfig(lanes=("groq/x", "gemini-pro")),
        CompareConfig(lanes=("groq/x",)),  # type: ignore[arg-type]
        CompareConfig(audible=2),
        CompareConfig(tie_ms=-1.0),
    ],
)
def test_bad_config_is_one_line_config_error(config: CompareConfig) -> None:
    with pytest.raises(ConfigError) as err:
        config.validate()
    assert "\n" not in err.value.message


def result(
    ttfa: float | None, ttft: float | None = 10.0, error: str | None = None, degraded: bool = False
) -> UtteranceResult:
    r = UtteranceResult(trigger="t", llm="x/y", tts="z", degraded=degraded)
    r.stages_ms = dict.fromkeys(STAGES)
    r.stages_ms["ttft"], r.stages_ms["first_audio"] = ttft, ttfa
    r.error, r.error_kind = error, ("llm" if error else None)
    return r


def test_tally_wins_ties_failures_and_medians() -> None:
    tally = Tally(("a/1", "b/2"), tie_ms=1.0)
    assert tally.add((result(100.0, 50.0), result(300.0, 200.0))) == ("win", 0)
    assert tally.add((result(400.0, 60.0), result(200.0, 150.0))) == ("win", 1)
    assert tally.add((result(120.0, 70.0), result(120.5, 210.0))) == ("tie", None)  # within 1 ms
    assert tally.add((result(None, None, "boom"), result(900.0, 220.0))) == ("win", 1)  # failed loses
    assert tally.add((result(110.0, 55.0), result(None, None, "boom"))) == ("win", 0)
    assert tally.add((result(None, None, "x"), result(None, None, "y"))) == ("void", None)
    assert tally.rounds == 6 and tally.wins == [2, 2] and tally.ties == 1 and tally.void == 1
    assert tally.errors == [2, 2]
    # medians over successful lanes only
    assert tally.median(0, "ttft") == pytest.approx(np.median([50, 60, 70, 55]))
    assert tally.median(1) == pytest.approx(np.median([300, 200, 120.5, 900]))
    diff = tally.diff("ttft")
    assert diff.delta_ms == pytest.approx(diff.b_ms - diff.a_ms)  # type: ignore[operator]
    assert diff.ratio == pytest.approx(diff.b_ms / diff.a_ms)  # type: ignore[operator]
    snap = tally.copy()
    tally.add((result(1.0), result(2.0)))
    assert snap.rounds == 6 and len(snap.samples[0]["ttft"]) == 4  # the snapshot does not move
    assert Tally(("a/1", "b/2")).diff().delta_ms is None


def test_tally_degraded_lane_loses_and_stays_out_of_medians() -> None:
    tally = Tally(("a/1", "b/2"))
    # lane 0 was answered by a failover provider: faster on paper, but not its own path
    assert tally.add((result(50.0, 20.0, degraded=True), result(300.0, 200.0))) == ("win", 1)
    assert tally.degraded == [1, 0] and tally.errors == [0, 0]
    assert tally.median(0) is None and tally.median(1) == 300.0


def test_audio_claim_first_caller_gets_main_or_fixed_lane() -> None:
    main, silent = object(), object()
    claims: list[int] = []
    claim = AudioClaim(main, lambda: silent, on_claim=claims.append)  # type: ignore[arg-type]
    lane0, lane1 = claim.for_lane(0), claim.for_lane(1)
    assert lane1() is main and lane0() is silent
    assert claim.lane == 1 and claims == [1]
    fixed = AudioClaim(main, lambda: silent, fixed=0)  # type: ignore[arg-type]
    assert fixed.for_lane(1)() is silent and fixed.for_lane(0)() is main and fixed.lane == 0


# --- end to end through the emulator -----------------------------------------------------------------------
@pytest.mark.slow
async def test_parallel_rounds_start_together_fast_lane_wins_and_is_heard(
    make_rig: MakeRig, csim: object
) -> None:
    rig = await make_rig()
    session = CompareSession(rig.engine, CompareConfig(lanes=(FAST, SLOW)))
    events: list[object] = []
    rounds = [await session.run(TRIGGER, events.append) for _ in range(3)]
    main, silent = await rig.close()

    for r in rounds:
        a, b = r.results
        assert a.ok and b.ok, (a.error, b.error)
        assert (a.llm, b.llm) == (FAST, SLOW)
        # concurrency: both pipelines started within a few ms, well before either produced anything
        assert r.start_skew_ms < 50 and r.call_skew_ms < 50
        assert abs(a.started_at - b.started_at) < 0.05
        assert all(r.t0_ns) and all(r.call_ns)
        assert max(r.t0_ns) < min(r.end_ns)  # the second lane started before the first one ended
        assert r.outcome == "win" and r.winner == 0 and r.audible == 0
        assert a.source == b.source == "compare" and a.run_id == b.run_id == r.run_id
    assert len({r.run_id for r in rounds}) == 3

    tally = session.tally
    assert tally.rounds == 3 and tally.wins == [3, 0] and tally.ties == 0 and tally.errors == [0, 0]
    ttft_a, ttft_b = tally.median(0, "ttft"), tally.median(1, "ttft")
    assert ttft_a is not None and ttft_b is not None
    # correctness, not speed: never below the injected delay, and only a loaded machine's noise above it
    assert FAST_TTFT_MS <= ttft_a <= FAST_TTFT_MS + 60
    assert SLOW_TTFT_MS <= ttft_b <= SLOW_TTFT_MS + 60
    gap = SLOW_TTFT_MS - FAST_TTFT_MS
    assert tally.diff("ttft").delta_ms == pytest.approx(gap, abs=45)
    # same first clause on both lanes, the silent lane paced like the heard one: TTFA gap = TTFT gap
    ttfa = tally.diff("first_audio")
    assert ttfa.a_ms is not None and ttfa.a_ms < ttfa.b_ms  # type: ignore[operator]
    assert ttfa.delta_ms == pytest.approx(gap, abs=60)
    assert ttfa.ratio is not None and ttfa.ratio > 1.5

    # the main player got exactly the fast lane's audio each round, the silent one the slow lane's
    assert main == b"".join(sent(csim, r.results[0]) for r in rounds)
    assert silent == b"".join(sent(csim, r.results[1]) for r in rounds)
    assert len(main) // 2 / 24000 == pytest.approx(sum(r.results[0].audio_seconds for r in rounds))
    assert rig.silent_calls == 3

    # events: a start, both lanes' pipeline events, one audible claim and a finish per round
    started = [e for e in events if isinstance(e, CompareStarted)]
    finished = [e for e in events if isinstance(e, CompareFinished)]
    audible = [e for e in events if isinstance(e, LaneAudible)]
    assert [e.round for e in started] == [e.round for e in finished] == [1, 2, 3]
    assert [(e.round, e.lane) for e in audible] == [(1, 0), (2, 0), (3, 0)]
    assert [e.tally.rounds for e in finished] == [1, 2, 3]
    assert finished[-1].start_skew_ms == rounds[-1].start_skew_ms and finished[-1].winner == 0
    lane_events = [e for e in events if isinstance(e, LaneEvent)]
    for lane, r in enumerate(rounds[0].results):
        mine = [e.event for e in lane_events if e.lane == lane and e.round == 1]
        assert isinstance(mine[0], UtteranceStarted) and mine[0].utterance_id == r.utterance_id
        assert isinstance(mine[-1], UtteranceFinished) and mine[-1].result is r
        assert any(isinstance(ev, StageReached) and ev.stage == "first_audio" for ev in mine)


async def test_fixed_audible_lane_is_honoured(make_rig: MakeRig, csim: object) -> None:
    rig = await make_rig()
    session = CompareSession(rig.engine, CompareConfig(lanes=(FAST, SLOW), audible=1))
    r = await session.run(TRIGGER)
    main, silent = await rig.close()
    assert r.results[0].ok and r.results[1].ok
    assert r.audible == 1
    assert main == sent(csim, r.results[1])  # the slow lane is heard because the operator chose it
    assert silent == sent(csim, r.results[0])
    assert r.winner == 0  # the silent lane is measured the same way, so it still wins on TTFA


@pytest.mark.slow
async def test_sequential_runs_one_after_the_other_alternating_order_both_heard(
    make_rig: MakeRig, csim: object
) -> None:
    rig = await make_rig()
    session = CompareSession(rig.engine, CompareConfig(lanes=(FAST, SLOW), sequential=True))
    first = await session.run(TRIGGER)
    second = await session.run(TRIGGER)
    main, silent = await rig.close()

    assert first.order == (0, 1) and second.order == (1, 0)
    for r in (first, second):
        lead, follow = r.order
        assert r.results[0].ok and r.results[1].ok
        assert r.audible is None and r.sequential
        # the second lane starts only once the first one has finished playing
        assert r.t0_ns[follow] >= r.end_ns[lead]
        done_ms = r.results[lead].stages_ms["playback_done"]
        assert done_ms is not None and r.start_skew_ms >= done_ms
    assert first.winner == second.winner == 0
    assert session.tally.wins == [2, 0]
    # both lanes went to the speaker, in play order; nothing went to the silent output
    plays = [first.results[0], first.results[1], second.results[1], second.results[0]]
    assert main == b"".join(sent(csim, r) for r in plays)
    assert silent == b"" and rig.silent_calls == 0
    assert not rig.silent_path.exists()


@pytest.mark.parametrize("bad_lane", [0, 1])
async def test_failing_lane_loses_and_does_not_break_the_other(
    bad_lane: int, make_rig: MakeRig, csim: object
) -> None:
    rig = await make_rig(failover="off")  # the lane's own 404 surfaces as its error
    lanes = [FAST, SLOW]
    lanes[bad_lane] = "openai/no-such-model" if bad_lane else "groq/no-such-model"
    good = 1 - bad_lane
    session = CompareSession(rig.engine, CompareConfig(lanes=(lanes[0], lanes[1])))
    events: list[object] = []
    r = await session.run(TRIGGER, events.append)
    main, _silent = await rig.close()

    assert not r.results[bad_lane].ok and r.results[bad_lane].error_kind == "llm_model_not_found"
    assert r.results[good].ok and r.results[good].stages_ms["playback_done"] is not None
    assert r.outcome == "win" and r.winner == good and r.audible == good
    assert main == sent(csim, r.results[good])
    tally = session.tally
    assert tally.wins[good] == 1 and tally.wins[bad_lane] == 0
    assert tally.errors[bad_lane] == 1 and tally.errors[good] == 0
    assert tally.median(bad_lane) is None and tally.median(good) is not None
    finished = [e for e in events if isinstance(e, CompareFinished)]
    assert len(finished) == 1 and finished[0].results == r.results


async def test_lane_rescued_by_failover_still_loses(make_rig: MakeRig) -> None:
    rig = await make_rig(failover="auto")  # the bad lane gets answered by another provider: degraded
    session = CompareSession(rig.engine, CompareConfig(lanes=("groq/no-such-model", SLOW)))
    r = await session.run(TRIGGER)
    bad, good = r.results
    assert good.ok and not good.degraded
    assert not bad.ok or bad.degraded  # either way it did not measure groq/no-such-model
    assert r.winner == 1 and session.tally.wins == [0, 1]
    assert session.tally.median(0) is None


async def test_interrupt_cancels_both_lanes_and_the_round_is_not_counted(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig()
    session = CompareSession(rig.engine, CompareConfig(lanes=(FAST, SLOW)))
    finished_lanes: list[int] = []

    def on_event(event: object) -> None:
        if isinstance(event, LaneAudible):
            session.interrupt()  # as an operator pressing stop once audio starts
        if isinstance(event, LaneEvent) and isinstance(event.event, UtteranceFinished):
            assert event.event.result.error_kind == "cancelled"
            finished_lanes.append(event.lane)

    with pytest.raises(NuanuError) as err:
        await session.run(TRIGGER, on_event)
    assert err.value.kind == "cancelled"
    assert sorted(finished_lanes) == [0, 1]
    assert session.tally.rounds == 0 and session.rounds == [] and not session.busy
    again = await session.run(TRIGGER)  # the session is usable right after
    assert again.round == 1 and again.results[0].ok and again.results[1].ok


async def test_empty_trigger_is_refused_before_anything_runs(make_rig: MakeRig) -> None:
    rig = await make_rig()
    session = CompareSession(rig.engine, CompareConfig(lanes=(FAST, SLOW)))
    with pytest.raises(NuanuError) as err:
        await session.run("   ")
    assert err.value.kind == "input"
    assert rig.engine.results == [] and session.tally.rounds == 0


async def test_new_lanes_start_a_new_tally(make_rig: MakeRig) -> None:
    rig = await make_rig()
    session = CompareSession(rig.engine, CompareConfig(lanes=(FAST, SLOW)))
    await session.run(TRIGGER)
    session.configure(CompareConfig(lanes=(FAST, SLOW), audible=1))  # same lanes: score kept
    assert session.tally.rounds == 1
    session.configure(CompareConfig(lanes=(SLOW, FAST)))
    assert session.tally.rounds == 0 and session.tally.lanes == (SLOW, FAST) and session.rounds == []
