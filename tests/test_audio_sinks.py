"""Sinks: real-time pacing, exact WAV capture, abort, underruns and the `device` fallback chain."""

from __future__ import annotations

import importlib.abc
import os
import subprocess
import sys
import threading
import time
import types
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nuanu_tui.core.audio.miniaudio_sink import MiniaudioSink
from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.audio.sinks import make_sink
from nuanu_tui.core.audio.sounddevice_sink import SoundDeviceSink
from nuanu_tui.core.audio.stderr_tap import quiet_stderr
from nuanu_tui.core.audio.wav_sink import WavSink
from nuanu_tui.core.errors import NuanuError

RATE = 24000


def tone(seconds: float, rate: int = RATE, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return rng.integers(-20000, 20000, int(rate * seconds), dtype=np.int16).tobytes()


class FakeClock:
    """A hand-driven perf_counter_ns for deterministic underrun accounting."""

    def __init__(self) -> None:
        self.now = 1_000_000_000

    def __call__(self) -> int:
        return self.now

    def advance_ms(self, ms: float) -> None:
        self.now += int(ms * 1_000_000)


# --- NullSink -----------------------------------------------------------------------------------------


def test_null_sink_is_paced_in_real_time() -> None:
    sink = NullSink()
    sink.open(RATE)
    pcm = tone(1.0)
    start = time.perf_counter()
    for pos in range(0, len(pcm), 4800):  # 100 ms writes
        sink.write(pcm[pos : pos + 4800])
    written = time.perf_counter() - start
    sink.drain()
    drained = time.perf_counter() - start
    sink.close()
    assert written >= 1.0 - 0.06 - 0.03  # all but the modelled 60 ms buffer had to be waited for
    assert drained >= 0.95


def test_null_sink_accepts_into_free_buffer_without_advancing_clock() -> None:
    clock = FakeClock()
    sink = NullSink(buffer_ms=60, clock=clock)
    sink.open(RATE)
    sink.write(tone(0.05))  # fits into the 60 ms buffer: must return although fake time stands still
    sink.close()


def test_null_sink_counts_underruns_only_inside_an_utterance() -> None:
    clock = FakeClock()
    sink = NullSink(buffer_ms=60, clock=clock)
    sink.open(RATE)
    sink.utterance_started()
    sink.write(tone(0.02))
    clock.advance_ms(10)
    sink.write(tone(0.02))  # 30 ms still buffered: no underrun
    assert sink.underruns == 0
    clock.advance_ms(100)  # device ran dry mid-utterance
    sink.write(tone(0.02))
    assert sink.underruns == 1
    sink.utterance_ended()
    clock.advance_ms(500)  # silence between utterances is normal
    sink.utterance_started()
    sink.write(tone(0.02))  # first write of an utterance into an empty device: not an underrun
    assert sink.underruns == 1
    sink.close()


def test_null_sink_abort_drops_the_rest_of_a_blocked_write() -> None:
    accepted: list[int] = []
    first_piece = threading.Event()

    class Probe(NullSink):
        def _accepted(self, piece: memoryview) -> None:
            accepted.append(len(piece))
            first_piece.set()

    sink = Probe()
    sink.open(RATE)
    pcm = tone(5.0)
    writer = threading.Thread(target=sink.write, args=(pcm,))
    writer.start()
    assert first_piece.wait(5)
    sink.abort()
    writer.join(5)
    assert not writer.is_alive()
    assert 0 < sum(accepted) < len(pcm) // 4  # most of the 5 s never reached the device
    sink.drain()  # nothing left to play
    sink.close()


def test_null_sink_abort_wakes_a_drain() -> None:
    sink = NullSink(buffer_ms=2000)
    sink.open(RATE)
    sink.write(tone(1.5))  # fits into the big buffer: returns at once, 1.5 s left to play
    drainer = threading.Thread(target=sink.drain)
    drainer.start()
    sink.abort()
    drainer.join(5)
    assert not drainer.is_alive()
    sink.close()


def test_null_sink_write_before_open_is_an_error() -> None:
    with pytest.raises(NuanuError):
        NullSink().write(b"\x00\x00")


# --- WavSink ------------------------------------------------------------------------------------------


def test_wav_sink_holds_exactly_the_written_samples(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    clock = FakeClock()
    sink = WavSink(str(path), buffer_ms=10_000, clock=clock)  # big buffer: no real waiting
    assert sink.name == f"wav:{path}"
    sink.open(22050)
    pcm = tone(0.5, rate=22050, seed=7)
    for pos in range(0, len(pcm), 1234):
        sink.write(pcm[pos : pos + 1234])
    sink.close()
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getframerate() == 22050
        assert wav.getnframes() == len(pcm) // 2
        assert wav.readframes(wav.getnframes()) == pcm


def test_wav_sink_unwritable_path_is_an_audio_error(tmp_path: Path) -> None:
    sink = WavSink(str(tmp_path / "missing-dir" / "out.wav"))
    with pytest.raises(NuanuError) as err:
        sink.open(RATE)
    assert err.value.kind == "audio"


# --- make_sink ----------------------------------------------------------------------------------------


def test_make_sink_specs(tmp_path: Path) -> None:
    assert isinstance(make_sink("null"), NullSink)
    assert make_sink("null").name == "null"
    wav = make_sink(f"wav:{tmp_path / 'a.wav'}")
    assert isinstance(wav, WavSink)
    for bad in ("", "speaker", "wav:", "nul"):
        with pytest.raises(NuanuError) as err:
            make_sink(bad)
        assert err.value.kind == "config"
        assert "use device, device:NAME, device:INDEX, null or wav:PATH" in err.value.message


def test_make_sink_device_gives_a_working_sink_on_this_machine() -> None:
    sink = make_sink("device")
    sink.open(RATE)
    sink.write(tone(0.03))
    sink.drain()
    sink.close()
    if isinstance(sink, NullSink):
        assert sink.warning is not None
        assert "null sink" in sink.warning
        assert "\n" not in sink.warning


class _ImportRaises(importlib.abc.MetaPathFinder):
    """Make `import sounddevice` fail the way it does without PortAudio."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return None


@pytest.fixture
def no_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_ImportRaises(), *sys.meta_path])


def _no_miniaudio(backends: list[Any], sample_rate: int = 24000) -> str:
    miniaudio = pytest.importorskip("miniaudio")  # optional on Linux aarch64
    raise miniaudio.MiniaudioError("failed to init device", -401)


def test_make_sink_falls_back_to_null_with_a_reason(
    no_portaudio: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MiniaudioSink, "probe", staticmethod(_no_miniaudio))
    sink = make_sink("device")
    assert isinstance(sink, NullSink)
    assert sink.warning is not None
    assert sink.warning.startswith("no sound card (PortAudio: PortAudio library not found")
    assert "miniaudio: " in sink.warning
    assert sink.warning.endswith("audio goes to a silent null sink")
    sink.open(RATE)
    sink.write(tone(0.01))
    sink.close()


def test_make_sink_uses_miniaudio_when_portaudio_is_missing(
    no_portaudio: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MiniaudioSink, "probe", staticmethod(lambda backends, sample_rate=24000: "ALSA"))
    sink = make_sink("device")
    assert isinstance(sink, MiniaudioSink)
    assert sink.name == "miniaudio:alsa"
    assert sink.warning is None
    assert [b.name for b in sink.backends or []] == ["PULSEAUDIO", "ALSA", "JACK"]  # never NULL


def test_real_miniaudio_probe_refuses_the_null_backend() -> None:
    miniaudio = pytest.importorskip("miniaudio")  # optional on Linux aarch64
    with pytest.raises(NuanuError):
        MiniaudioSink.probe([miniaudio.Backend.NULL])


class FakeStream:
    """Stands in for sounddevice.RawOutputStream: a blocking write paced by the samples' duration, like a
    device's clock, recording what the sink hands it."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[str] = []
        self.data = bytearray()
        self.latency = 0.01
        self.fail_with: Exception | None = None
        self.hang = threading.Event()  # set: writes block (a suspended sink)
        self.release = threading.Event()

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")

    def abort(self) -> None:
        self.calls.append("abort")

    def close(self) -> None:
        self.calls.append("close")

    def write(self, data: Any) -> bool:
        if self.fail_with is not None:
            raise self.fail_with
        if self.hang.is_set():
            self.release.wait(30)
        self.data += bytes(data)
        self.release.wait(len(data) / 2 / self.kwargs["samplerate"])  # the device's clock
        return False


def fake_sounddevice(devices: list[dict[str, Any]]) -> tuple[types.ModuleType, list[FakeStream]]:
    streams: list[FakeStream] = []
    module = types.ModuleType("sounddevice")

    def query_devices(device: Any = None, kind: str | None = None) -> dict[str, Any]:
        if not devices:
            raise ValueError("No output device matching -1")
        return {"index": 0, **devices[0]}

    def raw_output_stream(**kwargs: Any) -> FakeStream:
        stream = FakeStream(**kwargs)
        streams.append(stream)
        return stream

    module.query_devices = query_devices  # type: ignore[attr-defined]
    module.RawOutputStream = raw_output_stream  # type: ignore[attr-defined]
    module._terminate = module._initialize = lambda: None  # type: ignore[attr-defined]
    return module, streams


def test_make_sink_prefers_sounddevice_when_it_has_an_output(monkeypatch: pytest.MonkeyPatch) -> None:
    module, _ = fake_sounddevice([{"name": "USB Speaker"}])
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    sink = make_sink("device")
    assert isinstance(sink, SoundDeviceSink)
    assert sink.name == "sounddevice:USB Speaker"
    assert sink.warning is None


def test_make_sink_skips_sounddevice_without_an_output_device(monkeypatch: pytest.MonkeyPatch) -> None:
    module, _ = fake_sounddevice([])
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    monkeypatch.setattr(MiniaudioSink, "probe", staticmethod(_no_miniaudio))
    sink = make_sink("device")
    assert isinstance(sink, NullSink)
    assert sink.warning is not None
    assert "PortAudio: No output device matching -1" in sink.warning


def test_a_named_device_that_is_missing_is_kept_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    module, _ = fake_sounddevice([])
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    sink = make_sink("device:USB Speaker")
    assert isinstance(sink, SoundDeviceSink)
    assert sink.device == "USB Speaker"
    assert isinstance(make_sink("device:3"), SoundDeviceSink)
    assert make_sink("device:3").device == 3  # type: ignore[attr-defined]


def test_sounddevice_sink_feeds_one_stream_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    module, streams = fake_sounddevice([{"name": "x"}])
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    sink = SoundDeviceSink()
    sink.open(RATE)
    assert len(streams) == 1
    stream = streams[0]
    assert stream.kwargs["samplerate"] == RATE
    assert stream.kwargs["channels"] == 1
    assert stream.kwargs["dtype"] == "int16"
    pcm = tone(0.2)
    sink.utterance_started()
    sink.write(pcm[:4800])
    sink.write(pcm[4800:])
    sink.utterance_ended()
    sink.drain()
    assert sink.heard()
    sink.close()
    got = bytes(stream.data)
    start = got.index(pcm[:64])  # silence keeps the stream running before and after
    assert got[start : start + len(pcm)] == pcm
    assert stream.calls[0] == "start" and stream.calls[-1] == "close"
    assert len(streams) == 1


def test_sounddevice_sink_reports_a_failing_device(monkeypatch: pytest.MonkeyPatch) -> None:
    module, streams = fake_sounddevice([{"name": "x"}])
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    sink = SoundDeviceSink()
    sink.open(RATE)
    streams[0].fail_with = RuntimeError("Unanticipated host error")
    sink.utterance_started()
    with pytest.raises(NuanuError) as err:
        for _ in range(50):
            sink.write(tone(0.02))
    assert err.value.kind == "audio_device"
    assert "Unanticipated host error" in err.value.message
    assert sink.health() is not None
    sink.close()


def test_sounddevice_sink_reports_a_device_that_stops_taking_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    module, streams = fake_sounddevice([{"name": "x"}])
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    sink = SoundDeviceSink(stall_s=0.3)
    sink.open(RATE)
    streams[0].hang.set()
    sink.utterance_started()
    with pytest.raises(NuanuError) as err:
        for _ in range(100):
            sink.write(tone(0.02))
    assert "took no samples" in err.value.message
    assert not sink.heard() or len(streams[0].data) > 0
    streams[0].release.set()
    sink.close()


# --- MiniaudioSink ------------------------------------------------------------------------------------


def test_miniaudio_sink_on_the_null_backend_plays_everything() -> None:
    miniaudio = pytest.importorskip("miniaudio")  # optional on Linux aarch64
    sink = MiniaudioSink(backends=[miniaudio.Backend.NULL])
    sink.open(RATE)
    assert sink.name == "miniaudio:null"
    pcm = tone(0.2)
    start = time.perf_counter()
    sink.utterance_started()
    for pos in range(0, len(pcm), 960):
        sink.write(pcm[pos : pos + 960])
    sink.utterance_ended()
    sink.drain()
    elapsed = time.perf_counter() - start
    assert sink._pulled == len(pcm)
    assert elapsed >= 0.2 - 0.06 - 0.03  # paced by the device clock, minus the ring
    sink.close()


def test_miniaudio_sink_abort_drops_the_ring() -> None:
    miniaudio = pytest.importorskip("miniaudio")  # optional on Linux aarch64
    sink = MiniaudioSink(backends=[miniaudio.Backend.NULL], buffer_ms=500)
    sink.open(RATE)
    sink.write(tone(0.4))  # fits the ring
    sink.abort()
    sink.drain()
    assert sink._pulled < len(tone(0.4))
    sink.close()


# --- PortAudio on ALSA's file plugin (only where libportaudio2 is installed) ---------------------------


def _portaudio_available() -> bool:
    try:
        import sounddevice  # noqa: F401
    except OSError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _portaudio_available(), reason="PortAudio library not installed")
def test_sounddevice_sink_through_alsa_file_plugin(tmp_path: Path) -> None:
    conf, capture = _alsa_file_config(tmp_path)
    script = (
        "import numpy as np\n"
        "from nuanu_tui.core.audio.sounddevice_sink import SoundDeviceSink\n"
        "s = SoundDeviceSink(); s.open(24000)\n"
        "s.write(np.arange(1, 4801, dtype=np.int16).tobytes()); s.drain(); s.close()\n"
    )
    env = {**os.environ, "ALSA_CONFIG_PATH": str(conf)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    got = np.frombuffer(capture.read_bytes(), dtype=np.int16)
    assert got[got != 0].tolist() == list(range(1, 4801))  # PortAudio may prefill zeros


def _alsa_file_config(tmp_path: Path) -> tuple[Path, Path]:
    """A self-contained ALSA config whose default PCM writes raw samples to a file (audio.md)."""
    capture = tmp_path / "capture.raw"
    conf = tmp_path / "asound.conf"
    conf.write_text(
        f'pcm.!default {{\n type file\n slave.pcm {{ type null }}\n file "{capture}"\n format "raw"\n}}\n'
    )
    return conf, capture


def test_make_sink_device_picks_miniaudio_alsa_through_alsa_file_plugin(tmp_path: Path) -> None:
    """A real ALSA back-end without hardware (clockless, so not paced): samples must arrive in order."""
    conf, capture = _alsa_file_config(tmp_path)
    script = (
        "import numpy as np\n"
        "from nuanu_tui.core.audio.sinks import make_sink\n"
        "s = make_sink('device'); s.open(24000); print(s.name, s.warning)\n"
        "s.write(np.arange(1, 4801, dtype=np.int16).tobytes()); s.drain(); s.close()\n"
    )
    env = {**os.environ, "ALSA_CONFIG_PATH": str(conf)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, check=True, timeout=60, capture_output=True, text=True
    )
    if done.stdout.startswith("sounddevice:"):
        pytest.skip("PortAudio is installed here: make_sink picked sounddevice")
    assert done.stdout.strip() == "miniaudio:alsa None"
    got = np.frombuffer(capture.read_bytes(), dtype=np.int16)
    assert got[got != 0].tolist() == list(range(1, 4801))  # the clockless device pads gaps with zeros


def test_quiet_stderr_restores_fd2() -> None:
    before = os.fstat(2)
    with quiet_stderr():
        os.write(2, b"")  # goes to /dev/null
    after = os.fstat(2)
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)
