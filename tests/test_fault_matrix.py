"""Field faults (issue #6): every LLM, TTS and audio failure the shuttle meets, one test per row.

Each row runs in strict mode (no failover, no TTS fallback) against the emulator and checks that the fault
ends up as a one-line operator message naming the provider and the cause, with its own `error_kind`, that
nothing hangs or crashes, and that sockets, asyncio tasks and the audio player are back to normal: the
next utterance works and the task/socket counts return to what they were before the fault.

The helpers here (emulator fixture, instant capture sink, engine builder, resource snapshots) are shared
with tests/test_failover.py and tests/test_soak.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

import nuanu_tui.core.tts.elevenlabs as elevenlabs_mod
from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.audio.player import Player
from nuanu_tui.core.config import Settings, choose_defaults
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.providers import make_tts
from nuanu_tui.core.timeline import UtteranceResult
from nuanu_tui.core.tts.elevenlabs import KEEPALIVE_CONTEXT, ElevenLabsTTS
from nuanu_tui.sim import SimServer, SimThread, TTSFault
from nuanu_tui.sim.openai_sse import DEFAULT_MODELS
from nuanu_tui.sim.profiles import LLMProfile, ProfileSet, TTSProfile
from tests.conftest import FAKE_KEYS
from tests.waiting import until

GROQ = "groq/llama-3.1-8b-instant"
OPENAI = "openai/gpt-4o-mini"
SLOW = "groq/slow-8b"  # first token after SLOW_TTFT_MS (hedging tests)
SLOW_TTFT_MS = 700.0
REPLY = "Ого, слон идёт!"  # short, so an utterance carries about a second of audio

FIELD_PROFILE = ProfileSet(
    name="field",
    groq=LLMProfile(ttft_ms=20.0, token_interval_ms=2.0),
    openai=LLMProfile(ttft_ms=20.0, token_interval_ms=2.0),
    tts=TTSProfile(first_audio_ms=10.0, chunk_interval_ms=3.0, chunk_ms=100.0),
    models=(("slow", LLMProfile(ttft_ms=SLOW_TTFT_MS, token_interval_ms=2.0)),),
)


def short_reply(trigger: str, model: str) -> str:
    return REPLY


# --- emulator ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def field_thread() -> Iterator[SimThread]:
    thread = SimThread(profile=FIELD_PROFILE, reply_fn=short_reply, models=[*DEFAULT_MODELS, "slow-8b"])
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture
def fsim(field_thread: SimThread) -> Iterator[SimServer]:
    server = field_thread.server
    server.faults.clear()
    yield server
    server.faults.clear()


def server_close_sockets(thread: SimThread, code: int = 1001) -> None:
    """The emulator closes every open TTS socket (as the service does on a restart or an idle timeout)."""

    async def close_all() -> None:
        for ws in list(thread.server.websockets):
            await ws.close(code=code, message=b"going away")

    assert thread._loop is not None
    asyncio.run_coroutine_threadsafe(close_all(), thread._loop).result(3.0)


async def fresh_socket(thread: SimThread, engine: Engine) -> None:
    """Make the engine's next utterance open a new TTS connection, so a queued connection fault applies."""
    server_close_sockets(thread)
    await until(lambda: engine.tts.state != "connected" and thread.server.open_sockets == 0)


# --- sinks ------------------------------------------------------------------------------------------------


class CaptureSink(NullSink):
    """A device that accepts samples at once and keeps exactly what it was handed (a WAV without pacing)."""

    def __init__(self, name: str = "capture") -> None:
        super().__init__(name=name)
        self.data = bytearray()
        self.writes = 0

    def write(self, pcm: bytes) -> None:
        self.writes += 1
        self.data += bytes(pcm)

    def drain(self) -> None:
        return None


class FailingSink(CaptureSink):
    """A device that is lost once, at the `fail_at`-th write, then (re-plugged) works again."""

    def __init__(self, fail_at: int, exc: BaseException) -> None:
        super().__init__(name="usb-speaker")
        self.fail_at = fail_at
        self.exc = exc
        self.failed = False

    def write(self, pcm: bytes) -> None:
        if not self.failed and self.writes + 1 >= self.fail_at:
            self.failed = True
            self.writes += 1
            raise self.exc
        super().write(pcm)


