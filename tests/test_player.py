"""The player: one writer thread, stages stamped on it, utterances in order, interrupt and close."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import lameenc
import numpy as np
import pytest

from nuanu_tui.core.audio.base import AudioFormat
from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.audio.player import PAD_MS, Player  # noqa: F401
from nuanu_tui.core.audio.wav_sink import WavSink
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.timeline import Timeline

RATE = 24000
PCM24 = AudioFormat("pcm", RATE)
PAD = b""  # the tail pad is time, not samples: the WAV holds exactly what the TTS sent


def noise(seconds: float, seed: int = 0, rate: int = RATE) -> bytes:
    rng = np.random.default_rng(seed)
    return rng.integers(-20000, 20000, int(rate * seconds), dtype=np.int16).tobytes()


def encode_mp3(sample_rate: int, kbps: int, seconds: float) -> bytes:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    chirp = (0.5 * np.sin(2 * np.pi * (200 * t + 900 * t * t)) * 32767).astype(np.int16)
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_channels(1)
    return bytes(encoder.encode(chirp.tobytes()) + encoder.flush())


def odd_splits(data: bytes, seed: int, max_size: int = 999) -> Iterator[bytes]:
    rng = random.Random(seed)
    pos = 0
    while pos < len(data):
        size = rng.randint(1, max_size)
        yield data[pos : pos + size]
        pos += size


def read_wav(path: Path) -> tuple[int, bytes]:
    with wave.open(str(path), "rb") as wav:
        return wav.getframerate(), wav.readframes(wav.getnframes())


@pytest.fixture
def wav_player(tmp_path: Path) -> Iterator[tuple[Player, Path]]:
    path = tmp_path / "out.wav"
    player = Player(WavSink(str(path)))
    player.start(RATE)
    yield player, path
    player.close()


async def test_stages_are_stamped_in_order_on_the_loop_thread(wav_player: tuple[Player, Path]) -> None:
    player, _ = wav_player
    timeline = Timeline()
    seen: list[tuple[str, int]] = []
    playback = player.begin("u1", PCM24, timeline, on_stage=lambda s: seen.append((s, threading.get_ident())))
    pcm = noise(0.3)
    for chunk in odd_splits(pcm, seed=1):
        playback.feed(chunk)
    playback.end()
    await playback.wait_done()
    # stage callbacks were posted to the loop before the done future, so they have run already
    first, done = timeline.ms("first_audio"), timeline.ms("playback_done")
    assert first is not None
    assert done is not None
    assert done - first >= 300.0  # the tail was drained, not cut
    assert [s for s, _ in seen] == [
        "first_sound",
        "first_audio",
        "playback_done",
    ]  # no interjection: same moment
    assert {ident for _, ident in seen} == {threading.get_ident()}
    assert playback.audio_seconds == pytest.approx(0.3)
    assert playback.played


async def test_wav_is_bit_exact_with_pcm_fed_across_odd_splits(wav_player: tuple[Player, Path]) -> None:
    player, path = wav_player
    pcm = noise(0.25, seed=3)
    playback = player.begin("u1", PCM24, Timeline())
    for chunk in odd_splits(pcm, seed=5, max_size=77):
        playback.feed(chunk)
    playback.end()
    await playback.wait_done()
    player.close()
    rate, frames = read_wav(path)
    assert rate == RATE
    assert frames == pcm + PAD


async def test_two_utterances_play_in_begin_order(wav_player: tuple[Player, Path]) -> None:
    player, path = wav_player
    first_pcm, second_pcm = noise(0.1, seed=1), noise(0.15, seed=2)
    t1, t2 = Timeline(), Timeline()
    a = player.begin("a", PCM24, t1)
    b = player.begin("b", PCM24, t2)
    b.feed(second_pcm)  # b's audio arrives first but must wait for a
    b.end()
    for chunk in odd_splits(first_pcm, seed=9):
        a.feed(chunk)
    a.end()
    await asyncio.gather(a.wait_done(), b.wait_done())
    player.close()
    _, frames = read_wav(path)
    assert frames == first_pcm + PAD + second_pcm + PAD
    assert t1.marks_ns["playback_done"] <= t2.marks_ns["first_audio"]


async def test_interrupt_stops_quickly_and_drops_the_queue(wav_player: tuple[Player, Path]) -> None:
    player, path = wav_player
    started = asyncio.Event()
    timeline = Timeline()
    playback = player.begin("long", PCM24, timeline, on_stage=lambda s: started.set())
    queued = player.begin("queued", PCM24, Timeline())
    fed = noise(3.0)
    playback.feed(fed)
    playback.end()
    queued.feed(noise(1.0))
    queued.end()
    await started.wait()
    player.interrupt()
    await asyncio.wait_for(asyncio.gather(playback.wait_done(), queued.wait_done()), 5)
    player.close()
    _, frames = read_wav(path)
    assert len(frames) < len(fed) // 2  # most of the 3 s never reached the device
    assert frames == fed[: len(frames)]
    assert timeline.ms("playback_done") is None
    assert not playback.played
    assert not queued.played


async def test_player_keeps_working_after_an_interrupt(wav_player: tuple[Player, Path]) -> None:
    player, path = wav_player
    dropped = player.begin("x", PCM24, Timeline())
    player.interrupt()
    await dropped.wait_done()
    pcm = noise(0.05, seed=4)
    again = player.begin("y", PCM24, Timeline())
    again.feed(pcm)
    again.end()
    await again.wait_done()
    assert again.played
    player.close()
    assert read_wav(path)[1] == pcm + PAD


async def test_cancel_one_playback_leaves_the_next(wav_player: tuple[Player, Path]) -> None:
    player, path = wav_player
    gone = player.begin("gone", PCM24, Timeline())
    kept_pcm = noise(0.05, seed=6)
    kept = player.begin("kept", PCM24, Timeline())
    gone.feed(noise(0.5, seed=7))
    gone.cancel()
    kept.feed(kept_pcm)
    kept.end()
    await asyncio.wait_for(asyncio.gather(gone.wait_done(), kept.wait_done()), 5)
    player.close()
    assert read_wav(path)[1][-len(kept_pcm + PAD) :] == kept_pcm + PAD
    assert kept.played
    assert not gone.played


def test_close_with_audio_queued_returns_and_is_idempotent() -> None:
    player = Player(NullSink())
    player.start(RATE)
    for i in range(3):
        playback = player.begin(f"u{i}", PCM24, Timeline())
        playback.feed(noise(2.0, seed=i))
        if i < 2:
            playback.end()  # the last one is left open on purpose
    player.close()
    player.close()
    assert player._thread is not None
    assert not player._thread.is_alive()
    with pytest.raises(NuanuError):
        player.begin("late", PCM24, Timeline())


async def test_mp3_through_the_player_is_bit_exact(wav_player: tuple[Player, Path]) -> None:
    miniaudio = pytest.importorskip("miniaudio")  # optional on Linux aarch64
    player, path = wav_player
    data = encode_mp3(RATE, 48, seconds=0.5)
    want = np.asarray(miniaudio.decode(data, nchannels=1, sample_rate=RATE).samples, dtype=np.int16).tobytes()
    playback = player.begin("mp3", AudioFormat.parse("mp3_24000_48"), Timeline())
    for chunk in odd_splits(data, seed=2, max_size=700):
        playback.feed(chunk)
    playback.end()
    await playback.wait_done()
    player.close()
    assert read_wav(path)[1] == want + PAD


async def test_mp3_at_another_rate_is_resampled_to_the_device_rate(wav_player: tuple[Player, Path]) -> None:
    miniaudio = pytest.importorskip("miniaudio")  # optional on Linux aarch64
    player, path = wav_player
    data = encode_mp3(44100, 128, seconds=0.5)
    source = miniaudio.decode(data, nchannels=1, sample_rate=44100).num_frames
    timeline = Timeline()
    playback = player.begin("mp3", AudioFormat.parse("mp3_44100_128"), timeline)
    for chunk in odd_splits(data, seed=4, max_size=700):
        playback.feed(chunk)
    playback.end()
    await playback.wait_done()
    player.close()
    rate, frames = read_wav(path)
    expected = source * RATE / 44100
    assert rate == RATE
    assert abs((len(frames) - len(PAD)) // 2 - expected) <= 2
    assert playback.audio_seconds == pytest.approx(expected / RATE, abs=1e-3)
    assert timeline.ms("playback_done") is not None


async def test_an_utterance_without_audio_resolves_without_stages() -> None:
    player = Player(NullSink())
    player.start(RATE)
    timeline = Timeline()
    playback = player.begin("empty", PCM24, timeline)
    playback.end()
    await playback.wait_done()
    player.close()
    assert timeline.ms("first_audio") is None
    assert timeline.ms("playback_done") is None


async def test_a_device_that_fails_to_open_falls_back_to_null() -> None:
    class Broken:
        name = "sounddevice:default"
        sample_rate = 0
        warning = None

        def open(self, sample_rate: int) -> None:
            raise NuanuError("audio", "sounddevice: cannot open output: Error querying device -1")

        def write(self, pcm: bytes) -> None: ...
        def drain(self) -> None: ...
        def abort(self) -> None: ...
        def close(self) -> None: ...

    player = Player(Broken())
    player.start(RATE)
    assert player.sink_name == "null"
    assert player.sample_rate == RATE
    assert player.warning is not None
    assert "Error querying device -1" in player.warning
    assert player.warning.endswith("audio goes to a silent null sink")
    playback = player.begin("u", PCM24, Timeline())
    playback.feed(noise(0.02))
    playback.end()
    await playback.wait_done()
    assert playback.played
    player.close()


async def test_underruns_surface_through_the_player() -> None:
    offset = [0]  # lets the test skip the virtual device clock ahead instead of sleeping
    accepted = threading.Event()

    class Probe(NullSink):
        def _accepted(self, piece: memoryview) -> None:
            accepted.set()

    player = Player(Probe(clock=lambda: time.perf_counter_ns() + offset[0]))
    player.start(RATE)
    playback = player.begin("gappy", PCM24, Timeline())
    playback.feed(noise(0.01))
    assert await asyncio.to_thread(accepted.wait, 5)
    offset[0] += 200_000_000  # the TTS is 200 ms late: the device ran dry mid-utterance
    playback.feed(noise(0.01))
    playback.end()
    await playback.wait_done()
    player.close()
    assert player.underruns >= 1
