"""API keys never leak: canary keys go in through the environment, every output is searched for them.

Outputs searched: stdout/stderr of `say --json` (ok, refused port, 401 and key-echoing error bodies from the
emulator), `doctor` (keys masked only), `bench --json/--csv` files, the SQLite database (WAL and SHM too)
and every log record of an in-process run with all loggers at DEBUG. A leak is the whole key or any
12-character piece of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from nuanu_tui.core.config import Settings, mask
from nuanu_tui.core.engine import Engine
from nuanu_tui.sim.faults import LLMFault, TTSFault

CANARY = {
    "GROQ_API_KEY": "gsk_LEAKCANARYgroq_7Qm2Zx9Lp4Wv8Rt1",
    "OPENAI_API_KEY": "sk-LEAKCANARY-openai-3Hn6Yb2Kd8Jf5Gs0",
    "ELEVENLABS_API_KEY": "xi_LEAKCANARYeleven_9Pc4Vt7Nm1Qw6Ez3",
}
PIECE = 12  # any run of this many key characters counts as a leak
GROQ = "groq/llama-3.1-8b-instant"
OPENAI = "openai/gpt-4o-mini"


def _pieces(key: str) -> set[str]:
    return {key[i : i + PIECE] for i in range(len(key) - PIECE + 1)}


PIECES = {name: _pieces(key) for name, key in CANARY.items()}


def leaks(data: str | bytes) -> dict[str, str]:
    """Canary keys (by variable name) found in `data`, whole or as a 12+ character piece -> a piece found."""
    found: dict[str, str] = {}
    for name, pieces in PIECES.items():
        for piece in sorted(pieces):
            needle: str | bytes = piece if isinstance(data, str) else piece.encode()
            if needle in data:  # type: ignore[operator]
                found[name] = piece
                break
    return found


def assert_clean(where: str, data: str | bytes) -> None:
    found = leaks(data)
    assert not found, f"API key leaked in {where}: {found}"


def run_cli(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 90
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nuanu_tui", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_run_clean(what: str, proc: subprocess.CompletedProcess) -> None:
    assert_clean(f"{what} stdout", proc.stdout)
    assert_clean(f"{what} stderr", proc.stderr)


def refused_port() -> int:
    """A local port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def canary_env(sim_env: dict[str, str]) -> dict[str, str]:
    env = dict(sim_env)
    env.update(CANARY)
    # SDK debug logging on: whatever the SDKs log goes to stderr and is searched too
    env["OPENAI_LOG"] = "debug"
    env["GROQ_LOG"] = "debug"
    return env


@pytest.fixture
def faults(sim: object) -> Iterator[object]:
    """The shared emulator's fault switchboard, cleared after the test."""
    board = sim.faults  # type: ignore[attr-defined]
    board.clear()
    yield board
    board.clear()


def key_echo_body(status: int) -> dict[str, object]:
    """An error body that quotes the key back (some proxies and gateways do): the client must not repeat it."""
    return {
        "error": {
            "message": f"Key {CANARY['GROQ_API_KEY']} / {CANARY['OPENAI_API_KEY']} is not allowed here",
            "type": "invalid_request_error",
            "code": status,
        }
    }


# -- the checker itself ----------------------------------------------------------------------------------


def test_checker_finds_whole_keys_and_pieces() -> None:
    key = CANARY["OPENAI_API_KEY"]
    assert set(leaks(f"error: {key}")) == {"OPENAI_API_KEY"}
    assert set(leaks(("x" + CANARY["ELEVENLABS_API_KEY"][7 : 7 + PIECE] + "y").encode())) == {
        "ELEVENLABS_API_KEY"
    }
    assert leaks("key " + key[: PIECE - 1] + " and " + key[-(PIECE - 1) :]) == {}
    assert leaks(" ".join(mask(k) for k in CANARY.values())) == {}


# -- `say --json` ----------------------------------------------------------------------------------------

STRICT = ["--no-failover"]  # a provider fault fails the utterance (the default falls back and still speaks)


def say(env: dict[str, str], cwd: Path, *extra: str, llm: str = GROQ) -> subprocess.CompletedProcess:
    args = ["say", "две собаки слева", "--llm", llm, "--tts", "elevenlabs", "--audio", "null", "--json"]
    return run_cli([*args, *extra], env, cwd)


