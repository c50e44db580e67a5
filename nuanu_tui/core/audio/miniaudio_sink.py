"""miniaudio's playback device: the real output where PortAudio is missing."""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import Any

from nuanu_tui.core.audio import optional
from nuanu_tui.core.audio.base import one_line
from nuanu_tui.core.audio.ring import STALL_S, RingSink
from nuanu_tui.core.audio.stderr_tap import quiet_stderr
from nuanu_tui.core.errors import NuanuError

_REAL_MINIAUDIO_BACKENDS = ("PULSEAUDIO", "ALSA", "JACK")


class MiniaudioSink(RingSink):
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

        with quiet_stderr():
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

        with quiet_stderr():
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
            with quiet_stderr():
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
            raise NuanuError("audio_device", f"miniaudio: cannot open output: {one_line(exc)}") from exc
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
            with contextlib.suppress(Exception), quiet_stderr():
                device.close()
