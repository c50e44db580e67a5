"""The SQLite store: round trips, filters, exports, migrations, secret scrubbing and crash safety."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.quality import Quality
from nuanu_tui.core.store import Store
from nuanu_tui.core.store_schema import SCHEMA_VERSION, STAGE_COLUMNS, UTTERANCE_COLUMNS, default_db_path
from nuanu_tui.core.timeline import STAGES, UtteranceResult
from tests.conftest import needs_sigkill

SECRET = "gsk_live_THISISASECRETKEY1234567890"


# the first schema's stages first, so values stay where these tests expect them; stages added later follow
_STAGE_ORDER = [*(s for s in STAGES if s != "first_sound"), "first_sound"]


def full_result(
    i: int = 0, llm: str = "groq/llama-3.1-8b-instant", tts: str = "elevenlabs"
) -> UtteranceResult:
    """A result with every field set to a distinctive non-default value."""
    return UtteranceResult(
        trigger=f"камера, две собаки слева #{i}",
        llm=llm,
        tts=tts,
        text="Гав-гав, коллеги, держитесь обочины!",
        stages_ms={stage: 100.0 * (k + 1) + i + 0.125 for k, stage in enumerate(_STAGE_ORDER)},
        ws_reused=True,
        offline=True,
        simulated=True,
        error=f"timeout after 5 s #{i}",
        error_kind="timeout",
        utterance_id=f"utt-{i}",
        started_at=1_760_000_000.5 + i,
        tokens=17 + i,
        chars=36 + i,
        audio_seconds=2.75,
        provider_timings={"queue_time": 0.012, "completion_tokens": 17},
        notices=["trigger cut to 200 chars", "fallback: espeak"],
        served_by="offline/phrasebook",
        degraded=True,
        filtered=True,
        source="console",
        run_id=None,
        net_rtt_ms={"llm": 84.5, "tts": 91.0},
        prompt="minimal@2",
        quality=Quality(
            words=5,
            sentences=1,
            seconds=2.75,
            latin_words=0,
            on_topic=True,
            complete=False,
            repeats="utt-0",
            flags=["cut_off", "repeats"],
        ),
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "nuanu.db", secrets=[SECRET]) as s:
        yield s


def test_round_trip_every_field(store: Store) -> None:
    session = store.start_session("console", "ride #1")
    original = full_result(3)
    assert store.record(original, session) == "utt-3"
    (back,) = store.results(session_id=session)
    for name in UtteranceResult.__slots__:
        assert getattr(back, name) == getattr(original, name), name
    row = store.utterances()[0]
    assert row["session_id"] == session
    assert row["ok"] is False and row["ws_reused"] is True


def test_round_trip_defaults_and_missing_stages(store: Store) -> None:
    r = UtteranceResult(trigger="справа скутер", llm="offline/phrasebook", tts="espeak")
    r.stages_ms = dict.fromkeys(STAGES)
    r.stages_ms["ttft"] = 1.5
    uid = store.record(r)
    assert uid  # a fresh id when the result has none
    (back,) = store.results()
    assert back.utterance_id == uid
    assert back.ok is True and back.error is None
    assert back.ws_reused is None
    assert back.stages_ms == {**dict.fromkeys(STAGES), "ttft": 1.5}
    assert back.provider_timings == {} and back.notices == []


def test_wal_mode_and_schema_version(store: Store) -> None:
    store.flush()
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    cols = [r[1] for r in conn.execute("PRAGMA table_info(utterances)")]
    assert set(UTTERANCE_COLUMNS) <= set(cols)
    assert set(STAGE_COLUMNS) <= set(cols)
    conn.close()


def test_filters_and_limit(store: Store) -> None:
    s1, s2 = store.start_session("console"), store.start_session("bench", "nightly")
    run = store.start_bench_run({"llms": ["groq/a"], "runs": 2}, session_id=s2)
    store.record(full_result(0, llm="groq/a"), s1)
    store.record(full_result(1, llm="openai/gpt-4o-mini"), s1)
    store.record(full_result(2, llm="groq/a", tts="espeak"), s2, run_id=run)
    store.record(full_result(3, llm="groq_like/x"), s2, run_id=run)
    store.record(full_result(4, llm="ollama/qwen2.5", tts="espeak"), s2)

    ids = lambda rows: [r["id"] for r in rows]  # noqa: E731
    assert ids(store.utterances()) == [f"utt-{i}" for i in range(5)]
    assert ids(store.utterances(session_id=s1)) == ["utt-0", "utt-1"]
    assert ids(store.utterances(run_id=run)) == ["utt-2", "utt-3"]
    assert ids(store.utterances(provider="groq")) == ["utt-0", "utt-2"]  # prefix, not groq_like
    assert ids(store.utterances(provider="openai/gpt-4o-mini")) == ["utt-1"]
    assert ids(store.utterances(provider="espeak")) == ["utt-2", "utt-4"]
    assert ids(store.utterances(session_id=s2, provider="espeak")) == ["utt-2", "utt-4"]
    assert ids(store.utterances(limit=2)) == ["utt-3", "utt-4"]  # the latest two, oldest first
    assert store.utterances(provider="nobody") == []

    sessions = store.sessions()
    assert [s["id"] for s in sessions] == [s2, s1]
    assert {s["id"]: s["utterances"] for s in sessions} == {s1: 2, s2: 3}
    assert sessions[0]["kind"] == "bench" and sessions[0]["label"] == "nightly"


def test_bench_run_lifecycle(store: Store) -> None:
    session = store.start_session("bench")
    run = store.start_bench_run({"llms": ["groq/a"], "runs": 3}, session_id=session, run_id="run-1")
    assert run == "run-1"
    (row,) = store.bench_runs()
    assert row["status"] == "running" and row["finished_at"] is None and row["summary"] is None
    assert row["config"] == {"llms": ["groq/a"], "runs": 3}
    store.finish_bench_run(run, {"groq/a": {"ok": 3}}, status="cancelled")
    (row,) = store.bench_runs(session_id=session)
    assert row["status"] == "cancelled"
    assert row["summary"] == {"groq/a": {"ok": 3}}
    assert row["finished_at"] >= row["started_at"]
    assert store.bench_runs(session_id="other") == []


def test_bad_kind_and_status_rejected(store: Store) -> None:
    with pytest.raises(NuanuError):
        store.start_session("party")
    with pytest.raises(NuanuError):
        store.finish_bench_run("x", None, status="exploded")


def test_secrets_never_stored(tmp_path: Path) -> None:
    path = tmp_path / "nuanu.db"
    with Store(path, secrets=[SECRET, ""]) as store:
        session = store.start_session("cli", f"label {SECRET}")
        r = full_result(0)
        r.error = f"401 Unauthorized for key {SECRET}"
        r.text = f"echo {SECRET}"
        r.trigger = f"trigger {SECRET}"
        r.provider_timings = {"header": f"Bearer {SECRET}"}
        r.notices = [f"key {SECRET}"]
        store.record(r, session)
        store.start_bench_run({"note": SECRET}, session_id=session)
        (back,) = store.results()
        assert SECRET not in back.error and "***" in back.error
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert SECRET.encode() not in raw
    assert b"THISISASECRET" not in raw


def test_export_csv(store: Store, tmp_path: Path) -> None:
    session = store.start_session("console")
    store.record(full_result(0), session)
    store.record(full_result(1, llm="openai/gpt-4o-mini"), session)
    out = tmp_path / "u.csv"
    assert store.export_csv(out, provider="openai") == 1
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == list(UTTERANCE_COLUMNS)
    assert row["id"] == "utt-1"
    assert row["llm"] == "openai/gpt-4o-mini"
    assert row["trigger"] == "камера, две собаки слева #1"
    assert float(row["first_audio_ms"]) == pytest.approx(401.125)
    assert json.loads(row["notices"]) == ["trigger cut to 200 chars", "fallback: espeak"]
    assert json.loads(row["provider_timings"])["completion_tokens"] == 17


def test_export_json(store: Store, tmp_path: Path) -> None:
    session = store.start_session("console")
    store.record(full_result(0), session)
    store.record(full_result(1), store.start_session("cli"))
    out = tmp_path / "u.json"
    assert store.export_json(out, session_id=session) == 1
    (item,) = json.loads(out.read_text(encoding="utf-8"))
    assert item["utterance_id"] == "utt-0"
    assert item["session_id"] == session
    assert item["ok"] is False and item["error_kind"] == "timeout"
    assert item["stages_ms"]["ttft"] == pytest.approx(100.125)
    assert set(item["stages_ms"]) == set(STAGES)
    assert item["text"] == "Гав-гав, коллеги, держитесь обочины!"


V1_SCHEMA = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, started_at REAL NOT NULL, kind TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '');
CREATE TABLE bench_runs (id TEXT PRIMARY KEY, session_id TEXT, started_at REAL NOT NULL, finished_at REAL,
    config TEXT NOT NULL DEFAULT '{}', summary TEXT, status TEXT NOT NULL DEFAULT 'running');
CREATE TABLE utterances (id TEXT PRIMARY KEY, session_id TEXT, run_id TEXT, source TEXT NOT NULL DEFAULT '',
    started_at REAL NOT NULL DEFAULT 0, trigger TEXT NOT NULL DEFAULT '', llm TEXT NOT NULL DEFAULT '',
    tts TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '', ttft_ms REAL, first_flush_ms REAL,
    first_audio_byte_ms REAL, first_audio_ms REAL, llm_done_ms REAL, tts_done_ms REAL, playback_done_ms REAL,
    ws_reused INTEGER, offline INTEGER NOT NULL DEFAULT 0, simulated INTEGER NOT NULL DEFAULT 0,
    ok INTEGER NOT NULL DEFAULT 1, error_kind TEXT, error TEXT, provider_timings TEXT NOT NULL DEFAULT '{}',
    served_by TEXT, degraded INTEGER NOT NULL DEFAULT 0, filtered INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0, chars INTEGER NOT NULL DEFAULT 0, audio_seconds REAL NOT NULL DEFAULT 0);
INSERT INTO sessions VALUES ('s-old', 1700000000.0, 'console', 'v1 ride');
INSERT INTO utterances (id, session_id, source, started_at, trigger, llm, tts, text, ttft_ms, first_audio_ms,
    ws_reused, ok, provider_timings)
VALUES ('u-old', 's-old', 'console', 1700000001.0, 'справа скутер', 'groq/llama-3.1-8b-instant', 'elevenlabs',
    'Би-бип!', 212.4, 607.0, 1, 1, '{"queue_time": 0.01}');
PRAGMA user_version = 1;
"""


