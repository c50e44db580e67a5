"""The TTS seam: one provider, one utterance (context) at a time per call to `start`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from nuanu_tui.core.audio.base import AudioFormat


class TTSUtterance(Protocol):
    """One utterance's text in and audio out. Audio bytes are in `format` and end at the TTS's end signal."""

    format: AudioFormat
    reused: bool  # the connection was already open when this utterance started

    async def send(self, text: str) -> None:
        """Send one chunk (ends with a space). Returns once it is on the wire."""
        ...

    async def finish(self) -> None:
        """No more text: flush what is buffered and close this utterance's context."""
        ...

    def audio(self) -> AsyncIterator[bytes]:
        """Audio bytes as they arrive; the iterator ends when the TTS says the utterance is complete."""
        ...

    async def cancel(self) -> None:
        """Abandon this utterance; later audio for it is ignored."""
        ...


class TTSProvider(Protocol):
    spec: str  # "elevenlabs/eleven_flash_v2_5" | "espeak/ru"
    offline: bool
    format: AudioFormat

    async def connect(self) -> None:
        """Open connections ahead of the first utterance (no-op for local engines)."""
        ...

    async def start(self, utterance_id: str) -> TTSUtterance: ...

    @property
    def state(self) -> str:
        """ "connected" | "reconnecting" | "closed" | "local" — for the status bar."""
        ...

    async def aclose(self) -> None: ...
