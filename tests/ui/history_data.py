"""A small stored history with fixed times and ids (deterministic for tests and the snapshot)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from ui_fakes import FIXED_STAGES, FIXED_START

from nuanu_tui.core import store as store_module
from nuanu_tui.core.config import Settings
from nuanu_tui.core.stats import summarize_runs
from nuanu_tui.core.store import Store
from nuanu_tui.core.timeline import UtteranceResult

GROQ = "groq/llama-3.1-8b-instant"
OPENAI = "openai/gpt-4o-mini"
RUN_ID = "run-0001"


def result(
    n: int, llm: str, source: str, run_id: str | None = None, ttfa_shift: float = 0.0
) -> UtteranceResult:
    r = UtteranceResult(
        trigger=f"триггер {n}",
        llm=llm,
        tts="elevenlabs/eleven_flash_v2_5",
        text=f"ответ {n}",
        utterance_id=f"u{n:03d}",
        started_at=FIXED_START + n,
        simulated=True,
        source=source,
        run_id=run_id,
    )
    r.stages_ms = {s: ms + ttfa_shift + n for s, ms in FIXED_STAGES.items()}
    return r


def fill_store(_: pytest.MonkeyPatch | None = None) -> dict[str, int]:
    """Console (2 groq + 1 failed openai), compare (1 groq + 1 openai) and a groq bench run (4).
    Ids and times are fixed only while filling; the app's own later writes use real ones."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _fill(monkeypatch)


def _fill(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    ids = itertools.count(1)
    monkeypatch.setattr(store_module, "_new_id", lambda: f"id{next(ids):04d}")
    clock = itertools.count(int(FIXED_START))
    monkeypatch.setattr(store_module, "time", SimpleNamespace(time=lambda: float(next(clock))))
    store = Store.from_settings(Settings()).open()
    try:
        console = store.start_session("console", "tui")
        store.record(result(1, GROQ, "console"), console)
        store.record(result(2, GROQ, "console"), console)
        failed = result(3, OPENAI, "console")
        failed.stages_ms = dict.fromkeys(failed.stages_ms)
        failed.error, failed.error_kind = "connection refused", "network"
        store.record(failed, console)
        compare = store.start_session("compare", "tui")
        store.record(result(4, GROQ, "compare", "cmp-1"), compare)
        store.record(result(5, OPENAI, "compare", "cmp-1", ttfa_shift=300), compare)
        bench = store.start_session("bench", "tui seed")
        runs = [result(10 + i, GROQ, "bench", RUN_ID) for i in range(4)]
        store.start_bench_run(
            {"llms": [GROQ], "runs": 4, "label": "bench seed", "tts": "elevenlabs/eleven_flash_v2_5"},
            session_id=bench,
            run_id=RUN_ID,
        )
        for r in runs:
            store.record(r, bench)
        store.finish_bench_run(RUN_ID, {k: v.to_json() for k, v in summarize_runs(runs).items()}, "done")
        store.flush()
    finally:
        store.close()
    return {"all": 9, "groq": 7, "openai": 2}
