"""Streaming decoders: TTS bytes in, whole int16 mono samples out, state kept across chunks.

MP3 goes through one continuous, frame-aligned decoder: chunks are cut at MPEG frame boundaries and each
batch of new frames is decoded together with the previous four (bit reservoir and overlap), so the output
is the same as decoding the whole file at once. Decoding chunk by chunk with a fresh decoder clicks and
drops frames — that was the prototype's bug.
"""

from __future__ import annotations

from collections import deque

from nuanu_tui.core.audio import optional
from nuanu_tui.core.audio.base import AudioFormat, Decoder
from nuanu_tui.core.errors import NuanuError


class PcmDecoder:
    """s16le mono passthrough; a chunk may end mid-sample, so an odd trailing byte waits for the next one."""

    __slots__ = ("_carry", "sample_rate")

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._carry = b""

    def feed(self, data: bytes) -> bytes:
        if self._carry:
            data = self._carry + data
            self._carry = b""
        if len(data) & 1:
            self._carry = data[-1:]
            data = data[:-1]
        return bytes(data)

    def flush(self) -> bytes:
        """A lone trailing byte is half a sample: drop it."""
        self._carry = b""
        return b""


# MPEG audio layer III tables, indexed by the header's bit fields.
_BITRATES_KBPS = {
    "v1": (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0),
    "v2": (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mp3_frame_info(header: bytes | bytearray | memoryview) -> tuple[int, int, int] | None:
    """(frame length in bytes, sample rate, samples per channel) of a layer III frame header, else None.

    Free-format (bitrate index 0) frames have no computable length and are treated as invalid.
    """
    b0, b1, b2 = header[0], header[1], header[2]
    if b0 != 0xFF or (b1 & 0xE0) != 0xE0:
        return None
    version = (b1 >> 3) & 3  # 3 = MPEG1, 2 = MPEG2, 0 = MPEG2.5, 1 reserved
    layer = (b1 >> 1) & 3  # 1 = layer III
    bitrate_index = b2 >> 4
    rate_index = (b2 >> 2) & 3
    if version == 1 or layer != 1 or rate_index == 3:
        return None
    kbps = _BITRATES_KBPS["v1" if version == 3 else "v2"][bitrate_index]
    if kbps == 0:
        return None
    sample_rate = _SAMPLE_RATES[version][rate_index]
    padding = (b2 >> 1) & 1
    if version == 3:
        return 144_000 * kbps // sample_rate + padding, sample_rate, 1152
    return 72_000 * kbps // sample_rate + padding, sample_rate, 576


def _id3v2_size(head: bytes | bytearray) -> int:
    """Total size of the ID3v2 tag starting `head` (10-byte header, syncsafe size, optional footer)."""
    size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


class Mp3StreamDecoder:
    """One continuous frame-aligned MP3 decoder; `sample_rate` is known after the first frame."""

    CONTEXT_FRAMES = 4  # fewer carried frames is not bit-exact (reservoir + overlap)

    def __init__(self, sample_rate: int = 0) -> None:
        self._miniaudio = optional.miniaudio("MP3 output formats")
        self.sample_rate = sample_rate  # a hint until the first frame says otherwise
        self._buf = bytearray()
        self._context: deque[bytes] = deque(maxlen=self.CONTEXT_FRAMES)
        self._at_start = True  # an ID3v2 tag can only come first
        self._skip = 0  # bytes of a tag still to discard
        self._rate_known = False
        self.frames = 0

    def feed(self, data: bytes) -> bytes:
        buf = self._buf
        buf += data
        if self._skip:
            dropped = min(self._skip, len(buf))
            del buf[:dropped]
            self._skip -= dropped
        if self._at_start:
            if len(buf) < 10 and b"ID3"[: len(buf)] == bytes(buf[:3]):
                return b""  # could still be a tag header
            self._at_start = False
            if buf[:3] == b"ID3":
                size = _id3v2_size(buf)
                dropped = min(size, len(buf))
                del buf[:dropped]
                self._skip = size - dropped
        frames, spf = self._cut_frames()
        if not frames:
            return b""
        return self._decode(frames, spf)

    def _cut_frames(self) -> tuple[list[bytes], int]:
        """Take every complete frame off the buffer; skip bytes that are not a frame header (resync)."""
        buf = self._buf
        frames: list[bytes] = []
        spf = 0
        pos = 0
        end = len(buf)
        while pos + 4 <= end:
            info = mp3_frame_info(buf[pos : pos + 3])
            if info is None:
                nxt = buf.find(0xFF, pos + 1)
                pos = end if nxt < 0 else nxt
                continue
            length, rate, spf_here = info
            if pos + length > end:
                break
            if not self._rate_known:
                self.sample_rate = rate
                self._rate_known = True
            frames.append(bytes(buf[pos : pos + length]))
            spf = spf_here
            pos += length
        if pos:
            del buf[:pos]
        return frames, spf

    def _decode(self, frames: list[bytes], spf: int) -> bytes:
        context = self._context
        batch = b"".join((*context, *frames))
        context.extend(frames)
        self.frames += len(frames)
        try:
            decoded = self._miniaudio.mp3_read_s16(batch)
        except self._miniaudio.DecodeError:
            return b""
        import numpy as np  # MP3 only (PCM, the default, never loads numpy)

        samples = np.frombuffer(decoded.samples, dtype=np.int16)
        if decoded.nchannels == 2:
            pairs = samples.reshape(-1, 2).astype(np.int32)
            samples = ((pairs[:, 0] + pairs[:, 1]) >> 1).astype(np.int16)  # miniaudio's own downmix
        elif decoded.nchannels != 1:
            samples = samples.reshape(-1, decoded.nchannels).mean(axis=1).astype(np.int16)
        wanted = len(frames) * spf
        return samples[-wanted:].tobytes() if len(samples) > wanted else samples.tobytes()

    def flush(self) -> bytes:
        """An incomplete last frame cannot be decoded; forget it."""
        self._buf.clear()
        return b""


def make_decoder(fmt: AudioFormat) -> Decoder:
    """A fresh streaming decoder for one utterance in format `fmt`."""
    if fmt.encoding == "pcm":
        return PcmDecoder(fmt.sample_rate)
    if fmt.encoding == "mp3":
        return Mp3StreamDecoder(fmt.sample_rate)
    raise NuanuError("config", f"unsupported audio encoding {fmt.encoding!r}: use pcm or mp3")
