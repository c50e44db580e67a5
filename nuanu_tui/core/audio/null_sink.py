"""The silent sink: paced in real time like a device with a small buffer, so timings stay honest without
a sound card."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nuanu_tui.core.audio.base import UtteranceHooks
from nuanu_tui.core.errors import NuanuError

_NS = 1_000_000_000


class NullSink(UtteranceHooks):
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
                        self._ran_dry(now - self._end_ns)
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

    def _ran_dry(self, silent_ns: int) -> None:
        """Hook: inside an utterance the (virtual) device played `silent_ns` of silence before this write
        (the remark came after the interjection's pause, or the stream underran)."""

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
