# ruff: noqa: F811 - the shared fixtures are imported from tests/test_fault_matrix.py by name
"""Keep talking (issue #6): LLM failover on deadline and on error, hedging, provider health with probes,
TTS fallback mid-utterance, and WebSocket reconnects — all against the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nuanu_tui.core.engine import Engine
from nuanu_tui.core.health import HealthBoard
from nuanu_tui.core.tts.elevenlabs import ElevenLabsTTS
from nuanu_tui.sim import LLMFault, SimServer, SimThread
from tests.test_fault_matrix import (
    GROQ,
    OPENAI,
    SLOW,
    SLOW_TTFT_MS,
    CaptureSink,
    build_engine,
    engines,  # noqa: F401 - fixture
    field_settings,
    field_thread,  # noqa: F401 - fixture
    fresh_socket,
    fsim,  # noqa: F401 - fixture
    refused_url,  # noqa: F401 - fixture
    server_close_sockets,
    steady,
    task_count,
    wait_backoff,
)
from tests.waiting import until

OFFLINE = "offline/phrasebook"


def llm_tasks(spec: str) -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == f"llm-{spec}" and not t.done()]


# --- LLM failover -----------------------------------------------------------------------------------------


async def test_deadline_fires_and_offline_answers_within_budget(
    fsim: SimServer, engines: list[Engine]
) -> None:
    engine = await build_engine(field_settings(fsim, strict=False, ttft_budget_ms=400.0))
    engines.append(engine)
    await steady(engine, fsim)
    fsim.faults.next_llm("hang", hang_s=2.0)  # groq accepts and never sends a first token
    result = await engine.say("камера, слон на мопеде")
    assert result.ok, result.error
    assert result.served_by == OFFLINE
    assert result.degraded is True
    ttft = result.stages_ms["ttft"]
    assert ttft is not None and ttft <= 400.0 + 250.0
    assert ttft >= 400.0  # it really waited for the budget, not less
    notes = " ".join(result.notices)
    assert OFFLINE in notes and GROQ in notes and "no first token within 400 ms" in notes
    assert result.text and result.stages_ms["playback_done"] is not None


async def test_hedging_first_answer_wins_and_the_slow_one_is_cancelled(
    fsim: SimServer, engines: list[Engine]
) -> None:
    settings = field_settings(
        fsim, strict=False, failover=f"{OPENAI},{OFFLINE}", ttft_budget_ms=3000.0, hedge_ms=100.0
    )
    engine = await build_engine(settings, llm=SLOW)
    engines.append(engine)
    before = await steady(engine, fsim)
    result = await engine.say("камера, слон на мопеде", llm=SLOW)
    assert result.ok, result.error
    assert result.served_by == OPENAI
    ttft = result.stages_ms["ttft"]
    assert ttft is not None and ttft < SLOW_TTFT_MS  # the hedge answered before the slow primary could
    notes = " ".join(result.notices)
    assert SLOW in notes and "hedged" in notes
    assert llm_tasks(SLOW) == []  # the slower attempt was cancelled, not left streaming
    await until(lambda: task_count() == before.tasks)


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        pytest.param({"status": 401}, "401", id="401"),
        pytest.param({"status": 500}, "500", id="500"),
        pytest.param(None, "connection refused", id="refused"),
    ],
)
async def test_error_fails_over_at_once(
    fault: dict[str, Any] | None, cause: str, fsim: SimServer, engines: list[Engine], refused_url: str
) -> None:
    overrides: dict[str, Any] = {"ttft_budget_ms": 3000.0}
    if fault is None:
        overrides["groq_base_url"] = refused_url
    engine = await build_engine(field_settings(fsim, strict=False, **overrides))
    engines.append(engine)
    if fault is not None:
        fsim.faults.next_llm("status", **fault)
    result = await engine.say("камера, слон на мопеде")
    assert result.ok, result.error
    assert result.served_by == OFFLINE and result.degraded
    ttft = result.stages_ms["ttft"]
    assert ttft is not None and ttft < 1000.0  # well under the 3 s budget: an error needs no waiting
    assert cause in " ".join(result.notices)


async def test_429_retry_after_that_fits_is_retried_on_the_same_provider(
    fsim: SimServer, engines: list[Engine]
) -> None:
    engine = await build_engine(field_settings(fsim, strict=False, ttft_budget_ms=1500.0))
    engines.append(engine)
    requests = len(fsim.requests)
    fsim.faults.next_llm("status", status=429, retry_after=0.2)
    result = await engine.say("камера, слон на мопеде")
    assert result.ok, result.error
    assert result.served_by == GROQ
    assert len(fsim.requests) - requests == 2  # the 429, then the retry the service asked for
    ttft = result.stages_ms["ttft"]
    assert ttft is not None and ttft >= 200.0  # it honoured retry-after


async def test_429_retry_after_too_long_fails_over_at_once(fsim: SimServer, engines: list[Engine]) -> None:
    engine = await build_engine(field_settings(fsim, strict=False, ttft_budget_ms=1500.0))
    engines.append(engine)
    requests = len(fsim.requests)
    fsim.faults.next_llm("status", status=429, retry_after=30)
    result = await engine.say("камера, слон на мопеде")
    assert result.ok, result.error
    assert result.served_by == OFFLINE
    assert len(fsim.requests) - requests == 1  # no retry
    ttft = result.stages_ms["ttft"]
    assert ttft is not None and ttft < 1500.0
    notes = " ".join(result.notices)
    assert "429" in notes and "retry after 30" in notes


async def test_failing_provider_is_marked_unavailable_skipped_probed_and_restored(
    fsim: SimServer, engines: list[Engine]
) -> None:
    engine = await build_engine(field_settings(fsim, strict=False, ttft_budget_ms=3000.0))
    engines.append(engine)
    engine.health = HealthBoard(probe_min_s=0.05, probe_max_s=0.2)
    fsim.faults.llm = LLMFault("status", status=503)  # every chat request fails until cleared
    first = await engine.say("камера, слон")
    assert first.served_by == OFFLINE and GROQ not in engine.status().unavailable  # one fault: still in
    second = await engine.say("камера, собака")
    assert second.served_by == OFFLINE
    assert GROQ in engine.status().unavailable  # two faults in a row: out
    third = await engine.say("камера, пальма")
    assert third.ok and third.served_by == OFFLINE
    assert f"{GROQ}: marked unavailable" in " ".join(third.notices)
    ttft = third.stages_ms["ttft"]
    assert ttft is not None and ttft < 1000.0  # skipped: no deadline wasted on it
    assert GROQ in engine.status().unavailable  # the background probe keeps failing while the fault lasts
    assert engine.health.get(GROQ).probes >= 1
    fsim.faults.llm = None  # the service recovers
    await until(lambda: GROQ not in engine.status().unavailable)
    back = await engine.say("камера, скутер")
    assert back.ok and back.served_by == GROQ and not back.degraded


# --- TTS fallback -----------------------------------------------------------------------------------------


def record_fallback_text(engine: Engine) -> list[str]:
    """Spy on what the fallback voice is asked to say."""
    fallback = engine.fallback_tts
    assert fallback is not None
    said: list[str] = []
    original = fallback.start

    async def start(utterance_id: str) -> Any:
        utt = await original(utterance_id)
        send = utt.send

        async def spy(text: str) -> None:
            said.append(text)
            await send(text)

        utt.send = spy  # type: ignore[method-assign]
        return utt

    fallback.start = start  # type: ignore[method-assign]
    return said


async def test_tts_dies_mid_utterance_and_espeak_says_the_rest(
    fsim: SimServer, field_thread: SimThread, engines: list[Engine]
) -> None:
    sink = CaptureSink()
    engine = await build_engine(field_settings(fsim, strict=False), sink)
    engines.append(engine)
    await steady(engine, fsim)
    said = record_fallback_text(engine)
    fsim.faults.next_tts("close_1011", after_frames=3)
    await fresh_socket(field_thread, engine)
    start = len(sink.data)
    result = await engine.say("камера, слон на мопеде")
    assert result.ok, result.error
    assert result.degraded is True and result.error_kind == "tts_server"
    assert any("1011" in n and "espeak" in n for n in result.notices), result.notices
    received = fsim.sent_audio[result.utterance_id]
    played = bytes(sink.data[start:])
    assert len(received) > 0
    assert played[: len(received)] == received  # what ElevenLabs sent was played, bit-exact
    assert len(played) > len(received) + 4800  # plus espeak audio for the rest (> 0.1 s)
    rest = "".join(said).strip()
    full = result.text
    assert rest and full.endswith(rest) and len(rest) < len(full)  # resumed after what was voiced
    assert full[len(full) - len(rest) - 1] == " "  # at a word boundary
    assert result.stages_ms["playback_done"] is not None


async def test_tts_handshake_fails_and_espeak_says_everything(
    fsim: SimServer, field_thread: SimThread, engines: list[Engine]
) -> None:
    sink = CaptureSink()
    engine = await build_engine(field_settings(fsim, strict=False), sink)
    engines.append(engine)
    await steady(engine, fsim)
    said = record_fallback_text(engine)
    fsim.faults.next_tts("reject", status=500)
    await fresh_socket(field_thread, engine)
    start = len(sink.data)
    result = await engine.say("камера, слон на мопеде")
    assert result.ok, result.error
    assert result.degraded is True and result.error_kind == "tts_handshake"
    assert any("500" in n for n in result.notices)
    assert result.utterance_id not in fsim.sent_audio  # not one byte from ElevenLabs
    assert len(sink.data) - start > 24000  # espeak spoke it all
    assert "".join(said).strip() == result.text
    await wait_backoff(engine)


# --- reconnects -------------------------------------------------------------------------------------------


async def test_websocket_reconnects_with_backoff(
    fsim: SimServer, field_thread: SimThread, engines: list[Engine]
) -> None:
    engine = await build_engine(field_settings(fsim))
    engines.append(engine)
    tts = engine.tts
    assert isinstance(tts, ElevenLabsTTS)
    warm = await engine.say("камера, пальма", failover=False)
    assert warm.ok and warm.ws_reused is True

    server_close_sockets(field_thread)  # the service closes the socket between utterances
    await until(lambda: tts.state == "reconnecting")
    connects = tts.connects
    after_close = await engine.say("камера, собака", failover=False)
    assert after_close.ok and after_close.ws_reused is False and tts.connects == connects + 1
    again = await engine.say("камера, кот", failover=False)
    assert again.ok and again.ws_reused is True and tts.connects == connects + 1

    fsim.faults.next_tts("reject", status=503)  # the reconnect fails ...
    server_close_sockets(field_thread)
    await until(lambda: tts.state == "reconnecting")
    failed = await engine.say("камера, скутер", failover=False)
    assert failed.error_kind == "tts_handshake"
    attempts = fsim.ws_connections
    backing_off = await engine.say("камера, мопед", failover=False)  # ... so the next one does not hammer
    assert backing_off.error_kind == "tts_handshake" and "retry in" in (backing_off.error or "")
    assert fsim.ws_connections == attempts  # no connection attempt during the backoff
    await wait_backoff(engine)
    back = await engine.say("камера, слон", failover=False)
    assert back.ok and back.ws_reused is False
    last = await engine.say("камера, пляж", failover=False)
    assert last.ok and last.ws_reused is True
