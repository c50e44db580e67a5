"""What the emulator says when a test gives it nothing to say: Russian one-liners, LLM-like tokens, a voice.

All of it is deterministic (a trigger always gets the same reply, a text always the same audio), so tests
can assert on exact values.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from functools import lru_cache

import numpy as np

ReplyFn = Callable[[str, str], str]
SpeechFn = Callable[[str, int], bytes]


_REPLIES: tuple[str, ...] = (
    "Вот это да, слон на мопеде! Держитесь крепче, друзья.",
    "Ого, кто-то явно спешит на пляж раньше нас!",
    "Смотрите налево: местные жители, и они нам машут!",
    "Так, без паники, это просто очень уверенная собака.",
    "Кажется, у нас пробка из кокосов. Объезжаем!",
    "Приветствую! Шаттл едет, настроение отличное, солнце на месте.",
)
REASONING = "The user describes a scene from the shuttle camera; answer with one short funny line in Russian."


def default_reply(trigger_text: str, model: str) -> str:
    """A Russian one-liner chosen deterministically from the trigger (model does not matter)."""
    return _REPLIES[zlib.crc32(trigger_text.encode("utf-8")) % len(_REPLIES)]


_TOKEN_RE = re.compile(r"\s*[\w'-]+|\s*[^\w\s]+|\s+")


def tokenize(text: str) -> list[str]:
    """Split text into LLM-like pieces: words with their leading space, long words in two, punctuation
    sometimes glued to the word before it. `"".join(tokenize(t)) == t` always holds."""
    out: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        tok = m.group()
        core = tok.lstrip()
        if core and not core[0].isalnum() and out and tok == core and zlib.crc32(out[-1].encode()) % 2 == 0:
            out[-1] += tok  # punctuation right after a word: glued about half the time, deterministically
        elif len(core) > 7 and core.isalpha():
            cut = len(tok) - len(core) + len(core) // 2
            out.extend((tok[:cut], tok[cut:]))
        else:
            out.append(tok)
    return out


_CHAR_S = 0.065
_VOWELS = frozenset("aeiouyаеёиоуыэюя")


@lru_cache(maxsize=8192)
def _char_wave(ch: str, rate: int) -> bytes:
    """65 ms of a formant-ish tone (vowels), tone plus deterministic noise (consonants), a quiet hum otherwise."""
    n = int(rate * _CHAR_S)
    t = np.arange(n, dtype=np.float64) / rate
    code = ord(ch.lower())
    f0 = 110.0 + (code % 9) * 8.0
    if ch.lower() in _VOWELS:
        f1, f2 = 300.0 + (code % 11) * 60.0, 900.0 + (code % 13) * 120.0
        wave = (
            0.5 * np.sin(2 * np.pi * f0 * t)
            + 0.3 * np.sin(2 * np.pi * f1 * t)
            + 0.2 * np.sin(2 * np.pi * f2 * t)
        )
        amp = 0.6
    elif ch.isalpha():
        noise = np.random.default_rng(code).uniform(-1.0, 1.0, n)
        wave = 0.6 * noise + 0.4 * np.sin(2 * np.pi * f0 * t)
        amp = 0.35
    else:
        wave = np.sin(2 * np.pi * f0 * t)
        amp = 0.03
    env = np.hanning(n) if n > 1 else np.ones(n)
    return (wave * env * amp * 32767.0).astype("<i2").tobytes()


def synth_voice(text: str, sample_rate: int) -> bytes:
    """Default `speech_fn`: deterministic, non-silent s16le mono PCM, ~65 ms per character."""
    return b"".join(_char_wave(ch, sample_rate) for ch in text)