@pytest.mark.slow
@pytest.mark.parametrize("llm", [GROQ, OPENAI])
def test_say_ok_run(llm: str, canary_env: dict[str, str], tmp_path: Path) -> None:
    proc = say(canary_env, tmp_path, llm=llm)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ok"] is True
    assert_run_clean(f"say {llm}", proc)


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], STRICT], ids=["failover", "strict"])
def test_say_refused_port(extra: list[str], canary_env: dict[str, str], tmp_path: Path) -> None:
    port = refused_port()
    env = dict(canary_env)
    env["GROQ_BASE_URL"] = f"http://127.0.0.1:{port}"
    env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    env["ELEVENLABS_BASE_URL"] = f"ws://127.0.0.1:{port}"
    proc = say(env, tmp_path, *extra)
    assert "refused" in proc.stderr  # the failure path ran and was reported
    if extra:
        assert proc.returncode != 0 and json.loads(proc.stdout)["ok"] is False
    assert_run_clean("say, refused port", proc)


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], STRICT], ids=["failover", "strict"])
def test_say_llm_401(extra: list[str], canary_env: dict[str, str], tmp_path: Path, faults: object) -> None:
    faults.llm = LLMFault("status", status=401)  # type: ignore[attr-defined]
    proc = say(canary_env, tmp_path, *extra)
    assert "401" in proc.stderr
    if extra:
        assert proc.returncode != 0 and json.loads(proc.stdout)["ok"] is False
    assert_run_clean("say, LLM 401", proc)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("status", "extra"),
    [
        (401, []),
        pytest.param(403, []),
        pytest.param(500, []),
        (403, STRICT),
        (500, STRICT),
    ],
    ids=["401", "403", "500", "403-strict", "500-strict"],
)
def test_say_error_body_quoting_the_key(
    status: int, extra: list[str], canary_env: dict[str, str], tmp_path: Path, faults: object
) -> None:
    faults.llm = LLMFault("status", status=status, body=key_echo_body(status))  # type: ignore[attr-defined]
    proc = say(canary_env, tmp_path, *extra)
    assert str(status) in proc.stderr
    assert_run_clean(f"say, HTTP {status} body quoting the key", proc)


