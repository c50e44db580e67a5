"""The console ↔ engine-host connection (`core.wire`): loopback TCP, a one-time token checked before
anything is parsed, and JSON messages that rebuild only our own dataclasses (never a pickle)."""

from __future__ import annotations

import asyncio
import math
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from nuanu_tui.core import wire
from nuanu_tui.core.bench import BenchConfig, BenchProgress
from nuanu_tui.core.compare import CompareConfig, LaneEvent
from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine_status import EngineStatus
from nuanu_tui.core.events import StageReached, TextDelta, UtteranceFinished
from nuanu_tui.core.timeline import UtteranceResult


def sample_result() -> UtteranceResult:
    return UtteranceResult(
        "камера, две собаки слева",
        "groq/llama-3.1-8b-instant",
        "elevenlabs/eleven_flash_v2_5",
        text="Две собаки слева.",
        stages_ms={"ttft": 12.5, "first_audio": None},
        provider_timings={"ws": {"open_ms": 3.0}, "$odd": [1, 2], 7: "int key"},
        notices=["cut"],
        utterance_id="u1",
        t0_ns=123_456_789_012_345,
    )


def test_messages_round_trip_with_their_types() -> None:
    status = EngineStatus(
        "groq/x", "ok", "elevenlabs", "warm", "null", 24000, None, ("no key",), False, 2, [1.5, math.inf]
    )
    messages = [
        ("event", 3, TextDelta("u1", "собаки ")),
        ("event", 3, StageReached("u1", "ttft", 12.0)),
        ("done", 4, sample_result()),
        ("event", 5, UtteranceFinished(sample_result())),
        ("status", status),
        ("progress", 6, BenchProgress(1, 4, sample_result(), "groq/x", "t")),
        ("compare", 7, CompareConfig(("groq/x", "openai/y"), audible=1), LaneEvent(1, TextDelta("u", "a"))),
        ("bench", 8, BenchConfig(["groq/x"], ["t"], 2)),
        ("x", (1, (2, 3)), {"a": [None, True, -1, 0.25]}, Path("/tmp/x")),
    ]
    for message in messages:
        back = wire.decode(wire.encode(message))
        assert back == message
        assert type(back[-1]) is type(message[-1])
    assert wire.decode(wire.encode(("x", math.nan)))[1] != wire.decode(wire.encode(("x", math.nan)))[1]


def test_settings_keep_their_values_and_secrets() -> None:
    settings = Settings().model_copy(
        update={"groq_api_key": SecretStr("gsk_wire_0123456789"), "data_dir": Path("/tmp/d"), "max_chars": 99}
    )
    back = wire.decode(wire.encode(("open", settings, {"audio": "null"})))
    assert type(back[1]) is Settings
    assert back[1].key("groq") == "gsk_wire_0123456789"
    assert back[1].data_dir == Path("/tmp/d") and back[1].max_chars == 99
    assert back[1].model_dump() == settings.model_dump()
    assert back[2] == {"audio": "null"}


def test_only_our_own_types_cross() -> None:
    with pytest.raises(TypeError, match="cannot be sent"):
        wire.encode(("x", object()))
    with pytest.raises(wire.WireError, match="unknown type 'system'"):
        wire.decode(b'[{"$c": "system", "v": {"command": "echo owned"}}]')
    with pytest.raises(wire.WireError, match="not a message"):
        wire.decode(pickle.dumps(("done", 1, sample_result())))


async def connected_pair() -> tuple[wire.Channel, wire.Channel]:
    listener, token = wire.listen()
    try:
        port = listener.getsockname()[1]
        child = await asyncio.to_thread(wire.connect, port, token)
        ours = await wire.accept(listener, token, alive=lambda: True, wait_s=5)
    finally:
        listener.close()
    return await wire.Channel.open(ours), await wire.Channel.open(child)


async def test_a_pickle_on_the_wire_ends_the_connection_unread() -> None:
    console, host = await connected_pair()
    host.send("done", 1, sample_result())
    assert await console.recv() == ("done", 1, sample_result())
    raw = pickle.dumps(("done", 2, "x"))
    host._writer.write(wire.HEADER.pack(len(raw)) + raw)
    with pytest.raises(EOFError, match="not a message"):
        await console.recv()
    console.close()
    host.close()


def closed_by_peer(sock: socket.socket) -> bool:
    """Dropped: end of file, or a reset (it closed with our bytes unread)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


async def test_the_listener_lets_in_only_the_token_holder() -> None:
    listener, token = wire.listen()
    port = listener.getsockname()[1]
    assert listener.getsockname()[0] == "127.0.0.1"
    intruder = socket.create_connection(("127.0.0.1", port))
    intruder.sendall(b"\0" * len(token) + pickle.dumps("payload"))  # a wrong token, then anything at all
    accepting = asyncio.ensure_future(wire.accept(listener, token, alive=lambda: True, wait_s=10))
    intruder.settimeout(10)
    assert await asyncio.to_thread(closed_by_peer, intruder)
    intruder.close()
    child = await asyncio.to_thread(wire.connect, port, token)
    ours = await accepting
    listener.close()
    ours.setblocking(True)
    child.sendall(b"hello")
    assert ours.recv(5) == b"hello"
    ours.close()
    child.close()


async def test_waiting_for_a_child_that_died_ends() -> None:
    listener, token = wire.listen()
    with pytest.raises(ConnectionError, match="exited before it connected"):
        await wire.accept(listener, token, alive=lambda: False, wait_s=10)
    listener.close()


def test_the_host_does_not_start_without_a_token() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nuanu_tui.core.host", "9"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "no token on stdin" in proc.stderr


class _Status:
    """The one thing the host's reply path reads of an engine."""

    def status(self) -> None:
        return None


async def test_a_reply_the_wire_cannot_carry_is_an_error_not_a_hang() -> None:
    from nuanu_tui.core.host import Host

    console, ours = await connected_pair()
    host = Host(ours)
    host.engine = _Status()

    async def odd() -> object:
        return object()

    await host._reply(7, odd())
    kind, rid, error_kind, message = await asyncio.wait_for(console.recv(), 10)
    assert (kind, rid, error_kind) == ("error", 7, "engine")
    assert message.startswith("reply not sendable: object cannot be sent")
    console.close()
    ours.close()
