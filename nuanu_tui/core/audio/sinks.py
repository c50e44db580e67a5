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


STALL_S = 3.0  # a device that takes no samples for this long is gone (a suspended sink, a hung server)
# PortAudio's own buffer. Its feeder is a Python thread sharing a GIL with the engine: with PortAudio's
# "low" (8 ms on ALSA's pulse plugin) a busy moment on a loaded machine left audible holes in the
# real-speaker test; 40 ms rides those out and adds that much to the device latency (README).
DEVICE_LATENCY_S = 0.04
OPEN_CHECK_MS = 100  # at open, the device must take this much silence: proof that it really plays


class _RingSink(_UtteranceHooks):
    """A ring the writer fills and a device side empties in periods, padding with silence when it is short.

    The device side runs all the time, between utterances too, so the output never stops and restarts
    (a restart costs a start-up delay and an ALSA xrun). What a device thread or callback took counts
    as accepted by the device; `heard()` says whether any sample of the current utterance got that far.
    A device that fails or stops taking samples is reported by `write`/`drain` (NuanuError
    "audio_device") and by `health()` while idle, so the player can close it and reopen it.
    """

    def __init__(self, name: str, buffer_ms: float, period_ms: float, stall_s: float = STALL_S) -> None:
        self.name = name
        self.sample_rate = 0
        self.warning: str | None = None
        self.underruns = 0
        self._buffer_ms = buffer_ms
        self._period_ms = period_ms
        self._stall_ns = int(stall_s * _NS)
        self._ring = bytearray()
        self._capacity = 0
        self._cond = threading.Condition()
        self._written = 0  # bytes handed in
        self._pulled = 0  # bytes taken by the device side
        self._accepted_total = 0  # bytes the device accepted (silence included)
        self._last_take_ns = 0
        self._gen = 0
        self._failed: str | None = None
        self._running = False
        self._in_utterance = False
        self._utterance_samples = 0  # samples of this utterance handed in
        self._utterance_heard = 0  # samples of this utterance the device accepted
        self._pending_heard = 0  # utterance samples taken but not yet confirmed by the device

    # --- device side ------------------------------------------------------------------------------------
    def _take(self, want: int) -> tuple[bytes, int]:
        """Up to `want` bytes from the ring, padded with silence; returns (data, utterance bytes in it)."""
        with self._cond:
            got = bytes(self._ring[:want])
            del self._ring[:want]
            self._pulled += len(got)
            self._last_take_ns = time.perf_counter_ns()
            if len(got) < want and self._in_utterance and self._utterance_samples:
                self.underruns += 1  # ran dry mid-utterance with more audio coming
            self._cond.notify_all()
        return got + bytes(want - len(got)), len(got)  # ring data is always the current utterance's

    def _accepted(self, size: int, own: int) -> None:
        """The device accepted `size` bytes, `own` of them the current utterance's."""
        with self._cond:
            self._accepted_total += size
            self._utterance_heard += own // 2
            self._cond.notify_all()

    def _fail(self, reason: str) -> None:
        with self._cond:
            if self._failed is None:
                self._failed = reason
            self._cond.notify_all()

    def _check(self) -> None:
        """Raise when the device failed or stalled (called with the condition held)."""
        if self._failed is not None:
            raise NuanuError("audio_device", self._failed)
        if self._running and time.perf_counter_ns() - self._last_take_ns > self._stall_ns:
            self._failed = f"{self.name}: the device took no samples for {self._stall_ns / _NS:.0f} s"
            raise NuanuError("audio_device", self._failed)

    def health(self) -> str | None:
        """None while the device works; else why not (it failed, or stopped taking samples)."""
        with self._cond:
            try:
                self._check()
            except NuanuError as exc:
                return exc.message
        return None

    def heard(self) -> bool:
        """Has the device accepted any sample of the current utterance?"""
        return self._utterance_heard > 0

    def _reset(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._capacity = max(2, int(sample_rate * self._buffer_ms / 1000) * 2)
        with self._cond:
            self._ring.clear()
            self._written = self._pulled = self._accepted_total = 0
            self._failed = None
            self._last_take_ns = time.perf_counter_ns()
            self._running = True

    def _wait_accepting(self, what: str) -> None:
        """Block until the device accepted OPEN_CHECK_MS of silence: a device that opens but never plays
        (a suspended sink) is not working."""
        need = int(self.sample_rate * OPEN_CHECK_MS / 1000) * 2
        deadline = time.perf_counter_ns() + self._stall_ns
        with self._cond:
            while self._accepted_total < need:
                if self._failed is not None:
                    raise NuanuError("audio_device", self._failed)
                left = deadline - time.perf_counter_ns()
                if left <= 0:
                    raise NuanuError(
                        "audio_device",
                        f"{what}: opened, but it took no samples for {self._stall_ns / _NS:.0f} s",
                    )
                self._cond.wait(min(left / _NS, 0.05))

    # --- writer side ------------------------------------------------------------------------------------
    def utterance_started(self) -> None:
        with self._cond:
            self._in_utterance = True
            self._utterance_samples = 0
            self._utterance_heard = 0

    def utterance_ended(self) -> None:
        with self._cond:
            self._in_utterance = False

    def write(self, pcm: bytes) -> None:
        if not self._running:
            raise NuanuError("audio_device", f"{self.name}: write before open")
        gen = self._gen
        view = memoryview(pcm)[: len(pcm) & ~1]
        pos = 0
        with self._cond:
            while pos < len(view):
                if self._gen != gen:
                    return
                self._check()
                room = self._capacity - len(self._ring)
                if room <= 0:
                    self._cond.wait(self._period_ms / 1000)
                    continue
                piece = view[pos : pos + (room & ~1 or 2)]
                self._ring += piece
                self._written += len(piece)
                self._utterance_samples += len(piece) // 2
                pos += len(piece)

    def drain(self) -> None:
        """Wait until the device has taken everything, then for its own buffer to play out."""
        gen = self._gen
        with self._cond:
            while self._pulled < self._written and self._gen == gen and self._running:
                self._check()
                self._cond.wait(self._period_ms / 1000)
            if self._running and self._gen == gen:
                self._check()
        if self._gen == gen:
            threading.Event().wait(self._device_latency_s())

    def _device_latency_s(self) -> float:
        return self._period_ms / 1000

    def abort(self) -> None:
        with self._cond:
            self._gen += 1
            self._written -= len(self._ring)
            self._ring.clear()
            self._cond.notify_all()

    def _stop_ring(self) -> None:
        with self._cond:
            self._gen += 1
            self._running = False
            self._ring.clear()
            self._cond.notify_all()


# A real device never takes more than its buffer ahead of the wall clock; one that does has no clock, and
# feeding it silence as fast as it takes it would spin a core.
CLOCKLESS_AHEAD_S = 0.5


def _realtime_thread() -> None:
    """Ask for real-time scheduling for the calling thread, as audio back ends do (miniaudio's device thread
    too): on a loaded machine a late feeder is heard as a hole. Granted where allowed (root, RLIMIT_RTPRIO),
    silently not elsewhere. The feeder mostly sleeps in PortAudio's write, so it cannot starve the rest."""
    with contextlib.suppress(AttributeError, OSError, PermissionError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))  # type: ignore[attr-defined]


