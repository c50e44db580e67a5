"""Audio sinks: long-lived outputs whose blocking `write` means "the device accepted these samples".

`make_sink("device")` tries sounddevice (PortAudio), then miniaudio on a real back-end, then a silent
null sink, and says why in `sink.warning`. The null and WAV sinks are paced in real time like a device
with a small buffer, so stage timings stay honest without a sound card.

All sinks also offer `utterance_started()` / `utterance_ended()` and an `underruns` counter: the player
brackets each utterance so silence between utterances is not counted as the device running dry.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Generator, Iterator
from typing import Any, BinaryIO

from nuanu_tui.core.audio import optional
from nuanu_tui.core.audio.base import AudioSink
from nuanu_tui.core.errors import NuanuError

_NS = 1_000_000_000


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence C libraries (ALSA, JACK) that print to fd 2 while probing; they would smear the TUI."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _one_line(exc: BaseException) -> str:
    """One readable line; miniaudio errors carry (message, code) args."""
    if isinstance(exc, NuanuError):
        return exc.message
    args = exc.args
    text = f"{args[0]} ({', '.join(map(str, args[1:]))})" if len(args) > 1 else str(exc)
    return " ".join(text.split()) or type(exc).__name__


class _UtteranceHooks:
    """The player tells a sink where utterances start and end, so silence between them is not an underrun."""

    _in_utterance: bool
    _utterance_samples: int

    def utterance_started(self) -> None:
        self._in_utterance = True
        self._utterance_samples = 0

    def utterance_ended(self) -> None:
        self._in_utterance = False


class NullSink(_UtteranceHooks):
    """Silent sink paced in real time: a device with a `buffer_ms` buffer and a virtual play-head.

    A write is accepted at once while the modelled buffer has room, otherwise it blocks (on an Event, so
    `abort`/`close` wake it) until the play-head has freed enough. `drain` returns when the play-head has
    passed the last written sample.
    """

    def __init__(
        self, buffer_ms: float = 60.0, name: str = "null", clock: Callable[[], int] = time.perf_counter_ns
    ) -> None:
        self.name = name
        self.sample_rate = 0
        self.warning: str | None = None
        self.underruns = 0
        self._buffer_ns = int(buffer_ms * 1_000_000)
        self._end_ns = 0  # when the virtual play-head reaches the last accepted sample
        self._gen = 0  # bumped by abort/close; a blocked write notices and returns
        self._wake = threading.Event()
        self._in_utterance = False
        self._utterance_samples = 0
        self._clock = clock

    def open(self, sample_rate: int) -> None:
        if sample_rate <= 0:
            raise NuanuError("audio", f"bad sample rate {sample_rate}")
        self.sample_rate = sample_rate
        self._end_ns = 0

    def write(self, pcm: bytes) -> None:
        if self.sample_rate <= 0:
            raise NuanuError("audio", f"{self.name}: write before open")
        gen = self._gen
        rate = self.sample_rate
        # pieces of a third of the buffer: accepted while two thirds still play, as a device would
        step = max(1, self._buffer_ns * rate // _NS // 3) * 2
        view = memoryview(pcm)[: len(pcm) & ~1]
        for start in range(0, len(view), step):
            piece = view[start : start + step]
            duration_ns = (len(piece) // 2) * _NS // rate
            while True:
                now = self._clock()
                if self._end_ns < now:
                    if self._in_utterance and self._utterance_samples:
                        self.underruns += 1  # ran dry mid-utterance with more audio coming
                    self._end_ns = now
                wait_ns = self._end_ns - now + duration_ns - self._buffer_ns
                if wait_ns <= 0:
                    break
                self._wake.clear()
                if self._gen != gen:
                    return
                self._wake.wait(wait_ns / _NS)
                if self._gen != gen:
                    return
            self._end_ns += duration_ns
            self._utterance_samples += len(piece) // 2
            self._accepted(piece)

    def _accepted(self, piece: memoryview) -> None:
        """Hook: `piece` has just been handed to the (virtual) device."""

    def drain(self) -> None:
        gen = self._gen
        while True:
            left_ns = self._end_ns - self._clock()
            if left_ns <= 0:
                return
            self._wake.clear()
            if self._gen != gen:
                return
            self._wake.wait(left_ns / _NS)
            if self._gen != gen:
                return

    def abort(self) -> None:
        self._gen += 1
        self._end_ns = self._clock()
        self._wake.set()

    def close(self) -> None:
        self.abort()


class WavSink(NullSink):
    """A paced null sink that also records exactly the samples handed to the device in a 16-bit WAV.

    The samples go to a hidden temporary file next to `path`, renamed over it only when the WAV is closed
    and holds audio: a failed or interrupted run never truncates an earlier recording, and the file at
    `path` always has a header that matches its data.
    """

    def __init__(
        self, path: str, buffer_ms: float = 60.0, clock: Callable[[], int] = time.perf_counter_ns
    ) -> None:
        super().__init__(buffer_ms=buffer_ms, name=f"wav:{path}", clock=clock)
        self.path = path
        self._wav: wave.Wave_write | None = None
        self._file: BinaryIO | None = None
        self._tmp: str | None = None
        self._frames = 0

    def open(self, sample_rate: int) -> None:
        super().open(sample_rate)
        self._close_wav()
        folder, name = os.path.split(os.path.abspath(self.path))
        try:
            fd, self._tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
            os.chmod(self._tmp, 0o644)  # mkstemp's 0600 would make the recording private
            self._file = os.fdopen(fd, "wb")
        except OSError as exc:
            raise NuanuError("audio", f"cannot write {self.path}: {_one_line(exc)}") from exc
        self._frames = 0
        wav = wave.open(self._file, "wb")  # noqa: SIM115 - closed in close()
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        self._wav = wav

    def _accepted(self, piece: memoryview) -> None:
        if self._wav is not None:
            self._wav.writeframesraw(piece)
            self._frames += len(piece) // 2

    def close(self) -> None:
        super().close()
        self._close_wav()

    def _close_wav(self) -> None:
        wav, self._wav = self._wav, None
        file, self._file = self._file, None
        tmp, self._tmp = self._tmp, None
        try:
            if wav is not None:
                wav.close()  # patches the RIFF sizes: the file is valid from here on
            if file is not None:
                file.close()
        finally:
            if tmp is not None:
                if self._frames and wav is not None:
                    try:
                        os.replace(tmp, self.path)
                    except OSError as exc:
                        self.warning = f"cannot write {self.path}: {_one_line(exc)}"
                with contextlib.suppress(OSError):
                    os.unlink(tmp)  # no audio (or the rename failed): leave what was at `path` alone


class SoundDeviceSink(_UtteranceHooks):
    """PortAudio via sounddevice: one long-lived int16 mono RawOutputStream, blocking writes.

    Writes go in pieces of ≤ `piece_ms` under a lock so `abort` from another thread waits at most one
    piece and never races PortAudio's blocking write.
    """

    def __init__(self, device: int | str | None = None, latency: str | float = "low", piece_ms: float = 20.0):
        self.device = device
        self.latency = latency
        self.name = f"sounddevice:{device if device is not None else 'default'}"
        self.sample_rate = 0
        self.warning: str | None = None
        self.underruns = 0
        self._piece_ms = piece_ms
        self._stream: Any = None
        self._lock = threading.Lock()
        self._gen = 0
        self._in_utterance = False
        self._utterance_samples = 0

    @staticmethod
    def probe(device: int | str | None = None) -> str:
        """Return the output device's name, or raise (OSError without PortAudio, else no device)."""
        import sounddevice as sd  # raises OSError when the PortAudio library is missing

        info = sd.query_devices(device, kind="output")
        return str(info["name"])

    def open(self, sample_rate: int) -> None:
        import sounddevice as sd

        try:
            stream = sd.RawOutputStream(
                samplerate=sample_rate, channels=1, dtype="int16", device=self.device, latency=self.latency
            )
            stream.start()
        except Exception as exc:  # PortAudioError, ValueError: no device, bad rate
            raise NuanuError("audio", f"sounddevice: cannot open output: {_one_line(exc)}") from exc
        self._stream = stream
        self.sample_rate = sample_rate

    def write(self, pcm: bytes) -> None:
        stream = self._stream
        if stream is None:
            raise NuanuError("audio", f"{self.name}: write before open")
        gen = self._gen
        view = memoryview(pcm)[: len(pcm) & ~1]
        step = max(2, int(self.sample_rate * self._piece_ms / 1000) * 2)
        for start in range(0, len(view), step):
            with self._lock:
                if self._gen != gen:
                    return
                underflowed = stream.write(view[start : start + step])
            if underflowed and self._in_utterance and self._utterance_samples:
                self.underruns += 1
            self._utterance_samples += min(step, len(view) - start) // 2

    def drain(self) -> None:
        """stop() lets PortAudio play out what it holds; start() readies the stream for the next one."""
        with self._lock:
            if self._stream is not None:
                self._stream.stop()
                self._stream.start()

    def abort(self) -> None:
        self._gen += 1
        with self._lock:
            if self._stream is not None:
                self._stream.abort()
                self._stream.start()

    def close(self) -> None:
        self._gen += 1
        with self._lock:
            stream, self._stream = self._stream, None
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.abort()
                stream.close()


