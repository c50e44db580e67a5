"""A real speaker: remarks played through PortAudio -> ALSA's pulse plugin -> a private PulseAudio server,
recorded on the sink's monitor and compared with what the emulator sent.

Needs `pulseaudio`, `pulseaudio-utils` and `libportaudio2` (`.ci/run` installs them); skips without them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from nuanu_tui.core.audio.base import AudioFormat
from nuanu_tui.core.audio.miniaudio_sink import MiniaudioSink
from nuanu_tui.core.audio.player import Playback, Player
from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.events import StageReached
from nuanu_tui.core.timeline import Timeline
from nuanu_tui.sim import heard, synth_voice

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


async def wait_status(engine: Engine, field: str) -> str:
    """Wait (polling the status, as the console does) until `field` of the engine's status is set."""
    for _ in range(400):
        value = getattr(engine.status(), field)
        if value is not None:
            return str(value)
        await asyncio.sleep(0.05)
    raise AssertionError(f"status never had {field}: {engine.status()}")


async def wait_back(engine: Engine) -> str:
    return await wait_status(engine, "audio_back")


async def wait_lost(engine: Engine) -> str:
    return await wait_status(engine, "audio_lost")


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
    assert found.correlation >= MIN_CORRELATION, (found, f"underruns on our side: {engine.player.underruns}")
    assert found.gaps_ms == [], (found, f"underruns on our side: {engine.player.underruns}")