# --- engine -----------------------------------------------------------------------------------------------


def field_settings(server: SimServer, *, strict: bool = True, **overrides: Any) -> Settings:
    update: dict[str, Any] = {
        "groq_base_url": server.groq_base_url,
        "openai_base_url": server.openai_base_url,
        "elevenlabs_base_url": server.elevenlabs_base_url,
        "groq_api_key": SecretStr(FAKE_KEYS["GROQ_API_KEY"]),
        "openai_api_key": SecretStr(FAKE_KEYS["OPENAI_API_KEY"]),
        "elevenlabs_api_key": SecretStr(FAKE_KEYS["ELEVENLABS_API_KEY"]),
        "failover": "off" if strict else "offline/phrasebook",
        "tts_fallback": not strict,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
    }
    update.update(overrides)
    return Settings().model_copy(update=update)


async def build_engine(
    settings: Settings,
    sink: NullSink | None = None,
    *,
    llm: str = GROQ,
    device_rate: int | None = None,
    output_format: str | None = None,
) -> Engine:
    """`Engine.create` with our own sink (instant capture by default) and, optionally, a device rate."""
    selection = choose_defaults(settings, llm, "elevenlabs")
    tts = make_tts(selection.tts, settings, output_format=output_format)
    player = Player(sink if sink is not None else CaptureSink())
    player.start(device_rate or tts.format.sample_rate)
    engine = Engine(settings, selection, player, tts)
    await engine.warm()
    return engine


@pytest.fixture
async def engines() -> AsyncIterator[list[Engine]]:
    """Engines to close at the end of a test, even when it fails."""
    made: list[Engine] = []
    yield made
    for engine in made:
        await engine.aclose()


# --- observations -----------------------------------------------------------------------------------------


def task_count() -> int:
    current = asyncio.current_task()
    return sum(1 for t in asyncio.all_tasks() if t is not current and not t.done())


@dataclass
class Snapshot:
    tasks: int
    sockets: int


async def steady(engine: Engine, server: SimServer) -> Snapshot:
    """Warm steady state: one good utterance done, then count live tasks and emulator sockets."""
    result = await engine.say("камера, пальма справа", failover=False)
    assert result.ok, result.error
    await until(lambda: server.open_sockets == 1)
    return Snapshot(task_count(), server.open_sockets)


def assert_operator_line(result: UtteranceResult, kind: str, *needles: str) -> None:
    assert not result.ok
    assert result.error_kind == kind, (result.error_kind, result.error)
    message = result.error or ""
    assert message and "\n" not in message and "Traceback" not in message
    for needle in needles:
        assert needle.lower() in message.lower(), (needle, message)
    for key in FAKE_KEYS.values():
        assert key not in message


async def assert_recovers(
    engine: Engine, server: SimServer, before: Snapshot, llm: str | None = None
) -> None:
    """The next utterance works, and tasks and sockets are back to their pre-fault counts."""
    after = await engine.say("камера, две собаки слева", llm=llm, failover=False)
    assert after.ok, after.error
    assert after.stages_ms["playback_done"] is not None  # the player was not left stuck
    assert engine.results[-1] is after
    await until(lambda: server.open_sockets == before.sockets)
    await until(lambda: task_count() == before.tasks)


async def wait_backoff(engine: Engine) -> None:
    """A failed handshake backs the reconnect off; wait out that (known, short) pause."""
    tts = engine.tts
    assert isinstance(tts, ElevenLabsTTS)
    await asyncio.sleep(max(0.0, tts._retry_at - time.monotonic()))


# --- LLM rows ---------------------------------------------------------------------------------------------

STATUS_ROWS = [
    pytest.param(401, {}, "llm_auth", ("Groq", "401", "GROQ_API_KEY"), id="401"),
    pytest.param(403, {}, "llm_forbidden", ("Groq", "403"), id="403"),
    pytest.param(429, {"retry_after": 2}, "llm_rate_limit", ("Groq", "429", "retry after 2"), id="429"),
    pytest.param(500, {}, "llm_server", ("Groq", "500"), id="500"),
    pytest.param(503, {}, "llm_server", ("Groq", "503"), id="503"),
]


