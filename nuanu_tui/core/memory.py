"""This process's memory as benchmarks report it, read the way each OS offers it; None where it does not.

Linux: VmHWM and Pss from /proc (this process's own figures). macOS and the BSDs: `ru_maxrss`, which is in
bytes on macOS and in KiB elsewhere. Windows has no `resource` module: unavailable (None).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path


def peak_rss_mb() -> float | None:
    """Peak resident set size in MiB. On Linux not `ru_maxrss`: Linux carries that over fork and exec, so a
    process started by a big parent would report the parent's size as its own."""
    if sys.platform.startswith("linux"):
        kib = _proc_kib("/proc/self/status", "VmHWM:")
        if kib is not None:
            return kib / 1024
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def pss_mb() -> float | None:
    """Proportional set size now (Linux only): shared pages (libpython, numpy, the SDKs' .so files) split
    between the processes using them, so the console's and the engine's figures add up to what the app
    really uses."""
    kib = _proc_kib("/proc/self/smaps_rollup", "Pss:")
    return None if kib is None else kib / 1024


def _proc_kib(path: str, key: str) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    return None


def fmt_mb(value: float | None) -> str:
    """`123 MB`, or `unavailable` where the OS does not say."""
    return "unavailable" if value is None else f"{value:.0f} MB"
