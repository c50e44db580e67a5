"""An LLM host that accepts TCP and never answers (a real black-hole listener) must not cost seconds:
warm-up never holds the first utterance, a provider that failed warm-up is skipped until the health probe
brings it back, and t0 is when the trigger was accepted, so any wait shows up in the stages."""

from __future__ import annotations

import asyncio
import socket

import pytest
from pydantic import SecretStr

from nuanu_tui.core.clock import now_ns
from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.sim import SimThread
from tests.conftest import E2E_PROFILE, FAKE_KEYS

GROQ = "groq/llama-3.1-8b-instant"
OFFLINE = "offline/phrasebook"


def black_hole_settings(port: int, **update: object) -> Settings:
    """Groq on the black hole, behind it only offline/phrasebook; espeak speaks (no TTS network)."""
    return Settings().model_copy(
        update={
            "groq_api_key": SecretStr(FAKE_KEYS["GROQ_API_KEY"]),
            "groq_base_url": f"http://127.0.0.1:{port}",
            "ttft_budget_ms": 300.0,
            **update,
        }
    )


@pytest.mark.slow
async def test_warm_up_never_holds_the_first_utterance(silent_port: int) -> None:
    # The warm-up may wait 30 s for the black hole; the first utterance must not wait for it.
    settings = black_hole_settings(silent_port, connect_timeout=30.0)
    engine = await Engine.create(settings, llm=GROQ, tts="espeak", audio="null", warm_in_background=True)
    try:
        result = await engine.say("две собаки")
        assert engine._net_warming is not None and not engine._net_warming.done()  # still waiting
    finally:
        await engine.aclose()
    assert result.ok, result.error
    assert result.served_by == OFFLINE and result.degraded
    assert any("no first token within 300 ms" in n for n in result.notices)


@pytest.mark.slow
async def test_failed_warm_up_skips_the_provider_until_the_probe_brings_it_back() -> None:
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    port = hole.getsockname()[1]
    settings = black_hole_settings(port, connect_timeout=0.3)
    engine = await Engine.create(settings, llm=GROQ, tts="espeak", audio="null")
    back = asyncio.Event()
    try:
        assert "llm" in engine.warm_errors  # warm-up waited for the black hole and gave up
        assert GROQ in engine.status().unavailable  # marked at once, not after two failed utterances
        first = await engine.say("две собаки")
        assert first.ok and first.served_by == OFFLINE
        # started on the next link: skipped, not tried and timed out
        assert any(f"{GROQ}: marked unavailable" in n for n in first.notices), first.notices
        assert not any("no first token" in n for n in first.notices)

        # The host comes back (the emulator on the same port): the background probe restores it.
        engine.health.listeners.append(lambda item: item.name == GROQ and item.available and back.set())
        hole.close()
        with SimThread(profile=E2E_PROFILE, port=port):
            await asyncio.wait_for(back.wait(), timeout=60)  # a hang guard, not a timing assertion
            again = await engine.say("две собаки")
        assert again.ok and again.served_by == GROQ and not again.degraded
    finally:
        hole.close()
        await engine.aclose()


@pytest.mark.slow
async def test_t0_is_when_the_trigger_was_accepted() -> None:
    settings = Settings()
    engine = await Engine.create(settings, llm=OFFLINE, tts="espeak", audio="null")
    try:
        accepted = now_ns() - 2_000_000_000  # accepted two seconds ago (start-up, a queue, a dead host...)
        result = await engine.say("две собаки", accepted_ns=accepted)
    finally:
        await engine.aclose()
    assert result.ok
    assert result.wait_ms is not None and result.wait_ms >= 2000.0
    assert result.stages_ms["ttft"] is not None and result.stages_ms["ttft"] >= result.wait_ms
    assert result.stages_ms["first_audio"] is not None and result.stages_ms["first_audio"] >= result.wait_ms


def black_hole_tts_settings(port: int, **update: object) -> Settings:
    """ElevenLabs on the black hole, espeak behind it; the offline phrasebook writes."""
    return Settings().model_copy(
        update={
            "elevenlabs_api_key": SecretStr(FAKE_KEYS["ELEVENLABS_API_KEY"]),
            "elevenlabs_base_url": f"ws://127.0.0.1:{port}",
            "ttft_budget_ms": 300.0,
            **update,
        }
    )


@pytest.mark.slow
async def test_a_dead_tts_host_never_holds_the_first_utterance(silent_port: int) -> None:
    settings = black_hole_tts_settings(silent_port, connect_timeout=30.0)
    engine = await Engine.create(
        settings, llm=OFFLINE, tts="elevenlabs", audio="null", warm_in_background=True
    )
    try:
        result = await engine.say("две собаки")
        assert engine._net_warming is not None and not engine._net_warming.done()  # still connecting
    finally:
        await engine.aclose()
    assert result.ok, result.error
    assert result.voiced_by == ["espeak/ru"] and result.offline and result.degraded
    assert any("not open within 300 ms" in n for n in result.notices), result.notices


@pytest.mark.slow
async def test_a_tts_that_failed_warm_up_is_skipped_at_once(silent_port: int) -> None:
    settings = black_hole_tts_settings(silent_port, connect_timeout=0.3)
    engine = await Engine.create(settings, llm=OFFLINE, tts="elevenlabs", audio="null")
    try:
        assert "tts" in engine.warm_errors
        assert engine.tts.spec in engine.status().unavailable
        result = await engine.say("две собаки")
    finally:
        await engine.aclose()
    assert result.ok and result.voiced_by == ["espeak/ru"]
    assert any(f"{engine.tts.spec} is marked unavailable" in n for n in result.notices), result.notices
