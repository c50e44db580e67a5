"""Engine restarts: backoff grows in a crash loop, resets after a stable run, failed starts are retried."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.supervisor import STABLE_S, EngineSupervisor, log_line


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def never() -> Any:
    raise AssertionError("not started here")


def test_backoff_grows_in_a_crash_loop_and_resets_after_a_stable_run() -> None:
    clock = Clock()
    sup = EngineSupervisor(never, clock=clock, base_s=0.5, max_s=4.0)
    delays = []
    for _ in range(5):
        clock.now += 1.0  # dies a second after each restart
        delays.append(sup.died())
        sup.started()
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]
    clock.now += STABLE_S  # this one ran a long time before dying
    assert sup.died() == 0.5 and sup.crashes == 1


async def test_restart_retries_failed_starts_until_one_works() -> None:
    starts: list[int] = []

    async def flaky() -> str:
        starts.append(len(starts) + 1)
        if len(starts) < 3:
            raise NuanuError("engine", f"start {len(starts)} failed")
        return "engine"

    sup = EngineSupervisor(flaky, base_s=0.01, max_s=0.05)
    attempts: list[int] = []
    failures: list[tuple[str, float]] = []
    engine = await sup.restart(
        0.0, attempts.append, lambda e, wait: failures.append((str(getattr(e, "message", e)), wait))
    )
    assert engine == "engine" and starts == [1, 2, 3] and attempts == [1, 2, 3]
    assert [m for m, _ in failures] == ["start 1 failed", "start 2 failed"]
    assert all(0 < wait <= 0.05 for _, wait in failures)


def test_log_line_appends_one_stamped_line(tmp_path: Path) -> None:
    path = tmp_path / "engine.log"
    path.write_text("Traceback: the child's own last words\n", encoding="utf-8")
    log_line(path, "the engine process was killed by SIGKILL")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Traceback") and len(lines) == 2
    assert lines[1].endswith(" console: the engine process was killed by SIGKILL") and lines[1][:4].isdigit()