_REAL_MINIAUDIO_BACKENDS = ("PULSEAUDIO", "ALSA", "JACK")


class MiniaudioSink:
    """miniaudio PlaybackDevice pulling from a ring buffer; works where PortAudio is missing.

    `write` blocks while the ring (`buffer_ms`) is full. The device thread takes what it needs and pads
    with silence when the ring runs short.
    """

    def __init__(self, backends: list[Any] | None = None, buffer_ms: float = 60.0, period_ms: int = 20):
        self.backends = backends
        self.name = "miniaudio"
        self.sample_rate = 0
        self.warning: str | None = None
        self.underruns = 0
        self._buffer_ms = buffer_ms
        self._period_ms = period_ms
        self._ring = bytearray()
        self._capacity = 0
        self._cond = threading.Condition()
        self._written = 0  # bytes handed in
        self._pulled = 0  # bytes taken by the device
        self._gen = 0
        self._device: Any = None
        self._in_utterance = False
        self._utterance_bytes = 0

    @staticmethod
    def real_backends() -> list[Any]:
        miniaudio = optional.miniaudio("the miniaudio audio back-end", "audio")

        return [miniaudio.Backend[name] for name in _REAL_MINIAUDIO_BACKENDS]

    @staticmethod
    def probe(backends: list[Any], sample_rate: int = 24000) -> str:
        """Open and close the default playback device; return the back-end name, or raise."""
        miniaudio = optional.miniaudio("the miniaudio audio back-end", "audio")

        with _quiet_stderr():
            device = miniaudio.PlaybackDevice(
                output_format=miniaudio.SampleFormat.SIGNED16,
                nchannels=1,
                sample_rate=sample_rate,
                backends=backends,
            )
            backend = str(device.backend)
            device.close()
        if backend.lower() == "null":
            raise NuanuError("audio", "miniaudio: only the null back-end is available")
        return backend

    def open(self, sample_rate: int) -> None:
        miniaudio = optional.miniaudio("the miniaudio audio back-end", "audio")

        self.sample_rate = sample_rate
        self._capacity = max(2, int(sample_rate * self._buffer_ms / 1000) * 2)
        try:
            with _quiet_stderr():
                device = miniaudio.PlaybackDevice(
                    output_format=miniaudio.SampleFormat.SIGNED16,
                    nchannels=1,
                    sample_rate=sample_rate,
                    buffersize_msec=self._period_ms,
                    backends=self.backends,
                )
        except Exception as exc:
            raise NuanuError("audio", f"miniaudio: cannot open output: {_one_line(exc)}") from exc
        self.name = f"miniaudio:{str(device.backend).lower()}"
        generator = self._pull()
        next(generator)
        device.start(generator)
        self._device = device

    def _pull(self) -> Generator[bytes, int, None]:
        """Runs on miniaudio's device thread: hand out what the ring holds, padded with silence."""
        required = yield b""
        while True:
            want = required * 2
            with self._cond:
                got = bytes(self._ring[:want])
                del self._ring[:want]
                self._pulled += len(got)
                if len(got) < want and self._in_utterance and self._utterance_bytes:
                    self.underruns += 1
                self._cond.notify_all()
            if len(got) < want:
                got += bytes(want - len(got))
            required = yield got

    def utterance_started(self) -> None:
        with self._cond:
            self._in_utterance = True
            self._utterance_bytes = 0

    def utterance_ended(self) -> None:
        with self._cond:
            self._in_utterance = False

    def write(self, pcm: bytes) -> None:
        if self._device is None:
            raise NuanuError("audio", f"{self.name}: write before open")
        gen = self._gen
        view = memoryview(pcm)[: len(pcm) & ~1]
        pos = 0
        with self._cond:
            while pos < len(view):
                if self._gen != gen:
                    return
                room = self._capacity - len(self._ring)
                if room <= 0:
                    self._cond.wait(self._period_ms / 1000)
                    continue
                piece = view[pos : pos + (room & ~1 or 2)]
                self._ring += piece
                self._written += len(piece)
                self._utterance_bytes += len(piece)
                pos += len(piece)

    def drain(self) -> None:
        """Wait until the device has pulled everything, then one period for it to play out."""
        gen = self._gen
        with self._cond:
            while self._pulled < self._written and self._gen == gen and self._device is not None:
                self._cond.wait(self._period_ms / 1000)
        if self._gen == gen:
            threading.Event().wait(self._period_ms / 1000)

    def abort(self) -> None:
        with self._cond:
            self._gen += 1
            self._written -= len(self._ring)
            self._ring.clear()
            self._cond.notify_all()

    def close(self) -> None:
        self.abort()
        device, self._device = self._device, None
        if device is not None:
            device.close()


