"""The ring both device back-ends share: a writer fills it, the device side empties it in periods."""

from __future__ import annotations

import threading
import time

from nuanu_tui.core.audio.base import UtteranceHooks
from nuanu_tui.core.errors import NuanuError

_NS = 1_000_000_000

STALL_S = 3.0  # a device that takes no samples for this long is gone (a suspended sink, a hung server)
# PortAudio's own buffer. Its feeder is a Python thread sharing a GIL with the engine: with PortAudio's
# "low" (8 ms on ALSA's pulse plugin) a busy moment on a loaded machine left audible holes in the
# real-speaker test; 40 ms rides those out and adds that much to the device latency (README).
DEVICE_LATENCY_S = 0.04
OPEN_CHECK_MS = 100  # at open, the device must take this much silence: proof that it really plays


class RingSink(UtteranceHooks):
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
