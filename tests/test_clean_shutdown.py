"""Shutdown is quiet: no command prints a traceback (or aborts the interpreter) when it ends, the in-process
emulator included, however the end cuts into the work in flight.

Each case launches the real CLI with `--demo` and keeps stdin open, as a pipe from a camera bridge would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOISE = ("Traceback", "Fatal Python error", "Exception ignored", "Task exception was never retrieved")


def launch(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with stdin a pipe that stays open until the process ends (never end of input)."""
    read_end, write_end = os.pipe()
    try:
        return subprocess.run(
            [sys.executable, "-m", "nuanu_tui", *args],
            stdin=read_end,
            capture_output=True,
            cwd=cwd,
            timeout=90,
        )
    finally:
        os.close(read_end)
        os.close(write_end)


def quiet(stderr: bytes) -> list[str]:
    text = stderr.decode(errors="replace")
    return [word for word in NOISE if word in text]


def launch_ride_and_speak_at_ready(args: list[str], cwd: Path, line: bytes) -> tuple[int, bytes]:
    """Start a ride with stdin a pipe, write `line` once it says `ready` (an event sent before ready would wait
    and, on a slow start, be skipped as stale), keep the pipe open until the process ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "nuanu_tui", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=cwd,
    )
    assert proc.stdin is not None and proc.stderr is not None
    seen: list[bytes] = []
    try:
        for raw in iter(proc.stderr.readline, b""):
            seen.append(raw)
            if b"ready" in raw and raw.startswith(b"ride:"):
                proc.stdin.write(line)
                proc.stdin.flush()
                break
        seen.append(proc.stderr.read())  # until the process ends and closes its stderr
        return proc.wait(timeout=90), b"".join(seen)
    finally:
        proc.stdin.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_ride_ended_by_duration_mid_remark_exits_cleanly(tmp_path: Path) -> None:
    """A live ride whose --duration (counted from ready) ends while a remark streams: the remark is cut (the
    emulator's LLM stream and TTS socket are closed under it), the stdin reader is still blocked in its read,
    and the process still exits 0 with nothing on stderr but its own lines."""
    report = tmp_path / "ride.json"
    code, stderr = launch_ride_and_speak_at_ready(
        ["ride", "--demo", "--stdin", "--duration", "1.5", "--audio", "null", "--json", str(report)],
        tmp_path,
        "две собаки слева\n".encode(),
    )
    assert code == 0, stderr.decode(errors="replace")[-2000:]
    assert quiet(stderr) == [], stderr.decode(errors="replace")[-2000:]
    utterances = json.loads(report.read_text(encoding="utf-8"))["utterances"]
    assert [u["error_kind"] for u in utterances] == ["cancelled"]  # the end really came mid-remark


@pytest.mark.slow
def test_say_demo_exits_cleanly(tmp_path: Path) -> None:
    done = launch(["say", "две собаки слева", "--demo", "--audio", "null", "--json"], tmp_path)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert json.loads(done.stdout)["ok"] is True
    assert quiet(done.stderr) == [], done.stderr.decode(errors="replace")[-2000:]