_portaudio_streams = 0  # our PortAudio streams open in this process (a rescan must wait until none is)
_portaudio_lock = threading.Lock()


def _portaudio_rescan() -> None:
    """Re-initialise PortAudio so it sees devices (and audio servers) that appeared since it started.
    PortAudio lists devices once, at initialisation; a USB speaker plugged back in is not in that list."""
    import sounddevice as sd

    with _portaudio_lock:
        if _portaudio_streams == 0:
            with _quiet_stderr():
                sd._terminate()
                sd._initialize()


def list_output_devices() -> list[tuple[int, str, str]]:
    """PortAudio's output devices as (index, name, host API), for `doctor` and the picker."""
    import sounddevice as sd

    _portaudio_rescan()
    apis = sd.query_hostapis()
    return [
        (int(d["index"]), str(d["name"]), str(apis[d["hostapi"]]["name"]))
        for d in sd.query_devices()
        if d["max_output_channels"] > 0
    ]


class SoundDeviceSink(_RingSink):
    """PortAudio via sounddevice: one long-lived int16 mono RawOutputStream fed by its own thread.

    The feeder thread takes a period from the ring (silence when it is short) and hands it to PortAudio's
    blocking write, which paces it. A PortAudio call that never returns (a suspended PulseAudio sink blocks
    a write forever, and aborting from another thread does not reliably free it) costs that thread only:
    the ring's stall check reports the device lost, and the player opens a new stream.

    `device` is None (the default output), an index or a name as `doctor` lists them; a name is looked up
    again at every open, so a device that comes back under the same name (at another index) is found.
    """

    def __init__(
        self,
        device: int | str | None = None,
        latency: str | float = DEVICE_LATENCY_S,
        piece_ms: float = 20.0,
        buffer_ms: float = 60.0,
        stall_s: float = STALL_S,
    ):
        super().__init__(
            f"sounddevice:{device if device is not None else 'default'}", buffer_ms, piece_ms, stall_s
        )
        self.device = device
        self.latency = latency
        self._piece_ms = piece_ms
        self._stream: Any = None
        self._feeder: threading.Thread | None = None
        self._stream_latency_s = 0.0

    @staticmethod
    def probe(device: int | str | None = None) -> str:
        """Return the output device's name, or raise (OSError without PortAudio, else no device)."""
        import sounddevice as sd  # raises OSError when the PortAudio library is missing

        _portaudio_rescan()
        info = sd.query_devices(device, kind="output")
        return str(info["name"])

    def open(self, sample_rate: int) -> None:
        import sounddevice as sd

        global _portaudio_streams
        self.close()
        try:
            _portaudio_rescan()
            info = sd.query_devices(self.device, kind="output")
            with _quiet_stderr():
                stream = sd.RawOutputStream(
                    samplerate=sample_rate,
                    channels=1,
                    dtype="int16",
                    device=int(info["index"]),
                    latency=self.latency,
                )
                stream.start()
        except Exception as exc:  # PortAudioError, ValueError: no such device, bad rate
            raise NuanuError("audio_device", f"{self.name}: cannot open output: {_one_line(exc)}") from exc
        self.name = f"sounddevice:{info['name']}"
        with _portaudio_lock:
            _portaudio_streams += 1
        self._stream = stream
        self._stream_latency_s = float(stream.latency)
        self._reset(sample_rate)
        self._feeder = threading.Thread(
            target=self._feed, args=(stream, self._gen), name="nuanu-portaudio", daemon=True
        )
        self._feeder.start()
        try:
            self._wait_accepting(self.name)
        except NuanuError:
            self.close()
            raise

    def _feed(self, stream: Any, gen: int) -> None:
        """The device side: periods from the ring into PortAudio's blocking write, until closed."""
        global _portaudio_streams
        step = max(2, int(self.sample_rate * self._piece_ms / 1000) * 2)
        _realtime_thread()
        started_ns, fed = time.perf_counter_ns(), 0
        try:
            while self._running and self._stream is stream:
                data, own = self._take(step)
                underflowed = stream.write(data)
                if self._stream is stream:
                    self._accepted(len(data), own)
                    if underflowed and own and self._in_utterance:
                        self.underruns += 1  # the device ran dry under us (a late feeder)
                fed += len(data) // 2
                ahead_s = fed / self.sample_rate - (time.perf_counter_ns() - started_ns) / _NS
                if ahead_s > CLOCKLESS_AHEAD_S:  # a device without a clock (ALSA's file/null PCM)
                    with self._cond:
                        self._cond.wait(ahead_s - CLOCKLESS_AHEAD_S / 2)
        except Exception as exc:
            if self._stream is stream:
                self._fail(f"{self.name}: {_one_line(exc)}")
        finally:
            with contextlib.suppress(Exception), _quiet_stderr():
                stream.abort()
            with contextlib.suppress(Exception), _quiet_stderr():
                stream.close()
            with _portaudio_lock:
                _portaudio_streams -= 1

    def _device_latency_s(self) -> float:
        return self._stream_latency_s + self._piece_ms / 1000

    def close(self) -> None:
        """Stop the feeder; it closes the stream. A feeder stuck in PortAudio is left behind, not waited on."""
        self._stop_ring()
        feeder, self._feeder = self._feeder, None
        self._stream = None
        if feeder is not None and feeder is not threading.current_thread():
            feeder.join(timeout=1.0)


