"""Real speech for the emulator: espeak-ng audio, resampled to the `output_format` the client asked for."""

from __future__ import annotations

import functools

import numpy as np
import soxr

from nuanu_tui.core.tts.espeak import EspeakTTS


@functools.cache
def _voice(lang: str) -> EspeakTTS:
    return EspeakTTS(voice=lang)


def espeak_speech(text: str, sample_rate: int, lang: str = "ru") -> bytes:
    """s16le mono PCM of `text` at `sample_rate`; demo runs then sound like the product, not like tones."""
    tts = _voice(lang)
    pcm = tts.synth_blocking(text)
    if sample_rate == tts.format.sample_rate or not pcm:
        return pcm
    samples = np.frombuffer(pcm, dtype=np.int16)
    out = soxr.resample(samples, tts.format.sample_rate, sample_rate, quality="HQ")
    return np.asarray(out, dtype=np.int16).tobytes()