# fault -> (what breaks it mid-remark, what repairs it, what the failed remark's error says)
FAULTS: dict[str, tuple[Callable[[Any], object], Callable[[Any], object], str]] = {
    "sink unloaded": (lambda s: s.unload_sink(), lambda s: s.load_sink(), "audio device lost mid-playback"),
    # a suspended sink takes no samples (PortAudio's write would block for ever): the stall is the loss
    "sink suspended": (lambda s: s.suspend(), lambda s: s.suspend(False), "took no samples"),
    "server killed": (lambda s: s.kill(), lambda s: s.start(), "audio device lost mid-playback"),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
async def test_speaker_fault_mid_remark_costs_that_remark_only(sim: Any, speaker: Any, fault: str) -> None:
    breaks, repairs, says = FAULTS[fault]
    engine = await device_engine(sim)
    try:
        result = await _say_and_fault(engine, "две собаки слева", lambda: breaks(speaker))
        assert_failed_mid_remark(result)
        assert says in (result.error or "")
        status = engine.status()
        assert status.audio_lost is not None and status.audio_lost.startswith(engine.player.sink_name)
        assert " since " in status.audio_lost
        repairs(speaker)
        await assert_recovered(engine, speaker, sim)
    finally:
        await engine.aclose()


@pytest.mark.slow
async def test_a_remark_while_the_speaker_is_gone_is_held_until_it_is_back(sim: Any, speaker: Any) -> None:
    engine = await device_engine(sim)
    try:
        speaker.unload_sink()
        await wait_lost(engine)
        saying = asyncio.ensure_future(engine.say("две собаки слева"))
        plugging_in = time.perf_counter_ns()
        await asyncio.to_thread(speaker.load_sink)
        result = await saying
        assert result.ok, result.error
        assert result.t0_ns > plugging_in  # held: it only started once the speaker was being plugged in
        assert result.stages_ms["first_audio"] is not None  # the device accepted its samples
        assert result.stages_ms["playback_done"] is not None
    finally:
        await engine.aclose()


@pytest.mark.slow
async def test_a_held_remark_goes_stale_and_is_dropped(sim: Any, speaker: Any) -> None:
    engine = await device_engine(sim, audio_stale_s=0.5)
    try:
        speaker.unload_sink()
        lost = await wait_lost(engine)
        result = await engine.say("две собаки слева")
        assert result.error_kind == "audio_lost"
        assert result.error is not None and result.error.startswith("dropped: the speaker is lost")
        assert lost.split(" since ")[0] in result.error
        assert all(ms is None for ms in result.stages_ms.values())  # nothing generated, nothing heard
        speaker.load_sink()
        await wait_back(engine)  # reopening takes longer than this short staleness allows
        await assert_recovered(engine, speaker, sim)
    finally:
        await engine.aclose()


@pytest.mark.slow
async def test_keep_mode_generates_while_the_speaker_is_gone_without_a_ttfa(sim: Any, speaker: Any) -> None:
    engine = await device_engine(sim, audio_lost="keep")
    try:
        speaker.unload_sink()
        await wait_lost(engine)
        result = await engine.say("две собаки слева")
        assert result.ok, result.error
        assert result.stages_ms["ttft"] is not None and result.stages_ms["tts_done"] is not None
        assert result.stages_ms["first_audio"] is None  # nobody heard it: no TTFA
        assert result.stages_ms["playback_done"] is None
        assert any(n.startswith("not heard: the speaker was lost") for n in result.notices)
        speaker.load_sink()
        await wait_back(engine)  # until it is back, keep mode keeps sending remarks to the stand-in
        await assert_recovered(engine, speaker, sim)
    finally:
        await engine.aclose()


HEADLESS_ON_A_DEVICE = {
    "say": ["say", "две собаки слева", "--demo", "--audio", "device"],
    # the ride speaks its first events, then stops by itself; the pulled speaker fails what is playing
    "ride": ["ride", "--stdin", "--demo", "--audio", "device", "--duration", "6"],
    "bench": ["bench", "--demo", "--audio", "device", "--runs", "2", "--triggers", "seed"],
}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(HEADLESS_ON_A_DEVICE))
def test_alsa_noise_goes_to_the_log_not_the_terminal(command: str, speaker: Any, tmp_path: Path) -> None:
    """A headless command on a speaker that is pulled while it plays: PortAudio/ALSA's C-level error lines
    land in engine.log; the operator's stderr gets our one-line messages only."""
    env = {**os.environ, "NUANU_DATA_DIR": str(tmp_path), "NUANU_AUDIO_STALE_S": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nuanu_tui", *HEADLESS_ON_A_DEVICE[command]],
        stdin=subprocess.PIPE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write('{"label": "dog", "count": 2, "side": "left", "confidence": 0.9}\n')
    proc.stdin.flush()
    for _ in range(600):  # wait for its stream to reach the server, then pull the speaker
        if speaker.pactl("list", "short", "sink-inputs").stdout.strip() or proc.poll() is not None:
            break
        threading.Event().wait(0.05)
    speaker.unload_sink()
    _out, err = proc.communicate(timeout=120)
    log = (tmp_path / "engine.log").read_text(errors="replace")
    assert "ALSA lib" in log or "Expression '" in log, (log, err)
    assert "ALSA lib" not in err and "Expression '" not in err, err
    assert "pa_linux_alsa" not in err


def test_doctor_lists_the_outputs_device_name_can_choose(speaker: Any, tmp_path: Path) -> None:
    env = {**os.environ, "NUANU_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "nuanu_tui", "doctor"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    listed = [line.split() for line in done.stdout.splitlines() if line.strip().startswith("device:")]
    names = {row[1] for row in listed}
    assert "device:pulse" in names and "device:default" in names, done.stdout
    assert all(row[0].removeprefix("device:").isdigit() for row in listed)  # the index, then the name
    assert "audio output           sounddevice:default" in done.stdout


@pytest.mark.slow
async def test_a_named_device_is_found_again_after_the_server_restarts(sim: Any, speaker: Any) -> None:
    """`--audio device:pulse`: the name is looked up again (PortAudio rescanned) at every reopen."""
    engine = await device_engine(sim, audio="device:pulse")
    try:
        assert engine.player.sink_name == "sounddevice:pulse"
        speaker.kill()
        await wait_lost(engine)
        speaker.start()
        await wait_back(engine)
        assert engine.player.sink_name == "sounddevice:pulse"
        await assert_recovered(engine, speaker, sim)
    finally:
        await engine.aclose()


def _miniaudio_pulse() -> Any:
    try:
        import miniaudio
    except ImportError:
        pytest.skip("miniaudio not installed (Linux aarch64 without the mp3 extra)")
    return miniaudio.Backend.PULSEAUDIO


async def _play(player: Player, speech: bytes, on_stage: Callable[[str], None] | None = None) -> Any:
    playback = player.begin(f"u{time.perf_counter_ns()}", AudioFormat("pcm", 24000), Timeline(), on_stage)
    playback.feed(speech)
    playback.end()
    try:
        await playback.wait_done()
    except NuanuError as exc:
        return exc
    return playback


@pytest.mark.slow
async def test_miniaudio_backend_is_heard_lost_and_found_again_by_name(speaker: Any) -> None:
    """The same contract when miniaudio (its PulseAudio back end) is the output: heard whole; a sink pulled
    mid-playback fails that playback and is reported lost; plugged back under the same name, it is
    found again and the next playback is heard."""
    backend = _miniaudio_pulse()
    speech = synth_voice("две собаки слева на обочине", 24000)
    player = Player(MiniaudioSink(backends=[backend], device=speaker.sink))
    try:
        # at the server's own rate: the player resamples with soxr, so neither miniaudio's linear resampler
        # (measured 0.79-0.94 correlation on this consonant noise) nor the server's stands in the way
        await asyncio.to_thread(player.start, speaker.rate)
        assert player.sink_name == f"miniaudio:pulseaudio:{speaker.sink}"
        assert player.lost is None and player.warning is None
        recorder = speaker.record(RECORD_LATENCY_MS)
        assert isinstance(await _play(player, speech), Playback)
        recording = recorder.stop()
        found = heard.find(recording.samples, recording.rate, speech, 24000)
        assert found.correlation >= MIN_CORRELATION, found
        assert found.gaps_ms == [], found

        loop = asyncio.get_running_loop()
        pulled: list[asyncio.Future[None]] = []

        def on_stage(stage: str) -> None:
            if stage == "first_audio" and not pulled:
                pulled.append(asyncio.ensure_future(asyncio.to_thread(speaker.unload_sink)))

        failed = await _play(player, speech * 3, on_stage)
        assert pulled and loop is asyncio.get_running_loop()
        await pulled[0]
        assert isinstance(failed, NuanuError) and failed.kind == "audio_device", failed
        assert player.lost is not None and player.lost.device == player.sink_name
        speaker.load_sink()
        player.retry_now()
        assert await asyncio.to_thread(player.wait_back, 20.0)
        recorder = speaker.record(RECORD_LATENCY_MS)
        assert isinstance(await _play(player, speech), Playback)
        recording = recorder.stop()
        found = heard.find(recording.samples, recording.rate, speech, 24000)
        assert found.correlation >= MIN_CORRELATION, found
    finally:
        await asyncio.to_thread(player.close)
