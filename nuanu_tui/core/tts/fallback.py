"""TTS fallback: when the cloud voice fails before or during an utterance, the local voice says the rest.

`FallbackUtterance` is an ordinary TTSUtterance to the pipeline. It remembers the text it was given; on a
fault it opens an utterance on the fallback provider, re-sends the text the cloud had not voiced yet (by its
alignment data), and keeps yielding audio. `format` changes at that moment, so the pipeline can start a new
playback segment at the new sample rate.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from nuanu_tui.core.audio.base import AudioFormat
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.health import HealthBoard
from nuanu_tui.core.tts.base import TTSProvider, TTSUtterance


def unspoken_text(sent: list[str], chars_spoken: int | None, got_audio: bool) -> str:
    """What is left to say, resuming at a word boundary after what the cloud already voiced."""
    text = "".join(sent)
    if not got_audio or not chars_spoken:
        return text if not got_audio else _after_first_chunk(sent)
    if chars_spoken >= len(text):
        return ""
    cut = text.find(" ", chars_spoken)
    return "" if cut < 0 else text[cut + 1 :]


def _after_first_chunk(sent: list[str]) -> str:
    """Audio came but no alignment: assume the first chunk was voiced."""
    return "".join(sent[1:])


class FallbackUtterance:
    """Primary utterance with a local understudy. Faults become `self.fault`; the utterance keeps going."""

    def __init__(
        self,
        utterance_id: str,
        primary: TTSProvider,
        fallback: TTSProvider,
        health: HealthBoard,
        on_fault: Callable[[NuanuError], None],
        open_budget_s: float | None = None,
    ) -> None:
        """`open_budget_s`: how long the cloud voice may take to open before the understudy starts
        (a host that accepts TCP and never answers would otherwise hold the utterance for the whole
        connect timeout)."""
        self._id = utterance_id
        self._primary_provider = primary
        self._fallback_provider = fallback
        self._health = health
        self._on_fault = on_fault
        self._open_budget_s = open_budget_s
        self._primary: TTSUtterance | None = None
        self._fallback: TTSUtterance | None = None
        self._sent: list[str] = []
        self._finished = False
        self._got_primary_audio = False
        self._switching: asyncio.Event | None = None
        self._fallback_finished = False
        self.fault: NuanuError | None = None
        self.format: AudioFormat = primary.format
        self.reused: bool | None = None
        self.voice: TTSProvider = primary  # the provider whose audio `audio()` is yielding now

    async def open(self) -> FallbackUtterance:
        spec = self._primary_provider.spec
        if not self._health.available(spec):
            # Say why, as the fault that tripped it: a key refused during warm-up is still an auth failure
            # here, whether the refusal landed before or after the caller looked at the warm-up errors.
            cause = self._health.get(spec).last_fault
            kind, why = ("tts_unavailable", "") if cause is None else (cause.kind, f" ({cause.message})")
            await self._switch(NuanuError(kind, f"{spec} is marked unavailable{why}"), count=False)
            return self
        starting = asyncio.ensure_future(self._primary_provider.start(self._id))
        done, _ = await asyncio.wait({starting}, timeout=self._open_budget_s)
        if not done:  # still opening: let it finish in the background, speak with the understudy now
            starting.add_done_callback(_abandon)
            spec, budget_ms = self._primary_provider.spec, (self._open_budget_s or 0) * 1000
            await self._switch(NuanuError("tts_timeout", f"{spec}: not open within {budget_ms:.0f} ms"))
            return self
        try:
            self._primary = starting.result()
            self.reused = self._primary.reused
        except NuanuError as exc:
            await self._switch(exc)
        return self

    @property
    def degraded(self) -> bool:
        return self._fallback is not None

    async def _switch(self, fault: NuanuError, *, count: bool = True) -> None:
        """`count=False`: the board already holds this fault (skipping a tripped voice is not a new one)."""
        if self._switching is not None:
            await self._switching.wait()
            return
        self._switching = asyncio.Event()  # set before any await: concurrent senders wait for the understudy
        try:
            self.fault = fault
            if count:
                self._health.failure(self._primary_provider.spec, fault, probe=self._primary_provider.connect)
            self._on_fault(fault)
            primary, self._primary = self._primary, None
            chars = getattr(primary, "chars_spoken", None) if primary is not None else None
            rest = unspoken_text(self._sent, chars, self._got_primary_audio)
            if primary is not None:
                with contextlib.suppress(Exception):
                    await primary.cancel()
            self._fallback = await self._fallback_provider.start(self._id)
            self.format = self._fallback.format
            if rest.strip():
                await self._fallback.send(rest if rest.endswith(" ") else rest + " ")
            if self._finished:
                await self._finish_fallback()
        finally:
            self._switching.set()

    async def _finish_fallback(self) -> None:
        if self._fallback is not None and not self._fallback_finished:
            self._fallback_finished = True
            await self._fallback.finish()

    async def send(self, text: str) -> None:
        if self._switching is not None:
            await self._switching.wait()
        self._sent.append(text)
        if self._primary is not None:
            try:
                await self._primary.send(text)
            except NuanuError as exc:
                await self._switch(exc)  # re-sends everything unspoken, this chunk included
            return
        if self._fallback is None:
            raise self.fault or NuanuError("tts_error", "no TTS available")
        await self._fallback.send(text)

    async def finish(self) -> None:
        self._finished = True
        if self._switching is not None:
            await self._switching.wait()
        if self._primary is not None:
            try:
                await self._primary.finish()
            except NuanuError as exc:
                await self._switch(exc)
            return
        await self._finish_fallback()

    async def audio(self) -> AsyncIterator[bytes]:
        if self._primary is not None:
            try:
                async for data in self._primary.audio():
                    self._got_primary_audio = True
                    yield data
                self._health.success(self._primary_provider.spec)
                return
            except NuanuError as exc:
                await self._switch(exc)
        if self._switching is not None:
            await self._switching.wait()
        if self._fallback is None:
            raise self.fault or NuanuError("tts_error", "no TTS available")
        self.voice = self._fallback_provider
        async for data in self._fallback.audio():
            yield data

    async def cancel(self) -> None:
        for utt in (self._primary, self._fallback):
            if utt is not None:
                with contextlib.suppress(Exception):
                    await utt.cancel()


def _abandon(starting: asyncio.Future[TTSUtterance]) -> None:
    """A cloud utterance that opened after the understudy took over: cancel it, unheard."""
    if starting.cancelled() or starting.exception() is not None:
        return
    utterance = starting.result()
    task = asyncio.ensure_future(utterance.cancel())
    _ABANDONED.add(task)
    task.add_done_callback(_ABANDONED.discard)


_ABANDONED: set[asyncio.Future[None]] = set()  # strong references until each cancel has run
