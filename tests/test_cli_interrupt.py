"""Ctrl+C at any moment of `say`: exit 130 and one line, never a traceback; WAV files are never truncated and
always valid. Real SIGINTs to a real subprocess, sent when its output shows it has reached a given point."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FAKE_KEYS
from tests.test_offline_e2e import clean_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX-only"),
]
INTERRUPTED = "nuanu-tui: error: interrupted (Ctrl+C)"
DEADLINE_S = 60.0


def sigint_as_at_a_terminal() -> None:
    """A shell starts background jobs with SIGINT ignored, and an ignored signal survives exec: a CI runner
    started that way would hand its children a deaf Ctrl+C, and Python installs no KeyboardInterrupt
    handler then. The child gets the disposition an operator's terminal gives it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Watched:
    """A `nuanu-tui` subprocess whose stderr lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, *, importtime: bool = False) -> None:
        flags = ["-X", "importtime"] if importtime else []
        self.proc = subprocess.Popen(
            [sys.executable, *flags, "-m", "nuanu_tui", *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=sigint_as_at_a_terminal,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for_line(self, predicate: Callable[[str], bool]) -> str:
        end = time.monotonic() + DEADLINE_S
        while True:
            line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            if line is None:
                pytest.fail(f"process ended before the marker: {self.stderr}")
            self.stderr.append(line)
            if predicate(line):
                return line

    def wait_until(self, condition: Callable[[], bool]) -> None:
        """Poll a condition of the outside world (a file growing); the deadline only ends a hung test."""
        end = time.monotonic() + DEADLINE_S
        while not condition():
            assert self.proc.poll() is None, "process ended before the condition"
            assert time.monotonic() < end, "condition never met"
            time.sleep(0.01)

    def interrupt(self) -> tuple[int, str, list[str]]:
        self.proc.send_signal(signal.SIGINT)
        stdout = self.proc.stdout.read() if self.proc.stdout else ""
        code = self.proc.wait(timeout=DEADLINE_S)
        self._reader.join(timeout=DEADLINE_S)
        while (line := self.lines.get()) is not None:
            self.stderr.append(line)
        own = [line for line in self.stderr if not line.startswith("import time:")]
        return code, stdout, own


def assert_one_interrupt_line(code: int, stderr: list[str]) -> None:
    text = "\n".join(stderr)
    assert code == 130, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert stderr and stderr[-1] == INTERRUPTED
    assert stderr.count(INTERRUPTED) == 1


def imported(module: str) -> Callable[[str], bool]:
    return lambda line: line.startswith("import time:") and line.split("|")[-1].strip() == module


@pytest.mark.parametrize("module", ["pydantic_core", "nuanu_tui.core.config", "nuanu_tui.core.engine"])
def test_sigint_during_imports_is_one_line_and_130(module: str, tmp_path: Path) -> None:
    run = Watched(["say", "две собаки", "--audio", "null", "--json"], clean_env(), tmp_path, importtime=True)
    run.wait_for_line(imported(module))
    code, stdout, stderr = run.interrupt()
    assert_one_interrupt_line(code, stderr)
    data = json.loads(stdout)
    assert data["ok"] is False and data["error_kind"] == "interrupted"


def test_sigint_during_warm_up_on_a_dead_host(tmp_path: Path, silent_port: int) -> None:
    env = clean_env(GROQ_API_KEY=FAKE_KEYS["GROQ_API_KEY"])
    env["GROQ_BASE_URL"] = f"http://127.0.0.1:{silent_port}"
    run = Watched(
        ["say", "--no-failover", "две собаки", "--llm", "groq/llama-3.1-8b-instant", "--audio", "null"],
        env,
        tmp_path,
        importtime=True,
    )
    run.wait_for_line(imported("nuanu_tui.core.llm.cloud"))  # the LLM client is being built and warmed
    code, _, stderr = run.interrupt()
    assert_one_interrupt_line(code, stderr)


def wav_parts(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.part"))


def test_sigint_while_speaking_keeps_a_valid_wav(tmp_path: Path) -> None:
    out = tmp_path / "speech.wav"
    run = Watched(["say", "две собаки слева", "--audio", f"wav:{out}"], clean_env(), tmp_path)
    # a tenth of a second of 24 kHz audio (espeak at 22 050 Hz) has reached the temporary file
    run.wait_until(lambda: any(p.stat().st_size > 44 + 4800 for p in wav_parts(tmp_path)))
    assert not out.exists()  # nothing at the target until the WAV is complete
    code, _, stderr = run.interrupt()
    assert_one_interrupt_line(code, stderr)
    assert wav_parts(tmp_path) == []
    size = out.stat().st_size
    with wave.open(str(out), "rb") as w:
        frames = w.getnframes()
        assert frames > 2400
        assert len(w.readframes(frames)) == frames * 2
        assert size == 44 + frames * 2  # the header's sizes match the data on disk


def test_failed_run_never_touches_an_existing_recording(tmp_path: Path) -> None:
    keep = tmp_path / "keep.wav"
    with wave.open(str(keep), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(24000)
        w.writeframes(os.urandom(9600))
    before = keep.read_bytes()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nuanu_tui",
            "say",
            "две собаки",
            "--llm",
            "foo/bar",
            "--audio",
            f"wav:{keep}",
        ],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "bad LLM spec" in proc.stderr and "Traceback" not in proc.stderr
    assert keep.read_bytes() == before
    assert wav_parts(tmp_path) == []
