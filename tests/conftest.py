"""Shared fixtures: an emulator on its own thread with known injected latencies, and an env that points at it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from nuanu_tui.sim import SimThread

try:
    import fcntl  # POSIX: the sound tests' cross-worker lock below
except ImportError:
    fcntl = None  # type: ignore[assignment]
from nuanu_tui.sim.profiles import LLMProfile, ProfileSet, TTSProfile

# Facilities some OSes lack: the tests that need them skip there (Windows has no SIGKILL, only Linux /proc).
needs_sigkill = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on this OS")
needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no /proc on this OS")

# Injected latencies the end-to-end tests check against (ms).
TTFT_MS = 120.0
TOKEN_MS = 5.0
TTS_FIRST_AUDIO_MS = 40.0
E2E_PROFILE = ProfileSet(
    name="e2e",
    groq=LLMProfile(ttft_ms=TTFT_MS, token_interval_ms=TOKEN_MS),
    openai=LLMProfile(ttft_ms=TTFT_MS, token_interval_ms=TOKEN_MS),
    tts=TTSProfile(first_audio_ms=TTS_FIRST_AUDIO_MS, chunk_interval_ms=5.0, chunk_ms=100.0),
)
FAKE_KEYS = {
    "GROQ_API_KEY": "gsk_TESTKEY_groq_0123456789abcdef",
    "OPENAI_API_KEY": "sk-TESTKEY-openai-0123456789abcdef",
    "ELEVENLABS_API_KEY": "xi_TESTKEY_eleven_0123456789abcdef",
}
ENV_VARS = (
    *FAKE_KEYS,
    "GROQ_BASE_URL",
    "OPENAI_BASE_URL",
    "ELEVENLABS_BASE_URL",
)


# --- scheduling under pytest-xdist (pyproject: `-n auto --dist loadgroup`) ----------------------------------

# Tests whose assertions are about time or sound: bounds against injected latencies, a real speaker's
# recording, SIGINT at a given point, a flood's drop counts, the benchmark harness. They run one after another
# in one xdist group, so no two of them compete with each other; plain tests fill the other workers. Entries
# are node-id prefixes (a file, or a file::test); tests that use the private PulseAudio server join by fixture.
TIMING_GROUP = "timing"
TIMING_TESTS = (
    "tests/test_benchmarks_smoke.py",
    "tests/test_speaker.py",
    "tests/test_cli_interrupt.py",
    "tests/ui/test_ride_flood.py",
    "tests/test_bench_e2e.py",
    "tests/test_ride_barge_in.py",
    "tests/test_e2e_say.py::test_say_json_groq_and_openai",
    "tests/test_offline_e2e.py::test_demo_say_follows_profile",
    "tests/test_compare.py::test_parallel_rounds_start_together_fast_lane_wins_and_is_heard",
    "tests/test_failover.py::test_deadline_fires_and_offline_answers_within_budget",
    "tests/test_telemetry.py::test_collector_down_costs_a_status_line_not_latency",
    "tests/test_sim_network.py",
    "tests/ui/test_console_net.py",
)
TIMING_FIXTURES = frozenset({"speaker", "pulse_server"})
# `-n auto`: two workers per core, at most four. Most of a test is waiting (injected latencies, real-time
# playback, subprocess start-up): with four workers on this 2-core machine the load average stays below 2.
# Four is the ceiling because each worker starts its own emulator (and, in the timing group, a PulseAudio
# server), and because the timing group's tests share the machine with the other workers' plain tests.
WORKERS_PER_CORE, MIN_WORKERS, MAX_WORKERS = 2, 2, 4


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return max(MIN_WORKERS, min(MAX_WORKERS, WORKERS_PER_CORE * (os.cpu_count() or 1)))


def in_timing_group(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(fixtures & TIMING_FIXTURES) or any(
        item.nodeid == p or item.nodeid.startswith((p + "::", p + "[")) for p in TIMING_TESTS
    )


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if in_timing_group(item):
            item.add_marker(pytest.mark.xdist_group(TIMING_GROUP))
    # Longest first: xdist hands out tests in this order (the timing group, the largest unit, goes first
    # anyway), so the slow ones start early and the run ends on short tests that fill every worker, instead
    # of one worker finishing a 15 s test while the others wait. Stable: otherwise the files' own order. A
    # serial run (`-n 0`) keeps the files' order, so module fixtures are set up once.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# Real-time sound (the private PulseAudio server, the speaker) needs the machine to itself: under xdist a
# plain test on the other worker takes CPU that the device's feeder needs, and the recording then has underruns.
# So those tests run alone: every other test holds a shared lock for its whole run, a sound test an exclusive
# one. A gate file gives the sound test priority (plain tests wait at the gate while a sound test is queued),
# so it never starves behind a stream of plain tests. POSIX only; elsewhere the tests simply overlap.
SOUND_FIXTURES = TIMING_FIXTURES  # every sound test is a timing test too
SOUND_FILES = ("tests/test_speaker.py",)


def needs_machine_alone(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(fixtures & SOUND_FIXTURES) or item.nodeid.startswith(SOUND_FILES)


# Plain tests also give way on the CPU: under xdist they run at a lower priority (nice PLAIN_NICE, inherited
# by the processes they start), so a timing test's event loop is not kept waiting behind three busy workers
# (with four workers, an emulator's 110 ms TTFT was once read as 157 ms). Linux's nice is per thread, so every
# thread of the worker is set. Lowering needs no rights; raising it back for a timing test needs root (CI),
# and xdist hands the timing group out first, before its worker has run a plain test.
PLAIN_NICE = 10


def _set_nice(level: int) -> None:
    tasks = Path("/proc/self/task")
    if not hasattr(os, "setpriority") or not tasks.is_dir():
        return
    for task in tasks.iterdir():
        with contextlib.suppress(OSError, ValueError):
            if os.getpriority(os.PRIO_PROCESS, int(task.name)) != level:
                os.setpriority(os.PRIO_PROCESS, int(task.name), level)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run_id is not None:
        _set_nice(0 if in_timing_group(item) else PLAIN_NICE)
    if run_id is None or fcntl is None:
        yield
        return
    base = Path(tempfile.gettempdir()) / f"nuanu-pytest-{run_id}"
    with open(f"{base}.gate", "a+b") as gate, open(f"{base}.run", "a+b") as run:
        if needs_machine_alone(item):
            fcntl.flock(gate, fcntl.LOCK_EX)  # new plain tests now wait at the gate
            fcntl.flock(run, fcntl.LOCK_EX)  # ... and the running ones finish
            fcntl.flock(gate, fcntl.LOCK_UN)
        else:
            fcntl.flock(gate, fcntl.LOCK_SH)
            fcntl.flock(gate, fcntl.LOCK_UN)
            fcntl.flock(run, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(run, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No developer .env, keys or data dir leak into tests."""
    for name in list(os.environ):
        if name.startswith("NUANU_") or name in ENV_VARS:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NUANU_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    # Instant reactions add interjection traffic (a background cache fill) to the emulator; tests that check
    # the remark's own path byte for byte run without them. tests/test_instant*.py turn them on.
    monkeypatch.setenv("NUANU_INSTANT", "0")
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP but never answers (a black hole): only our timeouts end a request to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture(scope="session")
def sim() -> Iterator[object]:
    thread = SimThread(profile=E2E_PROFILE)
    server = thread.start()
    yield server
    thread.stop()