@pytest.mark.parametrize(("status", "extra", "kind", "needles"), STATUS_ROWS)
async def test_llm_http_status(
    status: int,
    extra: dict[str, Any],
    kind: str,
    needles: tuple[str, ...],
    fsim: SimServer,
    engines: list[Engine],
) -> None:
    engine = await build_engine(field_settings(fsim))
    engines.append(engine)
    before = await steady(engine, fsim)
    fsim.faults.next_llm("status", status=status, **extra)
    result = await engine.say("камера, слон на мопеде", failover=False)
    assert result is engine.results[-1]
    assert_operator_line(result, kind, *needles)
    await assert_recovers(engine, fsim, before)


async def test_llm_retired_model_names_available_models(fsim: SimServer, engines: list[Engine]) -> None:
    engine = await build_engine(field_settings(fsim))
    engines.append(engine)
    before = await steady(engine, fsim)
    result = await engine.say("камера, слон", llm="groq/llama-2-retired", failover=False)
    assert_operator_line(result, "llm_model_not_found", "Groq", "llama-2-retired", "available")
    for model in ("llama-3.1-8b-instant", "openai/gpt-oss-20b"):
        assert model in (result.error or "")
    await assert_recovers(engine, fsim, before)


@pytest.fixture
def refused_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: the kernel answers RST
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def black_hole_url() -> Iterator[str]:
    """A TCP connect that really times out. A listening socket would complete the handshake from its
    backlog, so we listen with backlog 0 and fill the accept queue with connections we never accept:
    the kernel then drops further SYNs and `connect()` waits until the client's connect timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    probe = socket.socket()
    probe.settimeout(0.3)
    with pytest.raises(TimeoutError):  # the black hole is in place
        probe.connect(("127.0.0.1", port))
    probe.close()
    yield f"http://127.0.0.1:{port}"
    for filler in fillers:
        filler.close()
    listener.close()


@pytest.mark.parametrize(
    ("url_fixture", "kind", "needles"),
    [
        pytest.param("refused_url", "llm_connection", ("Groq", "connection refused"), id="refused"),
        pytest.param(None, "llm_dns", ("Groq", "no-such-host.invalid", "DNS"), id="dns"),
        pytest.param("black_hole_url", "llm_timeout", ("Groq", "timed out", "connect"), id="connect-timeout"),
    ],
)
@pytest.mark.slow
async def test_llm_unreachable_host(
    url_fixture: str | None,
    kind: str,
    needles: tuple[str, ...],
    fsim: SimServer,
    engines: list[Engine],
    request: pytest.FixtureRequest,
) -> None:
    url = request.getfixturevalue(url_fixture) if url_fixture else "http://no-such-host.invalid"
    engine = await build_engine(field_settings(fsim, groq_base_url=url, connect_timeout=0.5))
    engines.append(engine)
    assert "llm" in engine.warm_errors  # start-up reported it as status, did not crash
    before = await steady_on(engine, fsim, OPENAI)
    result = await engine.say("камера, слон на мопеде", failover=False)
    assert_operator_line(result, kind, *needles)
    await assert_recovers(engine, fsim, before, llm=OPENAI)


async def steady_on(engine: Engine, server: SimServer, llm: str) -> Snapshot:
    result = await engine.say("камера, пальма справа", llm=llm, failover=False)
    assert result.ok, result.error
    await until(lambda: server.open_sockets == 1)
    return Snapshot(task_count(), server.open_sockets)


async def test_llm_read_timeout(fsim: SimServer, engines: list[Engine]) -> None:
    engine = await build_engine(field_settings(fsim, read_timeout=0.4))
    engines.append(engine)
    before = await steady(engine, fsim)
    fsim.faults.next_llm("hang", hang_s=1.5)
    result = await engine.say("камера, слон на мопеде", failover=False)
    assert_operator_line(result, "llm_timeout", "Groq", "timed out", "read")
    assert result.stages_ms["ttft"] is None
    await assert_recovers(engine, fsim, before)


@pytest.mark.parametrize(
    ("fault", "kind", "needles"),
    [
        pytest.param("drop", "llm_dropped", ("Groq", "dropped"), id="dropped-mid-answer"),
        pytest.param("malformed", "llm_malformed", ("Groq", "malformed"), id="malformed-sse"),
        pytest.param("error_event", "llm_stream_error", ("Groq", "stopped"), id="error-event"),
    ],
)
async def test_llm_stream_broken_mid_answer(
    fault: str, kind: str, needles: tuple[str, ...], fsim: SimServer, engines: list[Engine]
) -> None:
    engine = await build_engine(field_settings(fsim))
    engines.append(engine)
    before = await steady(engine, fsim)
    fsim.faults.next_llm(fault, after_tokens=2)  # type: ignore[arg-type]
    result = await engine.say("камера, слон на мопеде", failover=False)
    assert_operator_line(result, kind, *needles)
    assert result.stages_ms["ttft"] is not None  # the answer had started
    await assert_recovers(engine, fsim, before)


async def test_llm_empty_answer(fsim: SimServer, engines: list[Engine]) -> None:
    engine = await build_engine(field_settings(fsim))
    engines.append(engine)
    before = await steady(engine, fsim)
    fsim.faults.next_llm("empty")
    result = await engine.say("камера, слон на мопеде", failover=False)
    assert_operator_line(result, "llm_empty", GROQ, "empty answer")
    await assert_recovers(engine, fsim, before)


# --- TTS rows ---------------------------------------------------------------------------------------------

TTS_ROWS = [
    pytest.param(
        {"kind": "reject", "status": 500}, "tts_handshake", ("ElevenLabs", "500"), id="handshake-500"
    ),
    pytest.param(
        {"kind": "reject", "status": 403},
        "tts_auth",
        ("ElevenLabs", "403", "ELEVENLABS_API_KEY"),
        id="handshake-403",
    ),
    pytest.param(
        {"kind": "reject", "status": 401},
        "tts_auth",
        ("ElevenLabs", "401", "ELEVENLABS_API_KEY"),
        id="handshake-401",
    ),
    pytest.param(
        {"kind": "invalid_key"},
        "tts_auth",
        ("ElevenLabs", "API key", "ELEVENLABS_API_KEY"),
        id="1008-bad-key",
    ),
    pytest.param({"kind": "quota"}, "tts_quota", ("ElevenLabs", "quota"), id="1008-quota"),
    pytest.param(
        {"kind": "input_timeout", "after_s": 0.0},
        "tts_input_timeout",
        ("ElevenLabs", "inactivity timeout"),
        id="input-timeout",
    ),
    pytest.param({"kind": "close_1011", "after_frames": 2}, "tts_server", ("ElevenLabs", "1011"), id="1011"),
    pytest.param(
        {"kind": "drop", "after_frames": 2}, "tts_dropped", ("ElevenLabs", "dropped"), id="socket-drop"
    ),
]


@pytest.mark.parametrize(("fault", "kind", "needles"), TTS_ROWS)
async def test_tts_connection_faults(
    fault: dict[str, Any],
    kind: str,
    needles: tuple[str, ...],
    fsim: SimServer,
    field_thread: SimThread,
    engines: list[Engine],
) -> None:
    engine = await build_engine(field_settings(fsim))
    engines.append(engine)
    before = await steady(engine, fsim)
    fsim.faults.next_tts(TTSFault(**fault))
    await fresh_socket(field_thread, engine)
    result = await engine.say("камера, слон на мопеде", failover=False)
    assert result is engine.results[-1]
    assert_operator_line(result, kind, *needles)
    assert result.stages_ms["playback_done"] is None
    await wait_backoff(engine)
    await assert_recovers(engine, fsim, before)


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        pytest.param({"kind": "invalid_key"}, "tts_auth", id="bad-key"),
        pytest.param({"kind": "input_timeout", "after_s": 0.0}, "tts_input_timeout", id="input-timeout"),
    ],
)
@pytest.mark.slow
async def test_error_frame_retires_the_socket_before_its_close_arrives(
    fault: dict[str, Any],
    kind: str,
    fsim: SimServer,
    field_thread: SimThread,
    engines: list[Engine],
) -> None:
    """The service's error frame can land well before its close (here 3 s apart): the next utterance must
    open a new socket, not start a context on the dying one and fail with the old error."""
    engine = await build_engine(field_settings(fsim))
    engines.append(engine)
    before = await steady(engine, fsim)
    fsim.faults.next_tts(TTSFault(**fault, close_delay_s=3.0))
    await fresh_socket(field_thread, engine)
    connects = engine.tts.connects
    failed = await engine.say("камера, слон на мопеде", failover=False)
    assert failed.error_kind == kind, failed.error
    assert fsim.open_sockets == 1  # the refused socket is still open on the service's side
    await wait_backoff(engine)
    after = await engine.say("камера, две собаки слева", failover=False)
    assert after.ok, after.error
    assert engine.tts.connects == connects + 2  # the refused socket, then a fresh one
    await until(lambda: fsim.open_sockets == before.sockets)


async def test_client_never_opens_a_sixth_context(fsim: SimServer, engines: list[Engine]) -> None:
    """Six utterances at once on one socket: the client keeps ≤ 4 + keep-alive live contexts, so the
    service never refuses one and the socket survives."""
    sink = CaptureSink()
    engine = await build_engine(field_settings(fsim), sink)
    engines.append(engine)
    before = await steady(engine, fsim)
    tts = engine.tts
    assert isinstance(tts, ElevenLabsTTS)
    connects = tts.connects
    results = await asyncio.gather(
        *(engine.say(f"камера, собака номер {i}", queue=False, failover=False) for i in range(6))
    )
    assert len(results) == 6
    assert all(r.error_kind != "tts_context_limit" for r in results), [r.error for r in results]
    assert tts.connects == connects  # the socket was never refused and closed
    assert all(r.ok for r in results), [r.error for r in results]  # each waited for a free context slot
    await assert_recovers(engine, fsim, before)


async def test_refused_sixth_context_maps_to_context_limit(
    fsim: SimServer, engines: list[Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the cap ever be wrong, the service's refusal is a clear `tts_context_limit` fault."""
    engine = await build_engine(field_settings(fsim))
    engines.append(engine)
    before = await steady(engine, fsim)
    tts = engine.tts
    assert isinstance(tts, ElevenLabsTTS)
    monkeypatch.setattr(elevenlabs_mod, "MAX_CONTEXTS", 16)  # a client that forgot the cap
    held = [await tts.start(f"held-{i}") for i in range(5)]  # five live contexts, as the service allows
    result = await engine.say("камера, шестой контекст", failover=False)
    assert_operator_line(result, "tts_context_limit", "ElevenLabs", "context")
    for utt in held:
        await utt.cancel()
    monkeypatch.setattr(elevenlabs_mod, "MAX_CONTEXTS", 5)
    await assert_recovers(engine, fsim, before)


