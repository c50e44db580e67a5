"""PortAudio through sounddevice: the first choice for a real output device."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

from nuanu_tui.core.audio.base import one_line
from nuanu_tui.core.audio.ring import DEVICE_LATENCY_S, STALL_S, RingSink
from nuanu_tui.core.audio.stderr_tap import quiet_stderr
from nuanu_tui.core.errors import NuanuError

_NS = 1_000_000_000

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
            with quiet_stderr():
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


class SoundDeviceSink(RingSink):
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
            with quiet_stderr():
                stream = sd.RawOutputStream(
                    samplerate=sample_rate,
                    channels=1,
                    dtype="int16",
                    device=int(info["index"]),
                    latency=self.latency,
                )
                stream.start()
        except Exception as exc:  # PortAudioError, ValueError: no such device, bad rate
            raise NuanuError("audio_device", f"{self.name}: cannot open output: {one_line(exc)}") from exc
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
                self._fail(f"{self.name}: {one_line(exc)}")
        finally:
            with contextlib.suppress(Exception), quiet_stderr():
                stream.abort()
            with contextlib.suppress(Exception), quiet_stderr():
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