@pytest.fixture
def sim_env(sim: object) -> dict[str, str]:
    """Environment for a `nuanu-tui` subprocess pointed at the emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUANU_") and k not in ENV_VARS}
    env.update(FAKE_KEYS)
    env["GROQ_BASE_URL"] = sim.groq_base_url  # type: ignore[attr-defined]
    env["OPENAI_BASE_URL"] = sim.openai_base_url  # type: ignore[attr-defined]
    env["ELEVENLABS_BASE_URL"] = sim.elevenlabs_base_url  # type: ignore[attr-defined]
    env["NUANU_DATA_DIR"] = os.environ["NUANU_DATA_DIR"]
    env["NUANU_INSTANT"] = os.environ["NUANU_INSTANT"]
    return env


# --- a real speaker: a private PulseAudio server with a null sink (nuanu_tui.sim.pulse) ------------------


@pytest.fixture(scope="session")
def pulse_server() -> Iterator[object]:
    """One private PulseAudio server for the session; tests that need it skip where it is not installed."""
    from nuanu_tui.sim import pulse

    why = pulse.available()
    if why is not None:
        pytest.skip(f"no PulseAudio: {why}")
    server = pulse.PulseServer()
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        pytest.skip(f"PulseAudio did not start here: {exc}")
    yield server
    server.stop()


@pytest.fixture
def speaker(pulse_server: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """The private server up with its sink plugged in and running, and this process (and its children)
    pointed at it: ALSA's pulse plugin reads PULSE_SERVER when PortAudio (re)initialises."""
    pulse_server.ensure_speaker()  # type: ignore[attr-defined]
    for name, value in pulse_server.env().items():  # type: ignore[attr-defined]
        monkeypatch.setenv(name, value)
    return pulse_server


@pytest.fixture(autouse=True, scope="session")
def _demo_composed() -> None:
    """Tests are a composition root like the CLI: `Engine.create(demo=True)` gets the emulator."""
    from nuanu_tui.demo import install

    install()