def test_migrates_a_v1_database(tmp_path: Path) -> None:
    path = tmp_path / "nuanu.db"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.close()
    assert SCHEMA_VERSION >= 2
    with Store(path) as store:
        (old,) = store.results(session_id="s-old")
        assert old.utterance_id == "u-old"
        assert old.stages_ms["first_audio"] == 607.0 and old.stages_ms["tts_done"] is None
        assert old.ws_reused is True
        assert old.provider_timings == {"queue_time": 0.01}
        assert old.notices == []  # column added by the v2 migration, default applied to old rows
        store.record(full_result(9), "s-old")
        assert [r.utterance_id for r in store.results(session_id="s-old")] == ["u-old", "utt-9"]
        assert store.results(session_id="s-old")[1].notices == [
            "trigger cut to 200 chars",
            "fallback: espeak",
        ]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "idx_utterances_run" in indexes
    conn.close()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nuanu.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(NuanuError) as info:
        Store(path).open()
    assert info.value.kind == "store"
    assert "newer" in str(info.value)


def test_reopen_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "nuanu.db"  # parents are created
    with Store(path) as store:
        store.record(full_result(1), store.start_session("cli"))
    with Store(path) as store:
        assert [r.utterance_id for r in store.results()] == ["utt-1"]


def test_use_when_closed_is_an_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "nuanu.db")
    with pytest.raises(NuanuError):
        store.record(full_result())
    store.open()
    store.close()
    store.close()  # idempotent
    with pytest.raises(NuanuError):
        store.utterances()