def make_sink(spec: str) -> AudioSink:
    """Build a sink from `device` | `null` | `wav:PATH`; `device` falls back and says why in `warning`."""
    spec = (spec or "").strip()
    if spec == "null":
        return NullSink()
    if spec.startswith("wav:") and len(spec) > 4:
        return WavSink(spec[4:])
    if spec != "device":
        raise NuanuError("config", f"bad audio spec {spec!r}: use device, null or wav:PATH")
    reasons: list[str] = []
    try:
        device_name = SoundDeviceSink.probe()
    except Exception as exc:  # OSError: no PortAudio; PortAudioError/ValueError: no output device
        reasons.append(f"PortAudio: {_one_line(exc)}")
    else:
        sink = SoundDeviceSink()
        sink.name = f"sounddevice:{device_name}"
        return sink
    try:
        backends = MiniaudioSink.real_backends()
        backend = MiniaudioSink.probe(backends)
    except Exception as exc:
        reasons.append(f"miniaudio: {_one_line(exc)}")
    else:
        sink = MiniaudioSink(backends=backends)
        sink.name = f"miniaudio:{backend.lower()}"
        return sink
    sink = NullSink()
    sink.warning = f"no sound card ({'; '.join(reasons)}); audio goes to a silent null sink"
    return sink
