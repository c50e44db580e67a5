"""Audio seams: decoders turn TTS bytes into int16 PCM; sinks accept PCM like a device would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
