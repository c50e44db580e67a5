"""Streaming decoders: PCM carry and the frame-aligned MP3 decoder against a whole-file decode."""

from __future__ import annotations

import random

import lameenc
import numpy as np
import pytest

from nuanu_tui.core.audio.base import AudioFormat
from nuanu_tui.core.audio.decoders import Mp3StreamDecoder, PcmDecoder, make_decoder, mp3_frame_info
from nuanu_tui.core.errors import NuanuError

miniaudio = pytest.importorskip("miniaudio")  # an optional extra on Linux aarch64 (no wheel)


def chirp(sample_rate: int, seconds: float = 1.5) -> np.ndarray:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    return (0.5 * np.sin(2 * np.pi * (200 * t + 900 * t * t)) * 32767).astype(np.int16)


def encode_mp3(sample_rate: int, kbps: int, channels: int = 1, seconds: float = 1.5) -> bytes:
    mono = chirp(sample_rate, seconds)
    pcm = mono if channels == 1 else np.stack([mono, mono // 3], axis=1).reshape(-1)
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_channels(channels)
    encoder.set_quality(2)
    return bytes(encoder.encode(pcm.tobytes()) + encoder.flush())


def id3v2_tag(payload_size: int = 300) -> bytes:
    """A minimal ID3v2.4 tag: one TXXX-like frame of zeros; size is syncsafe."""
    body = b"TXXX" + payload_size.to_bytes(4, "big") + b"\x00\x00" + bytes(payload_size)
    size = len(body)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + body


def stream_decode(data: bytes, seed: int, max_chunk: int = 700) -> tuple[bytes, Mp3StreamDecoder]:
    rng = random.Random(seed)
    decoder = Mp3StreamDecoder()
    out = []
    pos = 0
    while pos < len(data):
        size = rng.randint(1, max_chunk)
        out.append(decoder.feed(data[pos : pos + size]))
        pos += size
    out.append(decoder.flush())
    return b"".join(out), decoder


def reference(data: bytes, sample_rate: int) -> bytes:
    decoded = miniaudio.decode(data, nchannels=1, sample_rate=sample_rate)
    return np.asarray(decoded.samples, dtype=np.int16).tobytes()


# --- PCM --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_pcm_carry_across_odd_splits_is_bit_exact(seed: int) -> None:
    pcm = chirp(24000, 0.3).tobytes()
    rng = random.Random(seed)
    decoder = PcmDecoder(24000)
    out = []
    pos = 0
    while pos < len(pcm):
        size = rng.randint(1, 37)
        piece = decoder.feed(pcm[pos : pos + size])
        assert len(piece) % 2 == 0
        out.append(piece)
        pos += size
    out.append(decoder.flush())
    assert b"".join(out) == pcm


def test_pcm_single_bytes_and_dangling_byte() -> None:
    decoder = PcmDecoder(16000)
    assert decoder.feed(b"\x01") == b""
    assert decoder.feed(b"\x02") == b"\x01\x02"
    assert decoder.feed(b"\x03\x04\x05") == b"\x03\x04"
    assert decoder.flush() == b""  # half a sample is dropped
    assert decoder.feed(b"\x06\x07") == b"\x06\x07"


# --- MP3 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample_rate", "kbps", "channels"),
    [(24000, 48, 1), (44100, 128, 1), (44100, 128, 2), (16000, 32, 1)],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_mp3_streamed_in_random_chunks_is_bit_exact(
    sample_rate: int, kbps: int, channels: int, seed: int
) -> None:
    data = encode_mp3(sample_rate, kbps, channels)
    got, decoder = stream_decode(data, seed)
    want = reference(data, sample_rate)
    assert decoder.sample_rate == sample_rate
    assert len(got) == len(want)
    assert got == want


def test_mp3_with_id3v2_tag_split_inside_the_tag() -> None:
    data = encode_mp3(24000, 48)
    tagged = id3v2_tag(300) + data
    want = reference(data, 24000)
    for max_chunk in (3, 9, 50, 700):
        got, _ = stream_decode(tagged, seed=max_chunk, max_chunk=max_chunk)
        assert got == want


def test_mp3_first_pcm_after_one_complete_frame() -> None:
    data = encode_mp3(24000, 48)
    length, rate, spf = mp3_frame_info(data[:4])  # type: ignore[misc]
    assert (length, rate, spf) == (144, 24000, 576)
    decoder = Mp3StreamDecoder()
    assert decoder.feed(data[: length - 1]) == b""
    assert decoder.sample_rate == 0  # not known before a frame header was cut
    first = decoder.feed(data[length - 1 : length + 3])  # completes frame 1, plus 3 bytes of frame 2
    assert len(first) == spf * 2
    assert decoder.sample_rate == 24000


def test_mp3_skips_garbage_before_the_first_frame() -> None:
    data = encode_mp3(24000, 48)
    got, _ = stream_decode(b"\x00\x17garbage\xff\x00" + data, seed=3)
    assert got == reference(data, 24000)


def test_mp3_frame_info_rejects_non_headers() -> None:
    assert mp3_frame_info(b"\x00\x00\x00\x00") is None
    assert mp3_frame_info(b"\xff\xfb\xf0\x00") is None  # bitrate index 15 is invalid
    assert mp3_frame_info(b"\xff\xfb\x0c\x00") is None  # sample-rate index 3 is reserved
    assert mp3_frame_info(b"\xff\xfd\x90\x00") is None  # layer II
    # MPEG1 44.1 kHz 128 kbps with padding: 417 + 1 bytes
    assert mp3_frame_info(b"\xff\xfb\x92\x00") == (418, 44100, 1152)
    # MPEG2.5 8 kHz 8 kbps: 72 * 8000 / 8000 = 72 bytes, 576 samples
    assert mp3_frame_info(b"\xff\xe3\x18\x00") == (72, 8000, 576)


def test_make_decoder() -> None:
    assert isinstance(make_decoder(AudioFormat("pcm", 22050)), PcmDecoder)
    mp3 = make_decoder(AudioFormat.parse("mp3_44100_128"))
    assert isinstance(mp3, Mp3StreamDecoder)
    assert mp3.sample_rate == 44100
    with pytest.raises(NuanuError) as err:
        make_decoder(AudioFormat("opus", 48000))
    assert err.value.kind == "config"
