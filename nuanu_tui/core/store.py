"""SQLite memory of sessions, bench runs and every utterance — written off the audio path.

Why it looks like this:
- one writer thread owns its own connection and drains a `queue.SimpleQueue`; `record()` only enqueues,
  so the pipeline never waits on the disk. Each item is its own transaction: a killed process loses at
  most the write in flight, never a committed one (WAL + ``synchronous=NORMAL`` is durable against
  process crashes; only an OS crash / power loss can drop the last commits).
- the schema and its migrations live in `store_schema.py`; decoding rows and the export shapes in
  `store_rows.py`. This module owns the writer thread and the queries.
- API keys are never stored: only spec strings, text and (already scrubbed) errors go in, and every text
  field is scrubbed once more against the secrets the store was given.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.ratings import Likes, likes_by_config
from nuanu_tui.core.store_rows import decode_row, row_to_result, write_csv, write_json
from nuanu_tui.core.store_schema import (
    UTTERANCE_COLUMNS,
    connect,
    damage_of,
    default_db_path,
    migrate,
    move_aside,
)
from nuanu_tui.core.timeline import STAGES, UtteranceResult
from nuanu_tui.core.votes import Vote

log = logging.getLogger(__name__)

SESSION_KINDS = ("console", "compare", "bench", "cli", "ride")
RUN_STATUSES = ("running", "done", "cancelled", "failed")  # failed: the engine died mid-run
REDACTED = "***"
_RIDE_INSERT = (
    "INSERT INTO ride_events (session_id, event_id, received_at, source, event, trigger, decision, reason,"
    " detail, utterance_id, event_age_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_VOTE_COLUMNS = (
    "id",
    "ts",
    "trigger",
    "a",
    "b",
    "winner",
    "operator",
    "a_utterance",
    "b_utterance",
    "session_id",
)
_VOTE_INSERT = (
    f"INSERT OR IGNORE INTO votes ({', '.join(_VOTE_COLUMNS)}) VALUES ({', '.join('?' * len(_VOTE_COLUMNS))})"
)


def _new_id() -> str:
    return uuid.uuid4().hex


class _Stop:
    pass


_STOP = _Stop()
_Job = Callable[[sqlite3.Connection], None]


class Store:
    """The nuanu-tui database. Use as a context manager or call `open()` / `close()`.

    Writes (`record`, `start_session`, `start_bench_run`, `finish_bench_run`) return at once; queries
    first `flush()` so they see everything written before them.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, secrets: Iterable[str] = ()) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self._queue: queue.SimpleQueue[_Job | threading.Event | _Stop] = queue.SimpleQueue()
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._writer: threading.Thread | None = None
        self.last_error: str | None = None
        self.write_errors = 0
        self.writes = 0  # committed
        self.recovered: str | None = None  # one line, when a damaged database was moved aside on open

    @classmethod
    def from_settings(cls, settings: Any) -> Store:
        """Store at the configured data dir, scrubbing every configured API key."""
        return cls(default_db_path(settings.data_dir), secrets=settings.secrets())

    # -- lifecycle -------------------------------------------------------------------------------------

    def open(self) -> Store:
        if self._reader is not None:
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._check()
            reader = connect(self.path)
            migrate(reader)
            writer_conn = connect(self.path)
        except sqlite3.Error as exc:
            raise NuanuError("store", f"cannot open database {self.path}: {exc}") from None
        except OSError as exc:
            raise NuanuError("store", f"cannot create data dir {self.path.parent}: {exc.strerror}") from None
        reader.row_factory = sqlite3.Row
        self._reader = reader
        self._writer = threading.Thread(
            target=self._write_loop, args=(writer_conn,), name="nuanu-store", daemon=True
        )
        self._writer.start()
        atexit.register(self.close)
        return self

    def _check(self) -> None:
        """A damaged database is moved aside and a fresh one started, so new results are not written
        into (or lost in) a file that fails half its writes."""
        why = damage_of(self.path)
        if why is None:
            return
        try:
            aside = move_aside(self.path)
        except FileNotFoundError:  # another opener (a bench next to the console) moved it first
            return
        except OSError as exc:
            raise NuanuError(
                "store", f"database {self.path} is damaged ({why}) and cannot be moved aside: {exc.strerror}"
            ) from None
        self.recovered = self._scrub(
            f"database {self.path} was damaged ({why}); moved it to {aside} and started a fresh one"
        )
        log.info("%s", self.recovered)  # the caller shows it (one line, where its user looks)

    def close(self) -> None:
        """Write everything queued, stop the writer, close both connections. Safe to call twice."""
        if self._reader is None:
            return
        atexit.unregister(self.close)
        self._queue.put(_STOP)
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        with self._read_lock:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> Store:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._reader is not None

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every write queued so far is committed. False on timeout."""
        self._require_open()
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    # -- writer thread ---------------------------------------------------------------------------------

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _Stop):
                    return
                if isinstance(item, threading.Event):
                    item.set()
                    continue
                try:
                    conn.execute("BEGIN")
                    item(conn)
                    conn.execute("COMMIT")
                    self.writes += 1
                except Exception as exc:  # a bad row must not stop later writes
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    self.write_errors += 1
                    self.last_error = self._scrub(f"{type(exc).__name__}: {exc}")
                    log.info("store write failed: %s", self.last_error)  # counted; callers report
        finally:
            conn.close()

    def _require_open(self) -> None:
        if self._reader is None:
            raise NuanuError("store", "the store is not open")

    def _submit(self, job: _Job) -> None:
        self._require_open()
        self._queue.put(job)

    # -- scrubbing -------------------------------------------------------------------------------------

    def _scrub(self, value: str | None) -> str | None:
        if value is None:
            return None
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def _json(self, value: Any) -> str:
        return self._scrub(json.dumps(value, ensure_ascii=False, default=str)) or ""

    # -- writes ----------------------------------------------------------------------------------------

    def start_session(self, kind: str, label: str = "") -> str:
        if kind not in SESSION_KINDS:
            raise NuanuError("store", f"unknown session kind {kind!r}: use one of {', '.join(SESSION_KINDS)}")
        session_id, started_at, label = _new_id(), time.time(), self._scrub(label) or ""
        self._submit(
            lambda c: c.execute(
                "INSERT INTO sessions (id, started_at, kind, label) VALUES (?, ?, ?, ?)",
                (session_id, started_at, kind, label),
            )
        )
        return session_id

    def start_bench_run(
        self, config: Mapping[str, Any], *, session_id: str | None = None, run_id: str | None = None
    ) -> str:
        run_id = run_id or _new_id()
        started_at, config_json = time.time(), self._json(dict(config))
        self._submit(
            lambda c: c.execute(
                "INSERT INTO bench_runs (id, session_id, started_at, config, status) VALUES (?, ?, ?, ?, 'running')",
                (run_id, session_id, started_at, config_json),
            )
        )
        return run_id

    def finish_bench_run(self, run_id: str, summary: Mapping[str, Any] | None, status: str = "done") -> None:
        if status not in RUN_STATUSES:
            raise NuanuError(
                "store", f"unknown bench status {status!r}: use one of {', '.join(RUN_STATUSES)}"
            )
        finished_at = time.time()
        summary_json = None if summary is None else self._json(dict(summary))
        self._submit(
            lambda c: c.execute(
                "UPDATE bench_runs SET finished_at = ?, summary = ?, status = ? WHERE id = ?",
                (finished_at, summary_json, status, run_id),
            )
        )

    def record(
        self, result: UtteranceResult, session_id: str | None = None, run_id: str | None = None
    ) -> str:
        """Queue one utterance for writing and return its id (the result's own id, or a new one).

        Only a reference is queued; the row is built on the writer thread, so call this once the
        result is final.
        """
        utterance_id = result.utterance_id or _new_id()
        run = run_id if run_id is not None else result.run_id
        self._submit(lambda c: self._insert_utterance(c, result, utterance_id, session_id, run))
        return utterance_id

    def _insert_utterance(
        self,
        conn: sqlite3.Connection,
        r: UtteranceResult,
        utterance_id: str,
        session_id: str | None,
        run_id: str | None,
    ) -> None:
        s = self._scrub
        row = (
            utterance_id,
            session_id,
            run_id,
            r.source,
            r.started_at,
            s(r.trigger),
            s(r.llm),
            s(r.tts),
            s(r.text),
            *(r.stages_ms.get(stage) for stage in STAGES),
            None if r.ws_reused is None else int(r.ws_reused),
            int(r.offline),
            int(r.simulated),
            int(r.ok),
            r.error_kind,
            s(r.error),
            self._json(r.provider_timings),
            s(r.served_by),
            int(r.degraded),
            int(r.filtered),
            int(r.tokens),
            int(r.chars),
            float(r.audio_seconds),
            self._json(list(r.notices)),
            r.mark,
            self._json(list(r.voiced_by)),
            s(r.interjection),
            r.interjection_ms,
            r.gap_ms,
            r.net_rtt_ms.get("llm"),
            r.net_rtt_ms.get("tts"),
            r.prompt,
            None if r.quality is None else self._json(r.quality.to_json()),
            None if r.quality is None else f" {' '.join(r.quality.flags)} ",
        )
        placeholders = ", ".join("?" * len(UTTERANCE_COLUMNS))
        conn.execute(
            f"INSERT OR REPLACE INTO utterances ({', '.join(UTTERANCE_COLUMNS)}) VALUES ({placeholders})", row
        )

    def record_ride_decision(self, decision: Any, session_id: str | None = None) -> None:
        """One ride event and its decision (`core.ride.decisions.RideDecision`); never the raw message."""
        self.record_ride_decisions([(decision, session_id)])

    def record_ride_decisions(self, batch: Sequence[tuple[Any, str | None]]) -> None:
        """Many decisions in one transaction (a flood is thousands a second), in order."""
        rows = [self._ride_row(d, session_id) for d, session_id in batch]
        if rows:
            self._submit(lambda c: c.executemany(_RIDE_INSERT, rows))

    def _ride_row(self, d: Any, session_id: str | None) -> tuple[Any, ...]:
        event = None if d.event is None else self._json(d.event.to_json())
        return (
            session_id,
            d.id,
            d.received_at,
            d.source,
            event,
            self._scrub(d.trigger),
            d.decision,
            d.reason,
            self._scrub(d.detail) or "",
            d.utterance_id,
            d.event_age_ms,
        )

    def record_rtt(
        self, at: float, readings: Sequence[tuple[str, float | None]], session_id: str | None = None
    ) -> None:
        """One point of the RTT series: (provider, ms or None when unmeasured) at wall time `at`."""
        rows = [(session_id, at, provider, ms) for provider, ms in readings]
        if rows:
            self._submit(
                lambda c: c.executemany(
                    "INSERT INTO net_rtt (session_id, at, provider, rtt_ms) VALUES (?, ?, ?, ?)", rows
                )
            )

    def rtt_series(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """The recorded RTT series, oldest first (one session's, or all)."""
        where, params = ("WHERE session_id = ?", (session_id,)) if session_id else ("", ())
        rows = self._query(
            f"SELECT session_id, at, provider, rtt_ms FROM net_rtt {where} ORDER BY rowid", params
        )
        return [dict(row) for row in rows]

    def ride_events(self, session_id: str) -> list[dict[str, Any]]:
        """A ride's decisions in arrival order; `event` decoded from JSON."""
        rows = self._query("SELECT * FROM ride_events WHERE session_id = ? ORDER BY rowid", (session_id,))
        out = []
        for row in rows:
            item = dict(row)
            item["event"] = None if item["event"] is None else json.loads(item["event"])
            out.append(item)
        return out

    # -- arena votes and quick ratings ------------------------------------------------------------------

    def record_vote(self, vote: Vote) -> None:
        """Queue one arena vote (a vote id already stored is left as it is)."""
        row = self._vote_row(vote)
        self._submit(lambda c: c.execute(_VOTE_INSERT, row))

    def import_votes(self, votes: Sequence[Vote]) -> tuple[int, int]:
        """Store votes in one transaction, skipping ids already stored (or repeated in `votes`); returns
        (added, skipped). Waits for the write; a failed write stores none of them and raises NuanuError."""
        rows = [self._vote_row(v) for v in votes]
        added: list[int] = []

        def insert(conn: sqlite3.Connection) -> None:
            before = conn.total_changes
            conn.executemany(_VOTE_INSERT, rows)
            added.append(conn.total_changes - before)

        errors = self.write_errors
        self._submit(insert)
        self.flush()
        if not added:
            why = self.last_error if self.write_errors > errors else "the write did not run"
            raise NuanuError("store", f"votes not imported: {why}")
        return added[0], len(rows) - added[0]

    def _vote_row(self, v: Vote) -> tuple[Any, ...]:
        s = self._scrub
        return (
            v.id,
            v.ts,
            s(v.trigger) or "",
            s(v.a),
            s(v.b),
            v.winner,
            s(v.operator) or "",
            v.a_utterance,
            v.b_utterance,
            v.session_id,
        )

    def votes(self) -> list[Vote]:
        """Every stored vote, oldest first."""
        rows = self._query(f"SELECT {', '.join(_VOTE_COLUMNS)} FROM votes ORDER BY ts, id")
        return [Vote(**dict(row)) for row in rows]

    def rate(self, utterance_id: str, rating: int | None, config: str, operator: str = "") -> None:
        """A quick rating of one remark: +1 (liked), -1 (disliked) or None (the rating taken back)."""
        if rating is None:
            self._submit(
                lambda c: c.execute("DELETE FROM utterance_ratings WHERE utterance_id = ?", (utterance_id,))
            )
            return
        if rating not in (-1, 1):
            raise NuanuError("store", f"a quick rating is +1 or -1 (got {rating!r})")
        row = (utterance_id, rating, self._scrub(config), time.time(), self._scrub(operator) or "")
        self._submit(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO utterance_ratings (utterance_id, rating, config, rated_at, operator)"
                " VALUES (?, ?, ?, ?, ?)",
                row,
            )
        )

    def quick_ratings(self, utterance_ids: Sequence[str] | None = None) -> dict[str, int]:
        """utterance id -> +1 / -1, for the given utterances (or every rated one)."""
        sql, params = "SELECT utterance_id, rating FROM utterance_ratings", list(utterance_ids or ())
        if utterance_ids is not None:
            sql += f" WHERE utterance_id IN ({', '.join('?' * len(params))})"
        return {row["utterance_id"]: row["rating"] for row in self._query(sql, params)}

    def likes(self) -> dict[str, Likes]:
        """The quick ratings counted per configuration."""
        rows = self._query("SELECT config, rating FROM utterance_ratings ORDER BY config")
        return likes_by_config((row["config"], row["rating"]) for row in rows)

    # -- queries ---------------------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        self.flush()
        with self._read_lock:
            assert self._reader is not None
            return self._reader.execute(sql, params).fetchall()

    def sessions(self) -> list[dict[str, Any]]:
        """Newest first, with the number of utterances in each."""
        rows = self._query(
            "SELECT s.*, (SELECT COUNT(*) FROM utterances u WHERE u.session_id = s.id) AS utterances"
            " FROM sessions s ORDER BY s.started_at DESC, s.rowid DESC"
        )
        return [dict(row) for row in rows]

    def bench_runs(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Newest first; `config` and `summary` decoded from JSON."""
        sql, params = "SELECT * FROM bench_runs", []
        if session_id is not None:
            sql, params = sql + " WHERE session_id = ?", [session_id]
        out = []
        for row in self._query(sql + " ORDER BY started_at DESC, rowid DESC", params):
            item = dict(row)
            item["config"] = json.loads(item["config"] or "{}")
            item["summary"] = None if item["summary"] is None else json.loads(item["summary"])
            out.append(item)
        return out

    def utterances(
        self,
        session_id: str | None = None,
        run_id: str | None = None,
        provider: str | None = None,
        limit: int | None = None,
        flag: str | None = None,
    ) -> list[dict[str, Any]]:
        """Flat rows in the order they were recorded (the latest `limit` when given).

        `provider` matches an exact LLM/TTS spec (`groq/llama-3.1-8b-instant`) or a provider prefix
        (`groq`, `elevenlabs`); `flag` keeps the remarks the quality rubric gave that flag.
        """
        where, params = _filters(session_id, run_id, provider, flag)
        sql = f"SELECT rowid AS _seq, * FROM utterances{where} ORDER BY rowid DESC"
        if limit is not None:
            sql, params = sql + " LIMIT ?", [*params, int(limit)]
        rows = self._query(sql, params)
        return [decode_row(row) for row in reversed(rows)]

    def results(self, **filters: Any) -> list[UtteranceResult]:
        """Same filters as `utterances`, rebuilt as `UtteranceResult`s."""
        return [row_to_result(row) for row in self.utterances(**filters)]

    def export_csv(self, path: str | os.PathLike[str], **filters: Any) -> int:
        """One row per utterance, every column; JSON columns as JSON text. Returns the row count."""
        return write_csv(path, self.utterances(**filters))

    def export_json(self, path: str | os.PathLike[str], **filters: Any) -> int:
        """A JSON array: each utterance in the `say --json` shape plus its stored metadata."""
        return write_json(path, self.utterances(**filters))


def _filters(
    session_id: str | None, run_id: str | None, provider: str | None, flag: str | None = None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if session_id is not None:
        clauses.append("session_id = ?")
        params.append(session_id)
    if run_id is not None:
        clauses.append("run_id = ?")
        params.append(run_id)
    if provider is not None:
        like = provider.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        clauses.append("(llm = ? OR tts = ? OR llm LIKE ? ESCAPE '\\' OR tts LIKE ? ESCAPE '\\')")
        params += [provider, provider, like, like]
    if flag is not None:
        clauses.append("quality_flags LIKE ?")  # flags are stored space-delimited: " too_long cut_off "
        params.append(f"% {flag} %")
    return ((" WHERE " + " AND ".join(clauses)) if clauses else ""), params
