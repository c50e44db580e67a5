"""What a listener heard: a monitor recording compared with the samples the emulator sent.

Used by the real-speaker tests and the benchmark. The source is resampled to the recording's rate (soxr),
located in the recording by FFT cross-correlation, and then checked for what a person would notice:
where it starts (device latency), how long it lasts, whether it is the same sound (correlation), and
silent holes inside it (an underrun is heard as a click followed by silence).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SILENCE = 64  # |sample| below this is digital silence (the emulator's quietest sound peaks near 980)
GAP_MS = 30.0  # a silent stretch longer than this inside a remark is an audible hole


@dataclass(slots=True)
class Heard:
    """One remark found in a recording."""

    offset: int  # index of the remark's first sample in the recording
    rate: int
    correlation: float  # normalised cross-correlation at the best lag (1.0: identical)
    duration_s: float  # from the first to the last non-silent recorded sample of the remark
    gaps_ms: list[float] = field(default_factory=list)  # silent stretches > GAP_MS the source does not have

    def onset_ns(self, recording_start_ns: int) -> int:
        """When the remark's first sample was rendered, on the perf_counter_ns clock."""
        return recording_start_ns + self.offset * 1_000_000_000 // self.rate


def to_rate(pcm: bytes, source_rate: int, rate: int) -> np.ndarray:
    """int16 mono bytes at `source_rate` -> float64 samples at `rate` (soxr, high quality)."""
    samples = np.frombuffer(pcm[: len(pcm) & ~1], dtype=np.int16).astype(np.float64)
    if source_rate == rate:
        return samples
    import soxr

    return np.asarray(soxr.resample(samples, source_rate, rate, quality="HQ"), dtype=np.float64)


def find(recording: bytes, rate: int, source_pcm: bytes, source_rate: int, after: int = 0) -> Heard:
    """Locate `source_pcm` in `recording` (both int16 mono) at or after sample `after`."""
    rec = np.frombuffer(recording[: len(recording) & ~1], dtype=np.int16).astype(np.float64)[after:]
    src = to_rate(source_pcm, source_rate, rate)
    if len(src) == 0 or len(rec) < len(src):
        return Heard(after, rate, 0.0, 0.0)
    size = 1 << int(np.ceil(np.log2(len(rec) + len(src))))
    xcorr = np.fft.irfft(np.fft.rfft(rec, size) * np.conj(np.fft.rfft(src, size)), size)[
        : len(rec) - len(src) + 1
    ]
    lag = int(np.argmax(xcorr))
    segment = rec[lag : lag + len(src)]
    norm = float(np.linalg.norm(segment) * np.linalg.norm(src))
    correlation = float(np.dot(segment, src) / norm) if norm else 0.0
    loud = np.flatnonzero(np.abs(segment) >= SILENCE)
    duration = (loud[-1] - loud[0] + 1) / rate if len(loud) else 0.0
    return Heard(after + lag, rate, correlation, duration, _gaps(segment, src, rate))


def _gaps(segment: np.ndarray, src: np.ndarray, rate: int) -> list[float]:
    """Silent runs longer than GAP_MS in the recording where the source itself is not silent."""
    hole = (np.abs(segment) < SILENCE) & (_loud_nearby(src, rate) > 0)
    gaps: list[float] = []
    run = 0
    for silent in np.append(hole, False):
        if silent:
            run += 1
            continue
        if run * 1000 / rate > GAP_MS:
            gaps.append(run * 1000 / rate)
        run = 0
    return gaps


def _loud_nearby(src: np.ndarray, rate: int) -> np.ndarray:
    """1 where the source has a non-silent sample within ±2.5 ms (zero crossings are not holes)."""
    loud = (np.abs(src) >= SILENCE).astype(np.int32)
    width = max(1, int(rate * 0.005))
    return np.convolve(loud, np.ones(width, dtype=np.int32), mode="same")


def onset(recording: bytes, after: int = 0) -> int | None:
    """Index of the first non-silent sample at or after `after` (the next remark starting), or None."""
    rec = np.frombuffer(recording[: len(recording) & ~1], dtype=np.int16)[after:]
    loud = np.flatnonzero(np.abs(rec.astype(np.int32)) >= SILENCE)
    return after + int(loud[0]) if len(loud) else None
