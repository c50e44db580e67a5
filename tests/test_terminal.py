"""`nuanu-tui --demo` in a real pseudo-terminal: it starts, speaks a typed trigger, and quits cleanly,
taking its engine process with it."""

from __future__ import annotations

import contextlib
import os
import re
import select
import struct
import sys
import time
from pathlib import Path

import pytest

if sys.platform != "linux":  # before the POSIX-only imports below, so collection elsewhere is a clean skip
    pytest.skip("a real pseudo-terminal and /proc: Linux only", allow_module_level=True)

fcntl = pytest.importorskip("fcntl")
pty = pytest.importorskip("pty")
termios = pytest.importorskip("termios")

pytestmark = pytest.mark.slow

ANSI = re.compile(rb"\x1b\[[0-9;?]*[a-zA-Z]|\x1b[()][A-Z0-9]|\x1b[=>]")
DEADLINE_S = 60.0


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the app
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.raw = b""
        self.exit_code: int | None = None

    @property
    def screen(self) -> str:
        return ANSI.sub(b"", self.raw).decode(errors="replace")

    def read_until(self, needle: str, timeout: float = DEADLINE_S) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.screen:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never appeared; screen tail: {self.screen[-800:]!r}")
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.raw += os.read(self.fd, 65536)
                except OSError:  # the app closed the terminal
                    raise AssertionError(f"the app exited before {needle!r} appeared") from None

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait_exit(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with_status = os.waitpid(self.pid, os.WNOHANG)
            if with_status[0]:
                self.exit_code = os.waitstatus_to_exitcode(with_status[1])
                return self.exit_code
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                with contextlib.suppress(OSError):
                    self.raw += os.read(self.fd, 65536)
        raise AssertionError("the app did not exit")


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_demo_console_speaks_and_quits_with_its_engine_process() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
    term = Terminal([sys.executable, "-m", "nuanu_tui.cli", "--demo", "--audio", "null"], env)
    try:
        term.read_until("What does the camera see")
        term.read_until("SIMULATED")  # the engine process is up and reported its status
        engines = children_of(term.pid)
        assert len(engines) == 1, engines  # the engine runs in its own process
        term.type("две собаки слева\r")
        term.read_until("1 utt")  # the status bar counts the spoken utterance
        term.type("\x11")  # ctrl+q
        assert term.wait_exit(20.0) == 0
        assert not alive(engines[0])
    finally:
        if term.exit_code is None:
            os.kill(term.pid, 9)
            os.waitpid(term.pid, 0)
        os.close(term.fd)


def test_a_hostile_paste_in_a_real_terminal_is_text_not_keys() -> None:
    """Bracketed paste holding an ESC, Ctrl+Q (quit), Ctrl+T (compare view) and Enter, as a terminal sends
    it: before the paste guard, Textual's parser re-issued the bytes after the ESC as key presses."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
    term = Terminal([sys.executable, "-m", "nuanu_tui.cli", "--demo", "--audio", "null"], env)
    try:
        term.read_until("What does the camera see")
        term.read_until("SIMULATED")
        term.type("\x1b[200~две собаки \x1b слева\x11\x14\r\x1b[31mкрасные\x1b[0m\x1b[201~")
        term.read_until("две собаки  слева красные")  # in the trigger input, as text
        term.type("\r")
        term.read_until("1 utt")  # still the console, and Enter now speaks it
        term.type("\x11")  # a typed Ctrl+Q still quits
        assert term.wait_exit(20.0) == 0
    finally:
        if term.exit_code is None:
            os.kill(term.pid, 9)
            os.waitpid(term.pid, 0)
        os.close(term.fd)
