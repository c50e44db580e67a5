"""The database's shape and its files: schema migrations, where the file lives, damage checks.

Why a module of its own: the schema is versioned with ``PRAGMA user_version`` and an ordered list of
migrations, so a newer nuanu-tui opens an older database and upgrades it in place. Everything here works on a
path or a bare connection; the writer thread and the queries live in `store.py`.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import platformdirs

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.timeline import STAGES

DB_NAME = "nuanu.db"
APP_NAME = "nuanu-tui"
STAGE_COLUMNS = tuple(f"{stage}_ms" for stage in STAGES)
# The stage columns the first schema created. Frozen: a stage added later gets its column in a migration.
_V1_STAGE_COLUMNS = tuple(
    f"{stage}_ms"
    for stage in (
        "ttft", "first_flush", "first_audio_byte", "first_audio", "llm_done", "tts_done", "playback_done",
    )
)  # fmt: skip

# Ordered migrations: index i upgrades user_version i -> i + 1. Never edit a released entry; append.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1: the first schema.
    (
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            started_at REAL NOT NULL,
            kind TEXT NOT NULL,
            label TEXT NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE bench_runs (
            id TEXT PRIMARY KEY,
            session_id TEXT REFERENCES sessions(id),
            started_at REAL NOT NULL,
            finished_at REAL,
            config TEXT NOT NULL DEFAULT '{}',
            summary TEXT,
            status TEXT NOT NULL DEFAULT 'running'
        )""",
        f"""CREATE TABLE utterances (
            id TEXT PRIMARY KEY,
            session_id TEXT REFERENCES sessions(id),
            run_id TEXT REFERENCES bench_runs(id),
            source TEXT NOT NULL DEFAULT '',
            started_at REAL NOT NULL DEFAULT 0,
            trigger TEXT NOT NULL DEFAULT '',
            llm TEXT NOT NULL DEFAULT '',
            tts TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            {", ".join(f"{c} REAL" for c in _V1_STAGE_COLUMNS)},
            ws_reused INTEGER,
            offline INTEGER NOT NULL DEFAULT 0,
            simulated INTEGER NOT NULL DEFAULT 0,
            ok INTEGER NOT NULL DEFAULT 1,
            error_kind TEXT,
            error TEXT,
            provider_timings TEXT NOT NULL DEFAULT '{{}}',
            served_by TEXT,
            degraded INTEGER NOT NULL DEFAULT 0,
            filtered INTEGER NOT NULL DEFAULT 0,
            tokens INTEGER NOT NULL DEFAULT 0,
            chars INTEGER NOT NULL DEFAULT 0,
            audio_seconds REAL NOT NULL DEFAULT 0
        )""",
    ),
    # v2: operator notices per utterance, and indexes for the history filters.
    (
        "ALTER TABLE utterances ADD COLUMN notices TEXT NOT NULL DEFAULT '[]'",
        "CREATE INDEX idx_utterances_session ON utterances(session_id)",
        "CREATE INDEX idx_utterances_run ON utterances(run_id)",
        "CREATE INDEX idx_utterances_llm ON utterances(llm)",
        "CREATE INDEX idx_bench_runs_session ON bench_runs(session_id)",
    ),
    # v3: how an utterance was cut short by the operator: 'interrupted' (while speaking) or 'dropped'
    # (cleared from the queue before it started); NULL when it ran to its end (or failed by itself).
    ("ALTER TABLE utterances ADD COLUMN mark TEXT",),
    # v4: who really spoke: the TTS specs that produced audio, in order (served_by has the LLM).
    ("ALTER TABLE utterances ADD COLUMN voiced_by TEXT NOT NULL DEFAULT '[]'",),
    # v5: ride mode: one row per event and the decision it got (spoken ones point at their utterance).
    (
        """CREATE TABLE ride_events (
            rowid INTEGER PRIMARY KEY,
            session_id TEXT REFERENCES sessions(id),
            event_id TEXT NOT NULL DEFAULT '',
            received_at REAL NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            event TEXT,
            trigger TEXT,
            decision TEXT NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            utterance_id TEXT,
            event_age_ms REAL
        )""",
        "CREATE INDEX idx_ride_events_session ON ride_events(session_id)",
    ),
    # v6: instant reactions: the first sound of anything, the interjection said, its length and the gap.
    (
        "ALTER TABLE utterances ADD COLUMN first_sound_ms REAL",
        "ALTER TABLE utterances ADD COLUMN interjection TEXT",
        "ALTER TABLE utterances ADD COLUMN interjection_ms REAL",
        "ALTER TABLE utterances ADD COLUMN gap_ms REAL",
    ),
    # v7: the network round trips (ms) to the LLM and TTS hosts when the utterance started (issue 14).
    (
        "ALTER TABLE utterances ADD COLUMN net_rtt_llm_ms REAL",
        "ALTER TABLE utterances ADD COLUMN net_rtt_tts_ms REAL",
    ),
    # v8: the series of round trips the console measured to each provider (one row per new reading).
    (
        """CREATE TABLE net_rtt (
            rowid INTEGER PRIMARY KEY,
            session_id TEXT REFERENCES sessions(id),
            at REAL NOT NULL,
            provider TEXT NOT NULL,
            rtt_ms REAL
        )""",
        "CREATE INDEX idx_net_rtt_session ON net_rtt(session_id)",
    ),
    # v9: the arena's votes (issue 19): both configurations as "LLM · PROMPT@VERSION · TTS", the winner, who
    # voted, and the two utterances heard (NULL for votes imported from another machine). And the quick
    # ratings (+1/-1) of single remarks, keyed by utterance with its configuration, so a rating given before
    # the utterance's row is written (or re-written when it is marked interrupted) is never lost.
    (
        """CREATE TABLE votes (
            id TEXT PRIMARY KEY,
            ts REAL NOT NULL,
            trigger TEXT NOT NULL DEFAULT '',
            a TEXT NOT NULL,
            b TEXT NOT NULL,
            winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie')),
            operator TEXT NOT NULL DEFAULT '',
            a_utterance TEXT,
            b_utterance TEXT,
            session_id TEXT
        )""",
        """CREATE TABLE utterance_ratings (
            utterance_id TEXT PRIMARY KEY,
            rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
            config TEXT NOT NULL,
            rated_at REAL NOT NULL,
            operator TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX idx_utterance_ratings_config ON utterance_ratings(config)",
    ),
    # v10: which prompt file spoke ("NAME@VERSION") and the quality rubric's verdict (JSON), with its flags
    # again as " flag flag " text so history can filter by one (issue 19).
    (
        "ALTER TABLE utterances ADD COLUMN prompt TEXT",
        "ALTER TABLE utterances ADD COLUMN quality TEXT",
        "ALTER TABLE utterances ADD COLUMN quality_flags TEXT",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

UTTERANCE_COLUMNS = (
    "id",
    "session_id",
    "run_id",
    "source",
    "started_at",
    "trigger",
    "llm",
    "tts",
    "text",
    *STAGE_COLUMNS,
    "ws_reused",
    "offline",
    "simulated",
    "ok",
    "error_kind",
    "error",
    "provider_timings",
    "served_by",
    "degraded",
    "filtered",
    "tokens",
    "chars",
    "audio_seconds",
    "notices",
    "mark",
    "voiced_by",
    "interjection",
    "interjection_ms",
    "gap_ms",
    "net_rtt_llm_ms",
    "net_rtt_tts_ms",
    "prompt",
    "quality",
    "quality_flags",
)


def default_db_path(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """`data_dir` (Settings.data_dir), else `$NUANU_DATA_DIR`, else the platform's user data dir."""
    base = data_dir or os.environ.get("NUANU_DATA_DIR") or platformdirs.user_data_dir(APP_NAME)
    return Path(base).expanduser() / DB_NAME


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to `SCHEMA_VERSION`; each step commits with its version. Returns the version."""
    while True:
        conn.execute("BEGIN IMMEDIATE")  # serialises concurrent openers; re-read the version under the lock
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise NuanuError(
                    "store",
                    f"database schema v{version} is newer than this nuanu-tui understands (v{SCHEMA_VERSION});"
                    " upgrade nuanu-tui or point NUANU_DATA_DIR elsewhere",
                )
            if version == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return version
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def damage_of(path: Path) -> str | None:
    """Why the database at `path` cannot be trusted (`PRAGMA quick_check`), or None when it is sound or
    absent. quick_check reads every page but skips the index cross-checks: milliseconds for our sizes."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(3)").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        return str(exc)
    return None if rows == ["ok"] else " ".join(" ".join(rows).split())[:160]


def move_aside(path: Path) -> Path:
    """Rename a damaged database (and its WAL and shared-memory files) to `NAME.damaged-<UTC time>`."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.replace(aside.with_name(aside.name + suffix))
    path.replace(aside)
    return aside


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn
