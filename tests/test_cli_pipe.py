"""A closed stdout (`nuanu-tui prompts | head -1`): the CLI stops quietly with 141, no BrokenPipeError line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_offline_e2e import clean_env

SCRIPT = Path(sys.executable).parent / ("nuanu-tui.exe" if os.name == "nt" else "nuanu-tui")
ENTRIES = {
    "script": [str(SCRIPT)],
    "module": [sys.executable, "-m", "nuanu_tui"],
    "cli-module": [sys.executable, "-m", "nuanu_tui.cli"],
}


def run_into_closed_pipe(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The reader is closed before the command starts, so its first write to stdout meets a broken pipe."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            cmd, stdout=write, stderr=subprocess.PIPE, env=clean_env(), cwd=cwd, text=True, timeout=60
        )
    finally:
        os.close(write)


@pytest.mark.skipif(os.name == "nt", reason="a pipe without a reader is a POSIX setup")
@pytest.mark.parametrize("entry", sorted(ENTRIES))
@pytest.mark.parametrize("command", [["prompts"], ["ratings", "--json"]])
def test_closed_stdout_is_quiet(entry: str, command: list[str], tmp_path: Path) -> None:
    proc = run_into_closed_pipe([*ENTRIES[entry], *command], tmp_path)
    assert proc.stderr == ""
    assert proc.returncode == 141


def test_an_open_stdout_still_gets_everything(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*ENTRIES["script"], "prompts"],
        capture_output=True,
        env=clean_env(),
        cwd=tmp_path,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split()[:2] == ["name", "version"]
