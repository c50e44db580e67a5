"""Audio seams: decoders turn TTS bytes into int16 PCM; sinks accept PCM like a device would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from nuanu_tui.core.errors import NuanuError


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """What the TTS sends: `pcm` (s16le mono) or `mp3`, at `sample_rate`."""

    encoding: str  # "pcm" | "mp3"
    sample_rate: int

    @classmethod
    def parse(cls, output_format: str) -> AudioFormat:
        """Parse an ElevenLabs `output_format` such as `pcm_24000` or `mp3_44100_128`."""
        parts = output_format.split("_")
        if len(parts) < 2 or parts[0] not in ("pcm", "mp3") or not parts[1].isdigit():
            raise ValueError(
                f"unsupported output format {output_format!r}; use pcm_16000, pcm_22050, pcm_24000 or mp3_*"
            )
        return cls(parts[0], int(parts[1]))


class Decoder(Protocol):
    """Streaming decoder: bytes in, whole int16 samples out; keeps state across chunks."""

    sample_rate: int

    def feed(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class AudioSink(Protocol):
    """A long-lived output. `write` blocks until the device has accepted the samples (real-time paced)."""

    name: str
    sample_rate: int
    warning: str | None  # e.g. "no sound card: audio goes to a silent null sink"

    def open(self, sample_rate: int) -> None: ...

    def write(self, pcm: bytes) -> None: ...

    def drain(self) -> None:
        """Block until every written sample has been played out."""
        ...

    def abort(self) -> None:
        """Drop whatever is buffered (interrupt)."""
        ...

    def close(self) -> None: ...


class UtteranceHooks:
    """The player tells a sink where utterances start and end, so silence between them is not an underrun."""

    _in_utterance: bool
    _utterance_samples: int

    def utterance_started(self) -> None:
        self._in_utterance = True
        self._utterance_samples = 0

    def utterance_ended(self) -> None:
        self._in_utterance = False


def one_line(exc: BaseException) -> str:
    """One readable line; miniaudio errors carry (message, code) args."""
    if isinstance(exc, NuanuError):
        return exc.message
    args = exc.args
    text = f"{args[0]} ({', '.join(map(str, args[1:]))})" if len(args) > 1 else str(exc)
    return " ".join(text.split()) or type(exc).__name__