async def test_malformed_frames_are_ignored_and_counted(
    fsim: SimServer, field_thread: SimThread, engines: list[Engine]
) -> None:
    sink = CaptureSink()
    engine = await build_engine(field_settings(fsim), sink)
    engines.append(engine)
    await steady(engine, fsim)
    tts = engine.tts
    assert isinstance(tts, ElevenLabsTTS)
    malformed = tts.malformed_frames
    fsim.faults.next_tts("malformed", after_frames=1)
    await fresh_socket(field_thread, engine)
    start = len(sink.data)
    result = await engine.say("камера, слон на мопеде", failover=False)
    assert result.ok, result.error
    assert tts.malformed_frames == malformed + 1
    assert bytes(sink.data[start:]) == fsim.sent_audio[result.utterance_id]  # nothing lost, nothing extra


async def test_audio_for_unknown_context_is_ignored_and_counted(
    fsim: SimServer, field_thread: SimThread, engines: list[Engine]
) -> None:
    sink = CaptureSink()
    engine = await build_engine(field_settings(fsim), sink)
    engines.append(engine)
    await steady(engine, fsim)
    tts = engine.tts
    assert isinstance(tts, ElevenLabsTTS)
    ignored = tts.ignored_frames
    fsim.faults.next_tts("unknown_context", after_frames=1, context_id="ghost-ctx")
    await fresh_socket(field_thread, engine)
    start = len(sink.data)
    result = await engine.say("камера, слон на мопеде", failover=False)
    assert result.ok, result.error
    assert tts.ignored_frames == ignored + 1
    assert fsim.sent_audio["ghost-ctx"]  # the ghost audio really went over the wire
    assert bytes(sink.data[start:]) == fsim.sent_audio[result.utterance_id]  # bit-exact: ghost not played
    assert KEEPALIVE_CONTEXT != "ghost-ctx"


