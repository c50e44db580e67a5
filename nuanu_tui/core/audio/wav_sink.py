"""The WAV sink: the null sink's pacing plus a file of what a listener heard: the samples the "device" took,
and the silence it played inside an utterance while it waited for more."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import wave
from collections.abc import Callable
from typing import BinaryIO

from nuanu_tui.core.audio.base import one_line
from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.errors import NuanuError


class WavSink(NullSink):
    """A paced null sink that also records what was heard in a 16-bit WAV: exactly the samples handed to the
    device, and, inside an utterance, the silence the device played while it had nothing (the wait between
    the interjection and a late remark, an underrun), so `gap_ms` can be read back from the file. Silence
    between utterances is not recorded (a ride's pauses would fill the disk).

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
            raise NuanuError("audio", f"cannot write {self.path}: {one_line(exc)}") from exc
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

    def _ran_dry(self, silent_ns: int) -> None:
        if self._wav is not None:
            frames = silent_ns * self.sample_rate // 1_000_000_000
            self._wav.writeframesraw(bytes(2 * frames))
            self._frames += frames

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
                        self.warning = f"cannot write {self.path}: {one_line(exc)}"
                with contextlib.suppress(OSError):
                    os.unlink(tmp)  # no audio (or the rename failed): leave what was at `path` alone