_REAL_MINIAUDIO_BACKENDS = ("PULSEAUDIO", "ALSA", "JACK")


class MiniaudioSink(_RingSink):
    """miniaudio PlaybackDevice pulling from the ring; works where PortAudio is missing."""

    def __init__(
        self,
        backends: list[Any] | None = None,
        buffer_ms: float = 60.0,
        period_ms: int = 20,
        device: str | None = None,
        stall_s: float = STALL_S,
    ):
        super().__init__("miniaudio", buffer_ms, period_ms, stall_s)
        self.backends = backends
        self.device = device
        self._period_ms_int = period_ms
        self._device: Any = None
        self._devices: Any = None

    @staticmethod
    def real_backends() -> list[Any]:
        miniaudio = optional.backend()

        return [miniaudio.Backend[name] for name in _REAL_MINIAUDIO_BACKENDS]

    @staticmethod
    def probe(backends: list[Any], sample_rate: int = 24000) -> str:
        """Open and close the default playback device; return the back-end name, or raise."""
        miniaudio = optional.backend()

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

    def _device_id(self) -> Any:
        """The playback device called `self.device` (exact name, else the one containing it), or None."""
        if self.device is None:
            return None
        import miniaudio

        with _quiet_stderr():
            self._devices = miniaudio.Devices(backends=self.backends)  # owns the ids: keep it alive
            playbacks = self._devices.get_playbacks()
        names = [str(d["name"]) for d in playbacks]
        for i, name in enumerate(names):
            if name == self.device:
                return playbacks[i]["id"]
        for i, name in enumerate(names):
            if self.device.lower() in name.lower():
                return playbacks[i]["id"]
        raise NuanuError("audio_device", f"miniaudio: no playback device named {self.device!r}")

    def open(self, sample_rate: int) -> None:
        miniaudio = optional.backend()

        self.close()
        try:
            device_id = self._device_id()
            with _quiet_stderr():
                device = miniaudio.PlaybackDevice(
                    output_format=miniaudio.SampleFormat.SIGNED16,
                    nchannels=1,
                    sample_rate=sample_rate,
                    buffersize_msec=self._period_ms_int,
                    backends=self.backends,
                    device_id=device_id,
                )
        except NuanuError:
            raise
        except Exception as exc:
            raise NuanuError("audio_device", f"miniaudio: cannot open output: {_one_line(exc)}") from exc
        self.name = f"miniaudio:{str(device.backend).lower()}" + (f":{self.device}" if self.device else "")
        self._reset(sample_rate)
        generator = self._pull()
        next(generator)
        self._device = device
        device.start(generator)
        try:
            self._wait_accepting(self.name)
        except NuanuError:
            self.close()
            raise

    def _pull(self) -> Generator[bytes, int, None]:
        """Runs on miniaudio's device thread: hand out what the ring holds, padded with silence."""
        required = yield b""
        while True:
            data, own = self._take(required * 2)
            self._accepted(len(data), own)
            required = yield data

    def close(self) -> None:
        self._stop_ring()
        device, self._device = self._device, None
        if device is not None:
            with contextlib.suppress(Exception), _quiet_stderr():
                device.close()