# --- audio rows -------------------------------------------------------------------------------------------


async def test_no_sound_device_falls_back_to_null_sink(fsim: SimServer, engines: list[Engine]) -> None:
    engine = await Engine.create(field_settings(fsim), llm=GROQ, tts="elevenlabs", audio="device")
    engines.append(engine)
    status = engine.status()
    assert status.audio == "null"
    warning = status.audio_warning or ""
    assert "no sound card" in warning and "null sink" in warning and "\n" not in warning
    result = await engine.say("камера, слон на мопеде", failover=False)
    assert result.ok, result.error
    assert result.stages_ms["first_audio"] is not None and result.stages_ms["playback_done"] is not None


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(OSError(19, "No such device"), id="oserror"),
        pytest.param(
            NuanuError("audio", "usb-speaker: stream lost"),
            id="nuanu-error",
        ),
    ],
)
async def test_device_lost_mid_playback(exc: BaseException, fsim: SimServer, engines: list[Engine]) -> None:
    sink = FailingSink(fail_at=10**9, exc=exc)
    engine = await build_engine(field_settings(fsim), sink)
    engines.append(engine)
    before = await steady(engine, fsim)
    sink.fail_at = sink.writes + 3  # lost at the third write of the next utterance
    result = await engine.say("камера, слон на мопеде", failover=False)
    assert sink.failed
    assert_operator_line(result, "audio_device", "usb-speaker")
    assert ("No such device" in (result.error or "")) or ("stream lost" in (result.error or ""))
    assert result.stages_ms["first_audio"] is not None and result.stages_ms["playback_done"] is None
    await assert_recovers(engine, fsim, before)  # the player's writer thread survived


