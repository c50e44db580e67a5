"""The player: one long-lived output and one writer thread that plays utterances in order.

TTS bytes are decoded (and resampled when needed) on the caller's thread — it is cheap — and queued as
PCM. `first_audio` is the moment an utterance's first sample went to `sink.write`, recorded only once
the device has accepted a sample of it (audio nobody heard has no TTFA); `playback_done` once the sink has
drained the tail plus a short silence pad. Nothing on the writer thread waits on the asyncio loop: stage
callbacks and `wait_done` are posted with `call_soon_threadsafe`.

A device that fails (or stops taking samples) mid-playback fails that utterance, is closed, and is reopened
in the background with backoff (and again when the next utterance begins); `lost` and `back_since` say
where that stands, for the status bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nuanu_tui.core.audio.base import AudioFormat, AudioSink, Decoder
from nuanu_tui.core.audio.decoders import make_decoder
from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.clock import now_ns
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.timeline import Timeline

log = logging.getLogger(__name__)

_END = object()  # no more audio for this playback
_WAKE = object()  # re-check the cancel flag
_STOP = object()  # writer thread: exit


class _Lead:
    """A pre-rendered clip (an interjection) played ahead of the utterance's own audio, in the same stream."""

    __slots__ = ("pause_ms", "pcm")

    def __init__(self, pcm: bytes, pause_ms: float) -> None:
        self.pcm = pcm
        self.pause_ms = pause_ms


PAD_MS = 30  # silence written after the tail so the last sample is not cut
PIECE_MS = 20  # writes are split so a cancel takes effect within one piece
REOPEN_BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0)  # then every REOPEN_MAX_S
REOPEN_MAX_S = 5.0


@dataclass(frozen=True, slots=True)
class DeviceLost:
    """The output device is gone: which one, since when (wall clock), why, and reopen attempts so far."""

    device: str
    since: float
    reason: str
    attempts: int = 0