def test_default_db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUANU_DATA_DIR", str(tmp_path / "env"))
    assert default_db_path() == tmp_path / "env" / "nuanu.db"
    assert default_db_path(tmp_path / "explicit") == tmp_path / "explicit" / "nuanu.db"
    monkeypatch.delenv("NUANU_DATA_DIR")
    assert default_db_path().name == "nuanu.db"
    assert "nuanu-tui" in str(default_db_path())


def test_a_failed_write_does_not_stop_later_writes(store: Store) -> None:
    store.record(full_result(1))
    bad = full_result(2)
    bad.provider_timings = {"x": float("nan")}
    bad.tokens = "not a number"  # type: ignore[assignment]
    store.record(bad)
    store.record(full_result(3))
    assert [r.utterance_id for r in store.results()] == ["utt-1", "utt-3"]
    assert store.write_errors == 1 and store.last_error


KILL_CHILD = textwrap.dedent(
    """
    import sys
    from nuanu_tui.core.store import Store
    from nuanu_tui.core.timeline import UtteranceResult

    store = Store(sys.argv[1]).open()
    session = store.start_session("cli", "kill test")
    i = 0
    while True:
        r = UtteranceResult(trigger=f"event {i}", llm="offline/phrasebook", tts="espeak", text="x" * 200)
        r.utterance_id = f"kill-{i}"
        store.record(r, session)
        # a burst of writes still in flight when the kill lands
        for j in range(5):
            extra = UtteranceResult(trigger="burst", llm="offline/phrasebook", tts="espeak")
            extra.utterance_id = f"burst-{i}-{j}"
            store.record(extra, session)
        store.flush()
        print(r.utterance_id, flush=True)
        i += 1
    """
)