@pytest.mark.slow
def test_say_rate_limited_once(canary_env: dict[str, str], tmp_path: Path, faults: object) -> None:
    # one-shot: a persistent 429 makes `say` retry forever (reported to the lead)
    faults.next_llm("status", status=429, body=key_echo_body(429), retry_after=0)  # type: ignore[attr-defined]
    proc = say(canary_env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert_run_clean("say, one 429 quoting the key", proc)


@pytest.mark.slow
@pytest.mark.parametrize(
    "fault", [TTSFault("reject", status=401), TTSFault("invalid_key")], ids=["401", "key"]
)
def test_say_tts_auth_failure(
    fault: TTSFault, canary_env: dict[str, str], tmp_path: Path, faults: object
) -> None:
    faults.tts = fault  # type: ignore[attr-defined]
    proc = say(canary_env, tmp_path)
    assert "ELEVENLABS_API_KEY" in proc.stderr  # the failure was reported, naming the variable only
    assert_run_clean(f"say, TTS {fault.kind}", proc)


# -- doctor ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_doctor_masks_keys(canary_env: dict[str, str], tmp_path: Path) -> None:
    proc = run_cli(["doctor"], canary_env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    for key in CANARY.values():
        assert mask(key) in proc.stdout  # the key is shown, masked
    assert_run_clean("doctor", proc)


# -- bench files and the database -----------------------------------------------------------------------


def db_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.iterdir() if p.name.startswith("nuanu.db"))


def bench(
    env: dict[str, str], cwd: Path, label: str, *extra: str
) -> tuple[subprocess.CompletedProcess, Path, Path]:
    js, cs = cwd / f"{label}.json", cwd / f"{label}.csv"
    args = ["bench", "--llm", GROQ, "--tts", "elevenlabs", "--audio", "null", "--runs", "1", "--no-warmup"]
    proc = run_cli([*args, "--json", str(js), "--csv", str(cs), *extra], env, cwd)
    assert js.exists() and cs.exists(), proc.stderr
    return proc, js, cs


def assert_bench_clean(label: str, proc: subprocess.CompletedProcess, js: Path, cs: Path) -> None:
    assert_run_clean(f"bench {label}", proc)
    assert_clean(f"bench {label} --json file", js.read_bytes())
    assert_clean(f"bench {label} --csv file", cs.read_bytes())


def assert_database_clean(env: dict[str, str]) -> None:
    files = db_files(Path(env["NUANU_DATA_DIR"]))
    assert any(p.name == "nuanu.db" for p in files)
    for path in files:  # nuanu.db, nuanu.db-wal, nuanu.db-shm
        assert_clean(f"database file {path.name}", path.read_bytes())


@pytest.mark.slow
def test_bench_files_and_database(canary_env: dict[str, str], tmp_path: Path, faults: object) -> None:
    ok = bench(canary_env, tmp_path, "ok")
    assert all(r["ok"] for r in json.loads(ok[1].read_text(encoding="utf-8"))["runs"])
    # strict: every request fails with a body that quotes the key, and the error is stored
    faults.llm = LLMFault("status", status=403, body=key_echo_body(403))  # type: ignore[attr-defined]
    failed = bench(canary_env, tmp_path, "failed", *STRICT)
    runs = json.loads(failed[1].read_text(encoding="utf-8"))["runs"]
    assert runs and not any(r["ok"] for r in runs) and all("403" in r["error"] for r in runs)
    assert_bench_clean("ok", *ok)
    assert_bench_clean("failed", *failed)
    assert_database_clean(canary_env)


@pytest.mark.slow
def test_bench_failover_notice_and_database(
    canary_env: dict[str, str], tmp_path: Path, faults: object
) -> None:
    faults.llm = LLMFault("status", status=403, body=key_echo_body(403))  # type: ignore[attr-defined]
    proc, js, cs = bench(canary_env, tmp_path, "failover")
    runs = json.loads(js.read_text(encoding="utf-8"))["runs"]
    assert runs and all(r["degraded"] for r in runs)  # answered by the phrasebook after the 403s
    assert_database_clean(canary_env)
    assert_bench_clean("failover", proc, js, cs)


# -- logs of an in-process engine -------------------------------------------------------------------------


def canary_settings(sim: object) -> Settings:
    return Settings().model_copy(
        update={
            "groq_base_url": sim.groq_base_url,  # type: ignore[attr-defined]
            "openai_base_url": sim.openai_base_url,  # type: ignore[attr-defined]
            "elevenlabs_base_url": sim.elevenlabs_base_url,  # type: ignore[attr-defined]
            "groq_api_key": SecretStr(CANARY["GROQ_API_KEY"]),
            "openai_api_key": SecretStr(CANARY["OPENAI_API_KEY"]),
            "elevenlabs_api_key": SecretStr(CANARY["ELEVENLABS_API_KEY"]),
        }
    )


def log_text(records: list[logging.LogRecord]) -> str:
    """Everything a handler could print: the message, its arguments, any traceback."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    parts = []
    for record in records:
        parts.append(formatter.format(record))
        parts.append(repr(record.args))
    return "\n".join(parts)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def debug_run(sim: object) -> Iterator[tuple[list[logging.LogRecord], list[object]]]:
    """One in-process engine session with every logger at DEBUG: an ok utterance, LLM 403s quoting the
    key, a TTS key rejection. Yields (log records, results)."""
    handler = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    touched = []
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        if logger.level > logging.DEBUG:
            touched.append((logger, logger.level))
            logger.setLevel(logging.DEBUG)
    board = sim.faults  # type: ignore[attr-defined]

    async def session() -> list[object]:
        engine = await Engine.create(canary_settings(sim), llm=GROQ, tts="elevenlabs", audio="null")
        try:
            ok = await engine.say("две собаки слева")
            board.llm = LLMFault("status", status=403, body=key_echo_body(403))
            failed = await engine.say("слон", llm=OPENAI)
            board.llm = None
            board.tts = TTSFault("invalid_key")
            await engine.use_tts("elevenlabs")
            tts_failed = await engine.say("скутер")
            board.tts = None
        finally:
            board.clear()
            await engine.aclose()
        return [ok, failed, tts_failed]

    try:
        results = asyncio.run(session())
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for logger, level in touched:
            logger.setLevel(level)
    yield handler.records, results


def _is_ws_handshake_header(record: logging.LogRecord) -> bool:
    return (
        (record.name.startswith("websockets") or record.name == "nuanu_tui.elevenlabs.ws")
        and str(record.msg).startswith("> ")
        and ":" in record.getMessage()
    )


@pytest.mark.slow
def test_engine_logs_at_debug(debug_run: tuple[list[logging.LogRecord], list[object]]) -> None:
    records, (ok, failed, tts_failed) = debug_run
    assert ok.ok, ok.error  # type: ignore[attr-defined]
    assert failed.degraded or not failed.ok  # type: ignore[attr-defined]  # the 403s happened
    assert tts_failed.degraded or not tts_failed.ok  # type: ignore[attr-defined]
    assert len(records) > 100, "debug logging is on for every library"
    # the WebSocket handshake header lines are checked on their own below (known leak)
    assert_clean("log records", log_text([r for r in records if not _is_ws_handshake_header(r)]))
    for result in (ok, failed, tts_failed):
        assert_clean("result JSON", json.dumps(result.to_json(), ensure_ascii=False))  # type: ignore[attr-defined]


@pytest.mark.slow
def test_websocket_handshake_logs_at_debug(debug_run: tuple[list[logging.LogRecord], list[object]]) -> None:
    records, _ = debug_run
    headers = [r for r in records if _is_ws_handshake_header(r)]
    assert headers, "the handshake was logged"
    assert_clean("websockets handshake log", log_text(headers))


def test_environment_has_no_real_keys() -> None:
    """The suite runs with its own keys only (conftest strips the developer's)."""
    for var in CANARY:
        assert os.environ.get(var) in (None, "")