class Playback:
    """One utterance's audio: `feed` bytes, `end`, then `await wait_done()`."""

    def __init__(
        self,
        player: Player,
        utterance_id: str,
        fmt: AudioFormat,
        timeline: Timeline,
        on_stage: Callable[[str], None] | None,
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        self.utterance_id = utterance_id
        self.fmt = fmt
        self.timeline = timeline
        self.audio_seconds = 0.0
        self.error: str | None = None
        self.cancelled = False
        self.ended = False
        self.played = False  # playback_done was stamped
        self.final = True  # False for a segment followed by another of the same utterance (TTS fallback)
        self.lead_ms: float | None = None  # the lead clip's length, once queued
        self.gap_ms: float | None = None  # silence between the lead's last sample and the first fed one
        self.lead_wait_ms: float | None = None  # how long fed audio was ready but held behind the lead
        self.fed = False
        self._ready_ns = 0
        self._lead_end_ns = 0
        self._first_stages: tuple[str, ...] = ()  # what `_first_ns` stamps once confirmed heard
        self._player = player
        self._on_stage = on_stage
        self._loop = loop
        self._decoder: Decoder = make_decoder(fmt)
        self._resampler: Any = None
        self._samples = 0
        self._first_ns: int | None = None  # first sample handed to the device, not yet confirmed heard
        self._chunks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done = threading.Event()
        self._cancel_event = threading.Event()
        self._future: asyncio.Future[None] | None = loop.create_future() if loop is not None else None

    # --- caller side -------------------------------------------------------------------------------
    def lead(self, pcm: bytes, pause_ms: float) -> None:
        """Queue `pcm` (s16le at the player's rate) to play at once, before anything fed; the fed audio
        follows it after at least `pause_ms` of silence, never overlapping it. Call before `feed`."""
        if self.cancelled or self.ended or self.fed or not pcm:
            return
        self.lead_ms = len(pcm) / 2 * 1000.0 / self._player.sample_rate
        self._chunks.put(_Lead(pcm, pause_ms))

    def retarget(self, fmt: AudioFormat) -> None:
        """The TTS's format turned out different (a fallback voice) before any audio was fed."""
        if not self.fed and fmt != self.fmt:
            self.fmt = fmt
            self._decoder = make_decoder(fmt)

    def feed(self, data: bytes) -> None:
        """Raw TTS bytes (pcm or mp3). Decodes here, resamples to the device rate, queues the PCM."""
        if self.cancelled or self.ended or not data:
            return
        self.fed = True
        pcm = self._decoder.feed(data)
        if pcm:
            self._enqueue(pcm, last=False)

    def end(self) -> None:
        """No more data for this utterance; the writer plays the tail, drains and stamps playback_done."""
        if self.ended:
            return
        self.ended = True
        if not self.cancelled:
            tail = self._decoder.flush()
            self._enqueue(tail, last=True)
        self._chunks.put(_END)

    def cancel(self) -> None:
        """Stop this utterance (now if it is playing); `wait_done` resolves without playback_done."""
        if self._mark_cancelled():
            self._player._cancelled(self)
            self._finish()

    async def wait_done(self) -> None:
        """Resolves once playback_done is stamped, or the playback is cancelled.

        Raises NuanuError("audio_device") when the device failed mid-playback, so the utterance records it.
        """
        if self._future is None:
            raise RuntimeError("wait_done needs the playback to be begun on a running event loop")
        await asyncio.shield(self._future)
        if self.error is not None:
            raise NuanuError("audio_device", self.error)

    def wait(self, timeout: float | None = None) -> bool:
        """Blocking variant of `wait_done` for code without an event loop."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def _enqueue(self, pcm: bytes, last: bool) -> None:
        rate = self._player.sample_rate
        source_rate = self._decoder.sample_rate or self.fmt.sample_rate
        if source_rate != rate or self._resampler is not None:
            pcm = self._resample(pcm, source_rate, rate, last)
        if not pcm:
            return
        if not self._samples:
            self._ready_ns = now_ns()
        self._samples += len(pcm) // 2
        self.audio_seconds = self._samples / rate
        self._chunks.put(pcm)

    def _resample(self, pcm: bytes, source_rate: int, rate: int, last: bool) -> bytes:
        import numpy as np  # only a voice at another rate needs these (~0.3 s of imports): not at start-up
        import soxr

        if self._resampler is None:
            if not pcm:
                return b""
            self._resampler = soxr.ResampleStream(source_rate, rate, 1, dtype="int16")
        samples = np.frombuffer(pcm, dtype=np.int16)
        return self._resampler.resample_chunk(samples, last=last).tobytes()

    def _mark_cancelled(self) -> bool:
        """Flag the cancel and wake the writer; False when there was nothing to cancel."""
        if self.cancelled or self._done.is_set():
            return False
        self.cancelled = True
        self._cancel_event.set()
        self._chunks.put(_WAKE)
        return True

    # --- writer side -------------------------------------------------------------------------------
    def _stage(self, stage: str) -> None:
        if self._on_stage is None or self._loop is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed: nobody is listening
            self._loop.call_soon_threadsafe(self._on_stage, stage)

    def _finish(self) -> None:
        if self._done.is_set():
            return
        self._done.set()
        self._player._forget(self)
        fut, loop = self._future, self._loop
        if fut is not None and loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, fut)


def _one_line(exc: BaseException) -> str:
    return exc.message if isinstance(exc, NuanuError) else " ".join(str(exc).split())


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Player:
    """One long-lived sink and one writer thread; playbacks play strictly in `begin` order."""

    def __init__(self, sink: AudioSink, *, heard: bool = True) -> None:
        self._sink: AudioSink = sink
        self.heard = heard  # False: a stand-in nobody listens to; no first_audio/playback_done stamps
        self._pending: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._live: set[Playback] = set()
        self._current: Playback | None = None
        self._closed = False
        self._started = False
        self._warning: str | None = getattr(sink, "warning", None)
        self.last_error: str | None = None
        self._rate = 0
        self._lost: DeviceLost | None = None
        self.back_since: float | None = None  # wall clock of the last recovery
        self._back = threading.Event()
        self._back.set()
        self._poke = threading.Event()
        self._reopener: threading.Thread | None = None

    # --- properties ------------------------------------------------------------------------------------
    @property
    def sink(self) -> AudioSink:
        return self._sink

    @property
    def sink_name(self) -> str:
        return self._sink.name

    @property
    def sample_rate(self) -> int:
        return self._sink.sample_rate

    @property
    def warning(self) -> str | None:
        return self._warning

    @property
    def underruns(self) -> int:
        return int(getattr(self._sink, "underruns", 0))

    @property
    def started(self) -> bool:
        return self._started

    @property
    def lost(self) -> DeviceLost | None:
        """Set while the output device is gone (the player keeps trying to reopen it)."""
        return self._lost

    def check(self) -> DeviceLost | None:
        """Notice a device that failed or stopped taking samples while nothing plays; returns `lost`."""
        health = getattr(self._sink, "health", None)
        if self._lost is None and health is not None and self._current is None and self._started:
            reason = health()
            if reason is not None:
                with self._lock:
                    idle = self._current is None
                if idle:
                    self._device_failed(reason)
        return self._lost

    def wait_back(self, timeout: float) -> bool:
        """Block until the device works again (True) or `timeout` passes (False)."""
        if self._lost is None:
            return True
        return self._back.wait(timeout)

    def retry_now(self) -> None:
        """Try the lost device again now instead of at the next backoff step (a remark is waiting)."""
        if self._lost is not None:
            self._poke.set()

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self, sample_rate: int) -> None:
        """Open the sink once and start the writer thread. A device that fails to open falls back to null."""
        if self._closed:
            raise NuanuError("audio", "player is closed")
        if self._started:
            return
        self._rate = sample_rate
        try:
            self._sink.open(sample_rate)
        except Exception as exc:
            if isinstance(self._sink, NullSink):
                raise
            if getattr(self._sink, "device", None) is not None:  # the operator named it: wait for it
                self._started = True
                self._device_failed(_one_line(exc))
                self._thread = threading.Thread(target=self._run, name="nuanu-audio", daemon=True)
                self._thread.start()
                return
            reason = _one_line(exc)
            fallback = NullSink()
            fallback.open(sample_rate)
            self._warning = f"{self._sink.name} failed ({reason}); audio goes to a silent null sink"
            fallback.warning = self._warning
            self._sink = fallback
        self._started = True
        self._thread = threading.Thread(target=self._run, name="nuanu-audio", daemon=True)
        self._thread.start()

    def begin(
        self,
        utterance_id: str,
        fmt: AudioFormat,
        timeline: Timeline,
        on_stage: Callable[[str], None] | None = None,
    ) -> Playback:
        """Queue a new utterance. Call from the event loop (stages are posted back to it)."""
        if self._closed:
            raise NuanuError("audio", "player is closed")
        if not self._started:
            self.start(fmt.sample_rate)
        self.retry_now()  # a lost device: try it again now, not only on the backoff schedule
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        playback = Playback(self, utterance_id, fmt, timeline, on_stage, loop)
        with self._lock:
            self._live.add(playback)
        self._pending.put(playback)
        return playback

    def interrupt(self) -> None:
        """Stop the current audio at once and drop everything queued."""
        with self._lock:
            live = list(self._live)
        # flag every playback before the sink is aborted, so the writer cannot move on to a queued one
        cancelled = [playback for playback in live if playback._mark_cancelled()]
        self._abort_sink()
        for playback in cancelled:
            playback._finish()

    def close(self) -> None:
        """Drop queued audio, stop the writer thread, close the sink. Idempotent; never hangs."""
        if self._closed:
            return
        self._closed = True
        self.interrupt()
        self._poke.set()
        self._pending.put(_STOP)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
            if thread.is_alive():
                log.warning("audio writer thread did not stop within 2 s")
        reopener = self._reopener
        if reopener is not None and reopener is not threading.current_thread():
            reopener.join(timeout=2.0)
        try:
            self._sink.close()
        except Exception as exc:
            log.warning("closing %s: %s", self._sink.name, exc)

    # --- bookkeeping called by Playback -----------------------------------------------------------------
    def _cancelled(self, playback: Playback) -> None:
        if self._current is playback:
            self._abort_sink()

    def _forget(self, playback: Playback) -> None:
        with self._lock:
            self._live.discard(playback)

    def _abort_sink(self) -> None:
        try:
            self._sink.abort()
        except Exception as exc:
            log.warning("aborting %s: %s", self._sink.name, exc)

    # --- writer thread ---------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            playback = self._pending.get()
            if playback is _STOP:
                return
            with self._lock:
                self._current = playback
                lost = self._lost
            try:
                if lost is not None:
                    playback.error = f"audio device lost, not played ({lost.device}: {lost.reason})"
                    continue
                self._play(playback)
            except Exception as exc:  # a device error must not kill the thread
                message = _one_line(exc)
                if self._sink.name not in message:
                    message = f"{self._sink.name}: {message or type(exc).__name__}"
                playback.error = f"audio device lost mid-playback ({message})"
                self.last_error = message
                log.warning("audio playback %s failed: %s", playback.utterance_id, message)
                self._device_failed(message)
            finally:
                self._current = None
                playback._finish()

    # --- device loss and recovery ------------------------------------------------------------------------
    def _device_failed(self, reason: str) -> None:
        """Close the device, say it is lost, and start reopening it in the background."""
        with self._lock:
            if self._lost is not None or self._closed:
                return
            self._lost = DeviceLost(self._sink.name, time.time(), reason)
            self._back.clear()
        log.warning("audio device lost: %s", reason)
        try:
            self._sink.close()
        except Exception as exc:
            log.warning("closing %s: %s", self._sink.name, exc)
        if self._reopener is None or not self._reopener.is_alive():
            self._reopener = threading.Thread(target=self._reopen, name="nuanu-audio-reopen", daemon=True)
            self._reopener.start()

    def _reopen(self) -> None:
        """Reopen the device with backoff until it takes samples again (or the player closes)."""
        attempt = 0
        while not self._closed:
            lost = self._lost
            if lost is None:
                return
            delay = REOPEN_BACKOFF_S[attempt] if attempt < len(REOPEN_BACKOFF_S) else REOPEN_MAX_S
            if self._poke.wait(delay):
                self._poke.clear()
            if self._closed:
                return
            attempt += 1
            try:
                self._sink.open(self._rate)
            except Exception as exc:
                with self._lock:
                    if self._lost is not None:
                        self._lost = DeviceLost(lost.device, lost.since, lost.reason, attempt)
                log.info("audio device still gone (attempt %d): %s", attempt, _one_line(exc))
                continue
            with self._lock:
                self._lost = None
                self.back_since = time.time()
                self._back.set()
            log.warning("audio device back: %s", self._sink.name)
            return

    def _play(self, playback: Playback) -> None:
        sink = self._sink
        started_hook = getattr(sink, "utterance_started", None)
        ended_hook = getattr(sink, "utterance_ended", None)
        chunks = playback._chunks
        started = False
        lead: _Lead | None = None
        try:
            while True:
                if playback._first_ns is not None:  # confirm the first sample while waiting for more
                    try:
                        item = chunks.get(timeout=PIECE_MS / 1000)
                    except queue.Empty:
                        self._confirm_first(playback)
                        continue
                else:
                    item = chunks.get()
                if playback.cancelled:
                    return
                if item is _WAKE:
                    continue
                if isinstance(item, _Lead):
                    if not started:
                        started = True
                        if started_hook is not None:
                            started_hook()
                    lead = item
                    self._play_lead(playback, item)
                    continue
                if lead is not None:  # the first fed audio after the lead: a natural pause, then the rest
                    self._pause_after_lead(playback, lead)
                    lead = None
                    self._write(playback, item, first=True)
                    continue
                if item is _END:
                    if started:
                        self._finish_tail(playback, ended_hook)
                        started = False
                    return
                if not started:
                    started = True
                    if started_hook is not None:
                        started_hook()
                    self._write(playback, item, first=True)
                else:
                    self._write(playback, item, first=False)
        finally:
            if started and ended_hook is not None:
                ended_hook()

    def _write(self, playback: Playback, pcm: bytes, first: bool) -> None:
        sink = self._sink
        step = max(2, sink.sample_rate * PIECE_MS // 1000 * 2)
        view = memoryview(pcm)
        for start in range(0, len(view), step):
            if playback.cancelled:
                return
            if first and start == 0 and self.heard:
                playback._first_ns = now_ns()  # without an interjection the remark is the first sound too
                playback._first_stages = ("first_sound", "first_audio")
            sink.write(view[start : start + step])
            self._confirm_first(playback)

    def _confirm_first(self, playback: Playback) -> None:
        """Stamp `first_audio` (at hand-over time) once the device has accepted a sample of this utterance."""
        first = playback._first_ns
        if first is None:
            return
        heard = getattr(self._sink, "heard", None)
        if heard is not None and not heard():
            return
        playback._first_ns = None
        for stage in playback._first_stages:
            if playback.timeline.mark(stage, at_ns=first):
                playback._stage(stage)

    def _play_lead(self, playback: Playback, lead: _Lead) -> None:
        """Write the lead clip whole; its first sample is the utterance's first sound."""
        sink = self._sink
        step = max(2, sink.sample_rate * PIECE_MS // 1000 * 2)
        view = memoryview(lead.pcm)
        started_ns = now_ns()
        for start in range(0, len(view), step):
            if playback.cancelled:
                return
            if start == 0 and self.heard:
                playback._first_ns, playback._first_stages = started_ns, ("first_sound",)
            sink.write(view[start : start + step])
            self._confirm_first(playback)
        playback._lead_end_ns = started_ns + int(len(lead.pcm) // 2 * 1_000_000_000 // sink.sample_rate)

    def _pause_after_lead(self, playback: Playback, lead: _Lead) -> None:
        """Silence between the lead and the fed audio: `pause_ms`, or more if the audio came late (then the
        stream has already been silent that long, and no more is added)."""
        sink = self._sink
        late_ns = max(0, now_ns() - playback._lead_end_ns)
        pause_ns = max(0, int(lead.pause_ms * 1_000_000) - late_ns)
        samples = pause_ns * sink.sample_rate // 1_000_000_000
        playback.gap_ms = (late_ns + pause_ns) / 1e6
        if samples and not playback.cancelled:
            self._write(playback, bytes(2 * samples), first=False)
        if playback._ready_ns:
            playback.lead_wait_ms = max(0, now_ns() - playback._ready_ns) / 1e6

    def _finish_tail(self, playback: Playback, ended_hook: Callable[[], None] | None) -> None:
        """Drain, then let PAD_MS of the device's own silence pass before `playback_done`.

        The pad is time, not samples: the stream stays open between utterances, so nothing cuts the tail,
        and a WAV sink keeps exactly the TTS's samples.
        """
        sink = self._sink
        if ended_hook is not None:
            ended_hook()
        sink.drain()
        self._confirm_first(playback)
        if playback.cancelled:
            return
        playback._cancel_event.wait(PAD_MS / 1000)
        if playback.cancelled:
            return
        playback.played = True
        if playback.final and self.heard and playback.timeline.mark("playback_done"):
            playback._stage("playback_done")
