"""API keys never leak: canary keys go in through the environment, every output is searched for them.

Outputs searched: stdout/stderr of `say --json` (ok, refused port, 401 and key-echoing error bodies from the
emulator), `doctor` (keys masked only), `bench --json/--csv` files, the SQLite database (WAL and SHM too)
and every log record of an in-process run with all loggers at DEBUG. A leak is the whole key or any
12-character piece of it.
"""

from __future__ import annotations

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
    "GROQ_API_KEY": "gsk_LEAKCANARY_groq_7Qm2Zx9Lp4Wv8Rt1",
    "OPENAI_API_KEY": "sk-LEAKCANARY-openai-3Hn6Yb2Kd8Jf5Gs0",
    "ELEVENLABS_API_KEY": "xi_LEAKCANARY_eleven_9Pc4Vt7Nm1Qw6Ez3",
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


@pytest.mark.slow
@pytest.mark.parametrize("llm", [GROQ, OPENAI])
def test_say_ok_run(llm: str, canary_env: dict[str, str], tmp_path: Path) -> None:
    proc = run_cli(
        ["say", "две собаки слева", "--llm", llm, "--tts", "elevenlabs", "--audio", "null", "--json"],
        canary_env,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ok"] is True
    assert_run_clean(f"say {llm}", proc)


@pytest.mark.slow
def test_say_refused_port(canary_env: dict[str, str], tmp_path: Path) -> None:
    port = refused_port()
    env = dict(canary_env)
    env["GROQ_BASE_URL"] = f"http://127.0.0.1:{port}"
    env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    env["ELEVENLABS_BASE_URL"] = f"ws://127.0.0.1:{port}"
    for llm in (GROQ, OPENAI):
        proc = run_cli(
            ["say", "слон", "--llm", llm, "--tts", "elevenlabs", "--audio", "null", "--json"], env, tmp_path
        )
        assert proc.returncode != 0
        assert json.loads(proc.stdout)["ok"] is False
        assert proc.stderr.strip(), "a failing run says why"
        assert_run_clean(f"say {llm} refused", proc)


@pytest.mark.slow
@pytest.mark.parametrize("llm", [GROQ, OPENAI])
def test_say_llm_401(llm: str, canary_env: dict[str, str], tmp_path: Path, faults: object) -> None:
    faults.llm = LLMFault("status", status=401)  # type: ignore[attr-defined]
    proc = run_cli(
        ["say", "слон", "--llm", llm, "--tts", "elevenlabs", "--audio", "null", "--json"],
        canary_env,
        tmp_path,
    )
    assert proc.returncode != 0
    assert "401" in proc.stderr
    assert_run_clean(f"say {llm} 401", proc)


@pytest.mark.slow
@pytest.mark.parametrize("status", [401, 403, 429, 500])
def test_say_error_body_quoting_the_key(
    status: int, canary_env: dict[str, str], tmp_path: Path, faults: object
) -> None:
    faults.llm = LLMFault("status", status=status, body=key_echo_body(status), retry_after=0)  # type: ignore[attr-defined]
    proc = run_cli(
        ["say", "слон", "--llm", GROQ, "--tts", "elevenlabs", "--audio", "null", "--json"],
        canary_env,
        tmp_path,
    )
    assert proc.returncode != 0
    assert_run_clean(f"say, HTTP {status} body quoting the key", proc)


@pytest.mark.slow
@pytest.mark.parametrize("fault", [TTSFault("reject", status=401), TTSFault("invalid_key")])
def test_say_tts_auth_failure(
    fault: TTSFault, canary_env: dict[str, str], tmp_path: Path, faults: object
) -> None:
    faults.tts = fault  # type: ignore[attr-defined]
    proc = run_cli(
        ["say", "слон", "--llm", GROQ, "--tts", "elevenlabs", "--audio", "null", "--json"],
        canary_env,
        tmp_path,
    )
    assert proc.returncode != 0
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


@pytest.mark.slow
def test_bench_files_and_database(canary_env: dict[str, str], tmp_path: Path, faults: object) -> None:
    data_dir = Path(canary_env["NUANU_DATA_DIR"])
    outputs = []
    # an ok run, then one where every request fails with a body that quotes the key (errors get stored)
    for label, fault in (("ok", None), ("failing", LLMFault("status", status=403, body=key_echo_body(403)))):
        faults.llm = fault  # type: ignore[attr-defined]
        js, cs = tmp_path / f"{label}.json", tmp_path / f"{label}.csv"
        proc = run_cli(
            [
                "bench",
                "--llm",
                GROQ,
                "--llm",
                OPENAI,
                "--tts",
                "elevenlabs",
                "--audio",
                "null",
                "--runs",
                "1",
                "--json",
                str(js),
                "--csv",
                str(cs),
            ],
            canary_env,
            tmp_path,
        )
        assert js.exists() and cs.exists(), proc.stderr
        outputs.append((label, proc, js, cs))
    ok_runs = json.loads(outputs[0][2].read_text(encoding="utf-8"))["runs"]
    assert ok_runs and all(r["ok"] for r in ok_runs)
    failed_runs = json.loads(outputs[1][2].read_text(encoding="utf-8"))["runs"]
    assert failed_runs and not any(r["ok"] for r in failed_runs)
    for label, proc, js, cs in outputs:
        assert_run_clean(f"bench {label}", proc)
        assert_clean(f"bench {label} --json file", js.read_bytes())
        assert_clean(f"bench {label} --csv file", cs.read_bytes())
    files = db_files(data_dir)
    assert any(p.name == "nuanu.db" for p in files)
    for path in files:
        assert_clean(f"database file {path.name}", path.read_bytes())


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


@pytest.mark.slow
async def test_engine_logs_at_debug(sim: object, faults: object, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # root: every library logger propagates here
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        if logger.level > logging.DEBUG:
            logger.setLevel(logging.DEBUG)
    engine = await Engine.create(canary_settings(sim), llm=GROQ, tts="elevenlabs", audio="null")
    try:
        ok = await engine.say("две собаки слева")
        faults.llm = LLMFault("status", status=403, body=key_echo_body(403))  # type: ignore[attr-defined]
        failed = await engine.say("слон", llm=OPENAI)
        faults.llm = None  # type: ignore[attr-defined]
        faults.next_tts("invalid_key")  # type: ignore[attr-defined]
        await engine.use_tts("elevenlabs")
        tts_failed = await engine.say("скутер")
    finally:
        await engine.aclose()
    assert ok.ok, ok.error
    assert not failed.ok
    assert caplog.records, "debug logging produced records"
    for result in (ok, failed, tts_failed):
        assert_clean("result JSON", json.dumps(result.to_json(), ensure_ascii=False))
        assert_clean("result notices", " ".join(result.notices))
    assert_clean("log records", log_text(caplog.records))


def test_environment_has_no_real_keys() -> None:
    """The suite runs with its own keys only (conftest strips the developer's)."""
    for var in CANARY:
        assert os.environ.get(var) in (None, "")
