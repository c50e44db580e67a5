"""miniaudio is optional: Linux has no wheel for it but on x86_64 (see pyproject), so a Jetson installs
without it. PCM and sounddevice need none of it; what does need it says so in one line instead of crashing
with an ImportError."""

from __future__ import annotations

import importlib
from types import ModuleType

from nuanu_tui.core.errors import NuanuError


def miniaudio(what: str, kind: str = "config") -> ModuleType:
    """The miniaudio module, or a one-line NuanuError naming `what` needs it and what to do instead."""
    try:
        return importlib.import_module("miniaudio")
    except ImportError:
        raise NuanuError(kind, missing_message(what)) from None


def missing_message(what: str) -> str:
    return (
        f"{what}: the miniaudio package is not installed (on Linux it has wheels for x86_64 only); "
        "use a pcm_* output format, or install it with a C compiler: uv sync --extra mp3"
    )
