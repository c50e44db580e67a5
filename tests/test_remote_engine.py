"""The engine in its own process (`core.host`), driven through `RemoteEngine` against the emulator."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from nuanu_tui.core.bench import BenchConfig
from nuanu_tui.core.config import Settings
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.events import StageReached, TextDelta, UtteranceFinished, UtteranceStarted
from nuanu_tui.core.remote import RemoteEngine, engine_log_path
from nuanu_tui.core.store import Store
from nuanu_tui.core.timeline import UtteranceResult
from tests.conftest import TTFT_MS, TTS_FIRST_AUDIO_MS, needs_sigkill

pytestmark = pytest.mark.slow  # each test starts an engine process (imports and warm-up: seconds)

GROQ = "groq/llama-3.1-8b-instant"
KEYS = {
    "groq_api_key": "gsk_REMOTE_groq_0123456789abcdef",
    "openai_api_key": "sk-REMOTE-openai-0123456789abcdef",
    "elevenlabs_api_key": "xi_REMOTE_eleven_0123456789abcdef",
}


def settings_for(sim: Any) -> Settings:
    return Settings().model_copy(
        update={
            **{k: SecretStr(v) for k, v in KEYS.items()},
            "groq_base_url": sim.groq_base_url,
            "openai_base_url": sim.openai_base_url,
            "elevenlabs_base_url": sim.elevenlabs_base_url,
            "failover": "off",
        }
    )


@pytest.fixture
async def remote(sim: Any) -> AsyncIterator[RemoteEngine]:
    engine = await RemoteEngine.spawn(settings_for(sim), llm=GROQ, tts="elevenlabs", audio="null")
    yield engine
    await engine.aclose()


async def test_say_streams_events_and_the_result_from_the_engine_process(remote: RemoteEngine) -> None:
    assert remote.pid != os.getpid()
    heard: list[UtteranceResult] = []
    remote.add_listener(heard.append)
    events: list[Any] = []
    result = await remote.say("камера, две собаки слева", on_event=events.append)
    assert result.ok, result.error
    assert isinstance(events[0], UtteranceStarted) and isinstance(events[-1], UtteranceFinished)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip() == result.text
    stages = [e.stage for e in events if isinstance(e, StageReached)]
    assert stages.index("ttft") < stages.index("first_audio") < stages.index("playback_done")
    # Latencies measured there still carry the injected delays, not the cost of the trip here.
    assert result.stages_ms["ttft"] >= TTFT_MS
    assert result.stages_ms["first_audio"] >= TTFT_MS + TTS_FIRST_AUDIO_MS
    assert heard == [result] and remote.results == [result]
    assert remote.status().utterances == 1 and remote.status().llm == GROQ
    assert remote.tts.spec.startswith("elevenlabs/") and not remote.busy


async def test_cancel_delivers_the_cancelled_record_before_unwinding(remote: RemoteEngine) -> None:
    events: list[Any] = []
    audible = asyncio.Event()

    def on_event(event: Any) -> None:
        events.append(event)
        if isinstance(event, StageReached) and event.stage == "first_audio":
            audible.set()

    task = asyncio.create_task(remote.say("камера, слон на мопеде", on_event=on_event))
    await audible.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    finished = [e for e in events if isinstance(e, UtteranceFinished)]
    assert len(finished) == 1 and finished[0].result.error_kind == "cancelled"
    after = await remote.say("камера, пальма справа")
    assert after.ok, after.error  # the engine process is fine and speaks again


async def test_ops_switch_list_and_refuse_in_the_engine_process(remote: RemoteEngine) -> None:
    await remote.ops.use_llm("openai/gpt-4o-mini")
    assert remote.llm_spec == "openai/gpt-4o-mini"
    with pytest.raises(NuanuError) as bad:
        await remote.ops.use_llm("nope/model")
    assert bad.value.kind == "config" and "\n" not in bad.value.message
    assert remote.llm_spec == "openai/gpt-4o-mini"
    models = await remote.ops.list_models("groq")
    assert models and all(m.startswith("groq/") for m in models)
    result = await remote.say("камера, две собаки слева")
    assert result.llm == "openai/gpt-4o-mini" and result.ok


async def test_bench_writes_through_the_consoles_store(remote: RemoteEngine, tmp_path: Any) -> None:
    store = Store(tmp_path / "bench.db").open()
    try:
        session = store.start_session("bench", "remote")
        progress: list[Any] = []
        config = BenchConfig(llms=[GROQ], triggers=["камера, две собаки слева"], runs=2, tts="elevenlabs")
        result = await remote.ops.bench(
            config, on_progress=progress.append, on_event=lambda _e: None, store=store, session_id=session
        )
        assert result.status == "done" and len(result.runs) == 2
        assert store.flush(5.0)
        (run,) = store.bench_runs()
        assert run["id"] == result.run_id and run["status"] == "done" and run["summary"][GROQ]
        rows = store.utterances(run_id=result.run_id)
        assert sorted(r["id"] for r in rows) == sorted(r.utterance_id for r in result.runs)
        assert [p.done for p in progress if p.current is not None and not p.warmup] == [1, 2]
    finally:
        store.close()


@needs_sigkill
async def test_a_dead_engine_process_is_one_line_not_a_hang(remote: RemoteEngine) -> None:
    gone = asyncio.Event()
    why: list[str] = []
    remote.on_exit = lambda message: (why.append(message), gone.set())
    os.kill(remote.pid, signal.SIGKILL)
    await asyncio.wait_for(gone.wait(), 10)
    assert "exit code -9" in why[0] and "\n" not in why[0]
    with pytest.raises(NuanuError) as err:
        await remote.say("камера, две собаки слева")
    assert err.value.kind == "engine" and "exit code -9" in err.value.message


async def test_start_up_errors_come_back_as_one_line(sim: Any) -> None:
    with pytest.raises(NuanuError) as err:
        await RemoteEngine.spawn(settings_for(sim), llm=GROQ, tts="bogus/voice", audio="null")
    assert err.value.kind == "config" and "bogus" in err.value.message and "\n" not in err.value.message


async def test_close_stops_the_process_and_its_sockets(sim: Any) -> None:
    settings = settings_for(sim)
    engine = await RemoteEngine.spawn(settings, llm=GROQ, tts="elevenlabs", audio="null")
    assert (await engine.say("камера, две собаки слева")).ok
    await engine.aclose()
    assert engine.proc.returncode == 0
    with pytest.raises(NuanuError):
        await engine.say("камера, пальма справа")
    log = engine_log_path(settings)
    text = log.read_text(errors="replace") if log.exists() else ""
    assert not any(key in text for key in KEYS.values())
