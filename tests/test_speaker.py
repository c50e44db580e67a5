"""A real speaker: remarks played through PortAudio -> ALSA's pulse plugin -> a private PulseAudio server,
recorded on the sink's monitor and compared with what the emulator sent.

Needs `pulseaudio`, `pulseaudio-utils` and `libportaudio2` (`.ci/run` installs them); skips without them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import SecretStr

from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.events import StageReached
from nuanu_tui.sim import heard

# pulse resamples 24 kHz mono to the sink's 48 kHz stereo (speex) and the monitor mixes it back to mono;
# soxr resamples the reference the same way up to filter differences, which keep a clean path above 0.98
# (measured 0.99+). One dropped or repeated 20 ms piece in a 2-5 s remark misaligns a share of the
# samples and pulls the peak well below 0.9; an underrun hole does too. 0.95 separates the two.
MIN_CORRELATION = 0.95
DURATION_TOLERANCE_S = 0.05
RECORD_LATENCY_MS = 20  # the recording's first-to-last audible sample vs the samples we sent


def _portaudio() -> str | None:
    try:
        import sounddevice  # noqa: F401
    except OSError as exc:
        return str(exc)
    return None


pytestmark = pytest.mark.skipif(_portaudio() is not None, reason="PortAudio library not installed")


def speaker_settings(sim: Any, **update: Any) -> Settings:
    keys = {
        k: SecretStr(f"{k}-TESTKEY-0123") for k in ("groq_api_key", "openai_api_key", "elevenlabs_api_key")
    }
    return Settings().model_copy(
        update={
            **keys,
            "groq_base_url": sim.groq_base_url,
            "openai_base_url": sim.openai_base_url,
            "elevenlabs_base_url": sim.elevenlabs_base_url,
            "tts_fallback": False,
            **update,
        }
    )


async def device_engine(sim: Any, audio: str = "device", **update: Any) -> Engine:
    return await Engine.create(
        speaker_settings(sim, **update), llm="groq/llama-3.1-8b-instant", tts="elevenlabs", audio=audio
    )


@pytest.mark.slow
async def test_remarks_are_heard_on_the_speaker(sim: Any, speaker: Any) -> None:
    """Two remarks through `--audio device`: each is in the recording whole, in order, without holes,
    and starts after the moment we stamped as first_audio (the device's own latency, reported)."""
    recorder = speaker.record(RECORD_LATENCY_MS)
    engine = await device_engine(sim)
    try:
        assert engine.player.sink_name.startswith("sounddevice:"), engine.player.warning
        assert engine.player.warning is None
        results = [await engine.say(t) for t in ("две собаки слева", "велосипедист справа", "кошка")]
    finally:
        await engine.aclose()
        recording = recorder.stop()
    after = 0
    for result in results:
        assert result.ok, result.error
        sent = sim.sent_audio[result.utterance_id]
        found = heard.find(recording.samples, recording.rate, sent, 24000, after=after)
        assert found.correlation >= MIN_CORRELATION, found
        assert abs(found.duration_s - result.audio_seconds) <= DURATION_TOLERANCE_S, (
            found,
            result.audio_seconds,
        )
        assert found.gaps_ms == [], found
        first_audio_ns = result.t0_ns + int(result.stages_ms["first_audio"] * 1e6)  # type: ignore[operator]
        latency_ms = (found.onset_ns(recording.start_ns) - first_audio_ns) / 1e6
        print(f"device latency {latency_ms:.1f} ms, correlation {found.correlation:.4f}")
        # heard after we said it went to the device, never before (a null sink renders its monitor up to
        # one block ahead of real time; the recorder's latency bounds that block)
        assert latency_ms >= -RECORD_LATENCY_MS
        after = found.offset + int(found.duration_s * recording.rate)


async def _say_and_fault(engine: Engine, trigger: str, fault: Any) -> Any:
    """Say `trigger`; run `fault` (in a thread) as soon as its first sample has been heard."""
    faulted: list[asyncio.Future[None]] = []

    def on_event(event: Any) -> None:
        if isinstance(event, StageReached) and event.stage == "first_audio" and not faulted:
            faulted.append(asyncio.ensure_future(asyncio.to_thread(fault)))

    result = await engine.say(trigger, on_event=on_event)
    assert faulted, "the fault never ran: the remark was not heard at all"
    await faulted[0]
    return result


def assert_failed_mid_remark(result: Any) -> None:
    """The remark that lost its speaker fails, with the stages it really reached."""
    assert not result.ok
    assert result.error_kind == "audio_device", result.error
    assert "audio device lost mid-playback" in (result.error or "")
    assert result.stages_ms["first_audio"] is not None  # heard before the cable came out
    assert result.stages_ms["playback_done"] is None


async def assert_recovered(engine: Engine, speaker: Any, sim: Any) -> None:
    """The status says the speaker is back, and the next remark plays and is heard whole."""
    recorder = speaker.record(RECORD_LATENCY_MS)
    result = await engine.say("велосипедист справа")
    recording = recorder.stop()
    assert result.ok, result.error
    status = engine.status()
    assert status.audio_lost is None
    assert status.audio_back is not None and status.audio_back.startswith("since ")
    found = heard.find(recording.samples, recording.rate, sim.sent_audio[result.utterance_id], 24000)
    assert found.correlation >= MIN_CORRELATION, found
    assert found.gaps_ms == [], found


@pytest.mark.slow
async def test_speaker_pulled_mid_remark_and_plugged_back(sim: Any, speaker: Any) -> None:
    engine = await device_engine(sim)
    try:
        result = await _say_and_fault(engine, "две собаки слева", speaker.unload_sink)
        assert_failed_mid_remark(result)
        status = engine.status()
        assert status.audio_lost is not None and status.audio_lost.startswith(engine.player.sink_name)
        assert " since " in status.audio_lost
        speaker.load_sink()
        await assert_recovered(engine, speaker, sim)
    finally:
        await engine.aclose()