def parse_device(spec: str) -> int | str | None:
    """`device` -> None (the default output), `device:3` -> 3, `device:NAME` -> NAME; else ValueError."""
    if spec == "device":
        return None
    name = spec[len("device:") :].strip() if spec.startswith("device:") else ""
    if not name:
        raise ValueError(spec)
    return int(name) if name.isdigit() else name


def make_sink(spec: str) -> AudioSink:
    """Build a sink from `device[:NAME|:INDEX]` | `null` | `wav:PATH`.

    Plain `device` falls back (PortAudio, then miniaudio on a real back-end, then a silent null sink) and
    says why in `warning`. A named device is what the operator asked for: it is never swapped for another;
    when it is missing the player reports it lost and keeps looking for it.
    """
    spec = (spec or "").strip()
    if spec == "null":
        return NullSink()
    if spec.startswith("wav:") and len(spec) > 4:
        return WavSink(spec[4:])
    try:
        device = parse_device(spec)
    except ValueError:
        raise NuanuError(
            "config", f"bad audio spec {spec!r}: use device, device:NAME, device:INDEX, null or wav:PATH"
        ) from None
    reasons: list[str] = []
    try:
        device_name = SoundDeviceSink.probe(device)
    except OSError as exc:  # no PortAudio library at all
        reasons.append(f"PortAudio: {_one_line(exc)}")
    except Exception as exc:  # PortAudioError/ValueError: no such output device (right now)
        if device is not None:  # named: keep looking for it where the operator saw it
            return SoundDeviceSink(device)
        reasons.append(f"PortAudio: {_one_line(exc)}")
    else:
        sink = SoundDeviceSink(device)
        sink.name = f"sounddevice:{device_name}"
        return sink
    if device is not None:
        return MiniaudioSink(backends=_real_backends_or_none(), device=str(device))
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


def _real_backends_or_none() -> list[Any] | None:
    try:
        return MiniaudioSink.real_backends()
    except Exception:
        return None
