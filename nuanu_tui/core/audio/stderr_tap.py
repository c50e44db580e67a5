"""Keep the audio libraries' C-level chatter off the operator's terminal.

PortAudio's ALSA back end and ALSA itself print straight to file descriptor 2 when a device fails
("ALSA lib pcm.c:…", "Expression '…' failed in 'src/hostapi/alsa/pa_linux_alsa.c'…"), from threads we
do not control, at any moment. `install` points fd 2 at a pipe read by one thread: those lines go to the
log file (and the last one is kept for the status line); every other line goes on to the real stderr.
Python's own `sys.stderr` is re-bound to the real stderr, so the program's messages are not delayed.

The console never needs this: its engine process already writes stderr to engine.log.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence C libraries (ALSA, JACK) that print to fd 2 while probing; they would smear the TUI."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


NOISE = re.compile(
    rb"^(ALSA lib |Expression '.*' failed in |PaAlsa|PaUnixThread|pa_linux_alsa|Cannot connect to server|"
    rb"jack server is not running|JackShmReadWritePtr|ALSA: |ERROR: Failed to connect to pulse)"
)


class StderrTap:
    """One per process (see `install`). `last_noise` is the latest library line, for one status line."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.last_noise: str | None = None
        self.noise_lines = 0
        self._saved = os.dup(2)
        read_fd, write_fd = os.pipe()
        self._read_fd = read_fd
        sys.stderr.flush()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        sys.stderr = open(os.dup(self._saved), "w", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115
        self._thread = threading.Thread(target=self._pump, name="nuanu-stderr-tap", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        pending = b""
        with open(self._read_fd, "rb", buffering=0) as pipe:
            while True:
                data = pipe.read(4096)
                if not data:
                    break
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._route(line + b"\n")
        if pending:
            self._route(pending)

    def _route(self, line: bytes) -> None:
        if NOISE.match(line.lstrip()):
            self.noise_lines += 1
            self.last_noise = line.decode("utf-8", "replace").strip()
            with contextlib.suppress(OSError), open(self.log_path, "ab") as log:
                log.write(time.strftime("%Y-%m-%d %H:%M:%S ").encode() + line)
            return
        with contextlib.suppress(OSError):
            os.write(self._saved, line)


_tap: StderrTap | None = None


def install(log_path: Path) -> StderrTap:
    """Route audio-library noise on fd 2 to `log_path` from now on (idempotent)."""
    global _tap
    if _tap is None:
        with contextlib.suppress(OSError):
            log_path.parent.mkdir(parents=True, exist_ok=True)
        _tap = StderrTap(log_path)
    return _tap