async def test_sample_rate_mismatch_is_resampled(fsim: SimServer, engines: list[Engine]) -> None:
    sink = CaptureSink()
    engine = await build_engine(field_settings(fsim), sink, device_rate=48000, output_format="pcm_16000")
    engines.append(engine)
    assert engine.player.sample_rate == 48000 and engine.tts.format.sample_rate == 16000
    result = await engine.say("камера, слон на мопеде", failover=False)
    assert result.ok, result.error
    sent_s = len(fsim.sent_audio[result.utterance_id]) / 2 / 16000
    played_s = len(sink.data) / 2 / 48000
    assert sent_s > 0.5
    assert abs(played_s - sent_s) / sent_s < 0.02
    assert abs(result.audio_seconds - sent_s) / sent_s < 0.02


@pytest.mark.parametrize("status", [401, 403])
async def test_a_key_refused_at_warm_up_is_named_when_the_voice_is_skipped(
    status: int, fsim: SimServer, engines: list[Engine]
) -> None:
    """With espeak behind it, a voice whose key was refused at warm-up is skipped at once. The remark must
    still say why, as an auth failure naming the variable: `say` prints the warm-up errors it has seen when
    it starts, and a refusal landing just after that was reported only as 'marked unavailable'."""
    fsim.faults.tts = TTSFault("reject", status=status)
    engine = await build_engine(field_settings(fsim, strict=False))
    engines.append(engine)
    assert engine.tts.spec in engine.status().unavailable  # warm-up tripped it: the skip path, every time
    result = await engine.say("камера, слон на мопеде")
    assert result.ok and result.voiced_by == ["espeak/ru"], result.error
    assert result.error_kind == "tts_auth", (result.error_kind, result.notices)
    note = next(n for n in result.notices if "marked unavailable" in n)
    assert str(status) in note and "ELEVENLABS_API_KEY" in note, note
    for key in FAKE_KEYS.values():
        assert key not in note
