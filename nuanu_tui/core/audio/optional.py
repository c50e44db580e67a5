"""miniaudio is optional: Linux has no wheel for it but on x86_64 (see pyproject), so a Jetson installs
without it. PCM and sounddevice need none of it; what does need it says so in one line instead of crashing
with an ImportError."""

from __future__ import annotations

import importlib
from types import ModuleType

from nuanu_tui.core.errors import NuanuError


def miniaudio(what: str, kind: str = "config", instead: str = "use a pcm_* output format") -> ModuleType:
    """The miniaudio module, or a one-line NuanuError naming `what` needs it and what to do instead."""
    try:
        return importlib.import_module("miniaudio")
    except ImportError:
        raise NuanuError(kind, missing_message(what, instead)) from None


def backend() -> ModuleType:
    """miniaudio for the fallback audio back-end (sounddevice, the first choice, needs none of it)."""
    return miniaudio(
        "the miniaudio audio back-end",
        "audio",
        "sounddevice plays without it (apt-get install libportaudio2)",
    )


def missing_message(what: str, instead: str) -> str:
    return (
        f"{what}: the miniaudio package is not installed (on Linux it has wheels for x86_64 only); "
        f"{instead}, or install it with a C compiler: uv sync --extra mp3"
    )
