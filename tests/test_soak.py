"""Soak (issue #6): 300 utterances with seeded random LLM and TTS faults in about 20 % of them.

The engine must stay alive, record every utterance, and end with the same sockets and asyncio tasks it
started with and a bounded RSS. Run with `-s` to see the numbers.
"""

# ruff: noqa: F811 - the shared fixtures are imported from tests/test_fault_matrix.py by name

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.health import HealthBoard
from nuanu_tui.sim import LLMFault, SimThread, TTSFault
from nuanu_tui.sim.profiles import LLMProfile, ProfileSet, TTSProfile
from tests.conftest import needs_proc
from tests.test_fault_matrix import (
    build_engine,
    engines,  # noqa: F401 - fixture
    field_settings,
    server_close_sockets,
    task_count,
    wait_backoff,
)
from tests.waiting import until

UTTERANCES = 300
FAULT_RATE = 0.2
SEED = 20261126
ZERO_PROFILE = ProfileSet(
    name="soak",
    groq=LLMProfile(ttft_ms=0.0, token_interval_ms=0.0),
    openai=LLMProfile(ttft_ms=0.0, token_interval_ms=0.0),
    tts=TTSProfile(first_audio_ms=0.0, chunk_interval_ms=0.0, chunk_ms=100.0),
)

LLM_FAULTS: list[LLMFault] = [
    LLMFault("status", status=500),
    LLMFault("status", status=503),
    LLMFault("status", status=401),
    LLMFault("status", status=429, retry_after=30),
    LLMFault("drop", after_tokens=1),
    LLMFault("malformed", after_tokens=1),
    LLMFault("empty"),
    LLMFault("hang", hang_s=0.6),  # beyond the 250 ms TTFT budget: the deadline fails over
]
TTS_FAULTS: list[TTSFault] = [
    TTSFault("close_1011", after_frames=1),
    TTSFault("drop", after_frames=2),
    TTSFault("malformed", after_frames=1),
    TTSFault("unknown_context", after_frames=1),
    TTSFault("reject", status=500),
    TTSFault("quota"),
    TTSFault("input_timeout", after_s=0.0),
]


class CountingSink(NullSink):
    """Accepts samples at once and only counts them, so the soak measures the engine, not a recording."""

    def __init__(self) -> None:
        super().__init__(name="counting")
        self.samples = 0

    def write(self, pcm: bytes) -> None:
        self.samples += len(pcm) // 2

    def drain(self) -> None:
        return None


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture(scope="module")
def soak_thread() -> Iterator[SimThread]:
    thread = SimThread(profile=ZERO_PROFILE, reply_fn=lambda trigger, model: "Ого, слон!")
    thread.start()
    yield thread
    thread.stop()


async def run_soak(thread: SimThread, engine: Engine, rng: random.Random) -> dict[str, Any]:
    server = thread.server
    injected: Counter[str] = Counter()
    results = []
    for i in range(UTTERANCES):
        if rng.random() < FAULT_RATE:
            if rng.random() < 0.5:
                fault = rng.choice(LLM_FAULTS)
                server.faults.next_llm(fault)
                injected[
                    f"llm:{fault.kind}:{fault.status if fault.kind == 'status' else ''}".rstrip(":")
                ] += 1
            else:
                tts_fault = rng.choice(TTS_FAULTS)
                server.faults.next_tts(tts_fault)
                injected[f"tts:{tts_fault.kind}"] += 1
                if server.open_sockets:  # the next utterance must open a new connection to meet it
                    server_close_sockets(thread)
                    await until(lambda: engine.tts.state != "connected")
        results.append(await engine.say(f"камера, объект номер {i}"))
        server.faults.clear()  # an unused fault (e.g. a TTS fault during the reconnect backoff) expires
        forget_emulator_logs(thread)
    return {"results": results, "injected": injected}


def forget_emulator_logs(thread: SimThread) -> None:
    """The emulator runs in this process and keeps every request and every byte of audio it sent, for
    other tests to inspect; drop them so the RSS figure is the engine's own."""
    server = thread.server
    for log in (server._audio, server._encoded):
        for key in [k for k in log if k != "nuanu-keepalive"]:
            log.pop(key, None)
    server.requests.clear()
    server.ws_messages.clear()


@pytest.mark.slow
@needs_proc
async def test_soak_300_utterances_with_random_faults(soak_thread: SimThread, engines: list[Engine]) -> None:
    server = soak_thread.server
    server.faults.clear()
    sink = CountingSink()
    settings = field_settings(
        server, strict=False, ttft_budget_ms=250.0, read_timeout=1.0, connect_timeout=1.0
    )
    engine = await build_engine(settings, sink)
    engines.append(engine)
    engine.health = HealthBoard(probe_min_s=0.05, probe_max_s=0.2)
    for _ in range(5):  # warm steady state: every lazily built part exists
        assert (await engine.say("камера, пальма")).ok
    server.faults.next_tts("reject", status=500)  # ... the espeak fallback and its resampler too
    server_close_sockets(soak_thread)
    await until(lambda: engine.tts.state != "connected")
    assert (await engine.say("камера, пальма")).ok
    await wait_backoff(engine)
    assert (await engine.say("камера, пальма")).ok
    forget_emulator_logs(soak_thread)
    await until(lambda: server.open_sockets == 1 and not engine.status().unavailable)
    tasks_start, sockets_start, rss_start = task_count(), server.open_sockets, rss_kb()
    recorded_before = len(engine.results)

    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome = await run_soak(soak_thread, engine, random.Random(SEED))
    elapsed = loop.time() - started

    results = outcome["results"]
    assert len(results) == UTTERANCES
    assert len(engine.results) - recorded_before == UTTERANCES  # every utterance recorded
    for result in results:
        assert result.ok or result.error_kind, result
        if result.error:
            assert "\n" not in result.error and "Traceback" not in result.error
    # back to steady state: no provider left unavailable, so no probe task remains
    ok_after = await engine.say("камера, финиш")
    assert ok_after.ok, ok_after.error
    await until(lambda: not engine.status().unavailable, timeout=10.0)
    await until(lambda: server.open_sockets == sockets_start, timeout=10.0)
    await until(lambda: task_count() == tasks_start, timeout=10.0)
    tasks_end, sockets_end, rss_end = task_count(), server.open_sockets, rss_kb()

    ok = sum(r.ok for r in results)
    clean = sum(r.ok and not r.degraded for r in results)
    kinds = Counter(r.error_kind for r in results if r.error_kind)
    failed = Counter(r.error_kind for r in results if not r.ok)
    print(
        f"\nsoak: {UTTERANCES} utterances in {elapsed:.1f} s, faults injected {sum(outcome['injected'].values())}"
        f" {dict(sorted(outcome['injected'].items()))}"
        f"\nsoak: ok {ok} (clean {clean}, degraded {ok - clean}), failed {UTTERANCES - ok} {dict(failed)}"
        f"\nsoak: error kinds recorded {dict(sorted(kinds.items()))}"
        f"\nsoak: RSS {rss_start / 1024:.1f} -> {rss_end / 1024:.1f} MB ({(rss_end - rss_start) / 1024:+.1f} MB),"
        f" tasks {tasks_start} -> {tasks_end}, sockets {sockets_start} -> {sockets_end},"
        f" audio {sink.samples / engine.player.sample_rate:.0f} s"
    )
    assert tasks_end == tasks_start and sockets_end == sockets_start
    assert rss_end - rss_start < 20 * 1024
    assert ok >= UTTERANCES * 0.9  # failover and the espeak fallback keep the shuttle talking
