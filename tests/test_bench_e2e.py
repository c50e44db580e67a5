"""A bench against the emulator: two providers with different injected latency come out in the right order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from pydantic import SecretStr

from nuanu_tui.core.bench import BenchConfig, run_bench
from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.store import Store
from nuanu_tui.core.triggers import SEED_TRIGGERS
from nuanu_tui.sim import SimThread
from nuanu_tui.sim.profiles import LLMProfile, ProfileSet, TTSProfile
from tests.conftest import FAKE_KEYS

pytestmark = pytest.mark.slow

FAST = LLMProfile(ttft_ms=60.0, token_interval_ms=2.0)
SLOW = LLMProfile(ttft_ms=260.0, token_interval_ms=12.0)
TTS_MS = 40.0
PROFILE = ProfileSet(
    name="bench-e2e",
    groq=FAST,
    openai=SLOW,
    tts=TTSProfile(first_audio_ms=TTS_MS, chunk_interval_ms=5.0, chunk_ms=100.0),
    models=(("8b", FAST), ("gpt-4o-mini", SLOW)),
)
GROQ, GPT = "groq/llama-3.1-8b-instant", "openai/gpt-4o-mini"


def short_speech(_text: str, rate: int) -> bytes:
    t = np.arange(int(rate * 0.15)) / rate
    return (np.sin(2 * np.pi * 200 * t) * 2000).astype(np.int16).tobytes()


@pytest.fixture(scope="module")
def sim() -> Iterator[object]:
    thread = SimThread(profile=PROFILE, speech_fn=short_speech)
    server = thread.start()
    yield server
    thread.stop()


def sim_settings(sim: object) -> Settings:
    """Every provider pointed at the module's emulator, strict (no failover)."""
    return Settings().model_copy(
        update={
            "groq_base_url": sim.groq_base_url,  # type: ignore[attr-defined]
            "openai_base_url": sim.openai_base_url,  # type: ignore[attr-defined]
            "elevenlabs_base_url": sim.elevenlabs_base_url,  # type: ignore[attr-defined]
            "groq_api_key": SecretStr(FAKE_KEYS["GROQ_API_KEY"]),
            "openai_api_key": SecretStr(FAKE_KEYS["OPENAI_API_KEY"]),
            "elevenlabs_api_key": SecretStr(FAKE_KEYS["ELEVENLABS_API_KEY"]),
            "failover": "off",
        }
    )


async def test_bench_medians_follow_injected_latencies(sim: object, tmp_path: object) -> None:
    settings = sim_settings(sim)
    engine = await Engine.create(settings, llm=GROQ, tts="elevenlabs", audio="null")
    store = Store(str(tmp_path) + "/bench.db").open()  # type: ignore[operator]
    try:
        config = BenchConfig(llms=[GROQ, GPT], triggers=list(SEED_TRIGGERS), runs=4, tts=engine.tts.spec)
        result = await run_bench(engine, config, store=store)
    finally:
        await engine.aclose()
    assert result.status == "done"
    assert len(result.runs) == 8 and all(r.ok for r in result.runs), [r.error for r in result.runs]
    fast, slow = result.summary[GROQ], result.summary[GPT]
    assert fast.ok == slow.ok == 4
    for stage in ("ttft", "first_flush", "first_audio_byte", "first_audio"):
        assert fast.stages[stage].p50 < slow.stages[stage].p50, stage
    # medians sit just above what was injected (our overhead is milliseconds, not tens of them)
    assert FAST.ttft_ms <= fast.stages["ttft"].p50 <= FAST.ttft_ms + 40
    assert SLOW.ttft_ms <= slow.stages["ttft"].p50 <= SLOW.ttft_ms + 40
    gap = slow.stages["ttft"].p50 - fast.stages["ttft"].p50
    assert abs(gap - (SLOW.ttft_ms - FAST.ttft_ms)) < 40
    for spec in (fast, slow):
        tts_part = spec.stages["first_audio_byte"].p50 - spec.stages["first_flush"].p50
        assert TTS_MS - 5 <= tts_part <= TTS_MS + 40
    store.flush(timeout=5)
    assert len(store.utterances(run_id=result.run_id)) == 8
    store.close()


async def test_bench_crosses_prompts_and_stores_quality(sim: object, tmp_path: object) -> None:
    """Two LLMs × two prompts on the emulator: each request carries its prompt's text, each configuration is
    summarised apart with its rubric, and the database keeps prompt and quality (filterable by flag)."""
    from nuanu_tui.core.llm.prompt_files import shipped_prompts

    settings = sim_settings(sim)
    engine = await Engine.create(settings, llm=GROQ, tts="elevenlabs", audio="null")
    store = Store(str(tmp_path) + "/bench.db").open()  # type: ignore[operator]
    before = len(sim.requests)  # type: ignore[attr-defined]
    try:
        config = BenchConfig(
            llms=[GROQ, GPT],
            triggers=list(SEED_TRIGGERS),
            runs=2,
            tts=engine.tts.spec,
            prompts=["default", "minimal"],
        )
        result = await run_bench(engine, config, store=store)
    finally:
        await engine.aclose()
    assert result.status == "done" and len(result.runs) == 8
    keys = [f"{GROQ} · default@1", f"{GROQ} · minimal@1", f"{GPT} · default@1", f"{GPT} · minimal@1"]
    assert list(result.summary) == keys
    assert [r.prompt for r in result.runs[:4]] == ["default@1", "minimal@1", "default@1", "minimal@1"]
    shipped = shipped_prompts()
    sent = [b for b in list(sim.requests)[before:] if b.get("stream")]  # type: ignore[attr-defined]
    systems = {b["messages"][0]["content"] for b in sent}
    assert systems == {shipped["default"].system, shipped["minimal"].system}
    assert {b["max_tokens"] for b in sent if b["messages"][0]["content"] == shipped["minimal"].system} == {48}
    for key in keys:
        quality = result.summary[key].quality
        assert quality is not None and quality.n == 2 and quality.words_p50 is not None
    assert all(r.quality is not None for r in result.runs)
    store.flush(timeout=5)
    rows = store.utterances(run_id=result.run_id)
    assert [row["prompt"] for row in rows] == [r.prompt for r in result.runs]
    assert [row["quality"] for row in rows] == [r.quality.to_json() for r in result.runs]  # type: ignore[union-attr]
    off = store.utterances(run_id=result.run_id, flag="off_topic")
    assert [row["id"] for row in off] == [
        r.utterance_id for r in result.runs if "off_topic" in r.quality.flags
    ]  # type: ignore[union-attr]
    store.close()