@needs_sigkill
def test_sigkill_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "nuanu.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    printed: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            printed.append(line.strip())
            if len(printed) >= 5:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        printed += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(printed) >= 5, proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == -signal.SIGKILL

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in conn.execute("SELECT id FROM utterances")}
    conn.close()
    missing = [uid for uid in printed if uid not in stored]
    assert missing == []
    with Store(path) as store:  # and the current code reopens it cleanly
        assert len(store.utterances(limit=3)) == 3


# --- damaged files ----------------------------------------------------------------------------------------
def damage(path: Path, pages: tuple[int, ...] = (2, 3, 4)) -> None:
    """Overwrite whole pages of a closed database with garbage, as a bad disk or a stray write would."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(path, "r+b") as f:
        for page in pages:
            f.seek((page - 1) * page_size)
            f.write(bytes((i * 37 + page) % 256 for i in range(page_size)))


def filled(path: Path, n: int = 60) -> None:
    with Store(path) as s:
        session = s.start_session("cli", "before the damage")
        for i in range(n):
            s.record(full_result(i), session)


def test_a_damaged_database_is_moved_aside_and_a_fresh_one_started(tmp_path: Path) -> None:
    path = tmp_path / "nuanu.db"
    filled(path)
    damage(path)
    with Store(path) as store:
        assert store.recovered is not None
        assert "damaged" in store.recovered and "\n" not in store.recovered
        aside = [
            p
            for p in tmp_path.iterdir()
            if p.name.startswith("nuanu.db.damaged-") and not p.name.endswith(("-wal", "-shm"))
        ]
        assert len(aside) == 1 and str(aside[0]) in store.recovered
        # the fresh one works and holds only what is written now
        store.record(full_result(99))
        assert [r.utterance_id for r in store.results()] == ["utt-99"]
        assert store.write_errors == 0
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    conn.close()


def test_a_file_that_is_not_a_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "nuanu.db"
    path.write_bytes(b"this is not sqlite at all " * 200)
    with Store(path) as store:
        assert store.recovered is not None and "damaged" in store.recovered
        store.record(full_result(1))
        assert len(store.results()) == 1


def test_a_healthy_database_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "nuanu.db"
    filled(path, 5)
    with Store(path) as store:
        assert store.recovered is None
        assert len(store.results()) == 5
    assert [p.name for p in tmp_path.iterdir() if "damaged" in p.name] == []


def test_a_damaged_database_that_cannot_be_moved_is_one_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "ro"
    data.mkdir()
    filled(data / "nuanu.db")
    damage(data / "nuanu.db")
    data.chmod(0o500)  # the directory is read-only: the damaged file cannot be renamed
    try:
        if os.access(data, os.W_OK):
            pytest.skip("running as a user who can write anyway (root)")
        with pytest.raises(NuanuError) as err:
            Store(data / "nuanu.db").open()
        assert "damaged" in err.value.message and "cannot be moved aside" in err.value.message
    finally:
        data.chmod(0o700)


def test_rtt_series_round_trip(store: Store) -> None:
    session = store.start_session("console", "lte")
    store.record_rtt(1_760_000_000.0, [("groq", 84.5), ("elevenlabs", None)], session)
    store.record_rtt(1_760_000_005.0, [("groq", 90.0)], session)
    store.record_rtt(1_760_000_006.0, [("groq", 1.0)])  # no session
    assert store.rtt_series(session) == [
        {"session_id": session, "at": 1_760_000_000.0, "provider": "groq", "rtt_ms": 84.5},
        {"session_id": session, "at": 1_760_000_000.0, "provider": "elevenlabs", "rtt_ms": None},
        {"session_id": session, "at": 1_760_000_005.0, "provider": "groq", "rtt_ms": 90.0},
    ]
    assert len(store.rtt_series()) == 4


def test_the_quality_step_keeps_prompt_and_quality_and_filters_by_flag(tmp_path: Path) -> None:
    """A database from just before the prompt/quality step upgrades (its rows: no prompt, not judged); new
    rows keep both."""
    from nuanu_tui.core.store_schema import MIGRATIONS

    step_index = next(i for i, step in enumerate(MIGRATIONS) if any("ADD COLUMN quality " in s for s in step))
    path = tmp_path / "nuanu.db"
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:step_index]:
        for statement in step:
            conn.execute(statement)
    conn.execute(
        "INSERT INTO utterances (id, source, started_at, trigger, llm, tts, text) VALUES "
        "('u-v8', 'console', 1700000001.0, 'две собаки', 'groq/x', 'elevenlabs', 'Гав!')"
    )
    conn.execute(f"PRAGMA user_version = {step_index}")
    conn.commit()
    conn.close()
    with Store(path) as store:
        (old,) = store.results()
        assert old.prompt is None and old.quality is None
        clean = full_result(1)
        clean.quality = Quality(9, 2, 3.0, 0, True, True, None, [])
        store.record(full_result(2))
        store.record(clean)
        assert [r["id"] for r in store.utterances(flag="cut_off")] == ["utt-2"]
        assert [r["id"] for r in store.utterances(flag="repeats")] == ["utt-2"]
        assert store.utterances(flag="off_topic") == []
        assert store.utterances(flag="cut") == []  # a whole flag, not a prefix
        row = store.utterances(flag="cut_off")[0]
        assert row["prompt"] == "minimal@2" and row["quality"]["flags"] == ["cut_off", "repeats"]
        out = tmp_path / "flagged.json"
        assert store.export_json(out, flag="repeats") == 1
        (item,) = json.loads(out.read_text(encoding="utf-8"))
        assert item["prompt"] == "minimal@2" and item["quality"]["repeats"] == "utt-0"
        csv_out = tmp_path / "all.csv"
        store.export_csv(csv_out)
        with csv_out.open(encoding="utf-8", newline="") as f:
            rows = {r["id"]: r for r in csv.DictReader(f)}
        assert (
            rows["utt-1"]["quality_flags"].strip() == ""
            and json.loads(rows["utt-1"]["quality"])["words"] == 9
        )
        assert rows["u-v8"]["quality"] == "" and rows["u-v8"]["prompt"] == ""
