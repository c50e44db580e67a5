"""The emulator's network profiles, measured with real clients (official SDKs, websockets) against injected values.

Tolerances: a round trip lies within ±jitter of the profile's RTT by construction; the upper side gets extra
room for a loaded 2-core CI machine (scheduling only ever adds time).
"""

from __future__ import annotations

import base64
import time
from typing import Any

import groq
import openai
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from nuanu_tui.cli import main as cli_main
from nuanu_tui.core.netprofile import NET_PROFILES, NetProfile, net_spec, parse_net
from nuanu_tui.sim import SimServer, default_reply

SLACK_MS = 40.0  # scheduling delay a loaded machine may add to one measurement


async def _server(net: str | NetProfile, profile: str = "zero") -> SimServer:
    sim = SimServer(profile=profile, net=net, net_seed=7)
    await sim.start()
    return sim


async def _ws(server: SimServer) -> ClientConnection:
    url = f"{server.elevenlabs_base_url}/v1/text-to-speech/v/multi-stream-input?model_id=eleven_flash_v2_5"
    return await connect(url, additional_headers={"xi-api-key": "k"}, ping_interval=None)


async def _ping_ms(ws: ClientConnection) -> float:
    waiter = await ws.ping()
    return float(await waiter) * 1000.0


def _within(measured: float, expected: float, spread: float) -> bool:
    return expected - spread <= measured <= expected + spread + SLACK_MS


def test_profiles_and_custom_specs() -> None:
    assert parse_net("lte").rtt_ms == 80.0
    assert parse_net(None) == NET_PROFILES["loopback"]
    custom = parse_net("rtt=50,jitter=5,loss=1")
    assert (custom.rtt_ms, custom.jitter_ms, custom.loss_pct) == (50.0, 5.0, 1.0)
    assert parse_net(custom.spec()) == custom
    assert net_spec("lte", None, 0, None) == "rtt=80,jitter=0,loss=0"
    assert net_spec(None, 30, None, None) == "rtt=30,jitter=0,loss=0"
    assert net_spec("wifi", None, None, None) == "wifi"
    with pytest.raises(ValueError, match="loopback"):
        parse_net("3g")
    with pytest.raises(ValueError, match="below 100"):
        parse_net("loss=100")


def test_cli_rejects_a_bad_profile_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["say", "собака", "--demo", "--net", "3g"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad network profile" in err[0]


@pytest.mark.parametrize("name", ["loopback", "wifi", "lte", "bad"])
async def test_keepalive_ping_measures_the_injected_rtt(name: str) -> None:
    net = NET_PROFILES[name]
    # `bad` without its loss here: a stall is an RTO on top, checked on its own below.
    net = NetProfile(net.name, net.rtt_ms, net.jitter_ms)
    sim = await _server(net)
    try:
        ws = await _ws(sim)
        pings = [await _ping_ms(ws) for _ in range(3)]
        await ws.close()
    finally:
        await sim.stop()
    mean = sum(pings) / len(pings)
    assert _within(mean, net.rtt_ms, net.jitter_ms), (name, pings)


async def test_new_websocket_costs_three_round_trips_more_than_a_reused_one() -> None:
    rtt = NET_PROFILES["lte"].rtt_ms
    sim = await _server("lte")
    try:
        fresh = []
        for _ in range(3):
            t = time.perf_counter()
            ws = await _ws(sim)  # TCP + TLS 1.3 + the upgrade's round trip, then one ping
            await _ping_ms(ws)
            fresh.append((time.perf_counter() - t) * 1000.0)
            reused_ws = ws
        reused = [await _ping_ms(reused_ws) for _ in range(3)]
        await reused_ws.close()
    finally:
        await sim.stop()
    extra = sum(fresh) / 3 - sum(reused) / 3
    assert _within(extra, 3 * rtt, 3 * 15.0), (fresh, reused)


@pytest.mark.parametrize("sdk", ["groq", "openai"])
async def test_new_https_connection_costs_tcp_and_tls_round_trips(sdk: str) -> None:
    """Over HTTP(S) there is no upgrade: a new connection costs two round trips (TCP, TLS 1.3) more."""
    sim = await _server("rtt=80")

    def make() -> Any:
        if sdk == "groq":
            return groq.AsyncGroq(base_url=sim.groq_base_url, api_key="k", max_retries=0)
        return openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)

    async def timed(client: Any) -> float:
        t = time.perf_counter()
        await client.models.list()
        return (time.perf_counter() - t) * 1000.0

    try:
        warmup = make()  # the SDK's first call imports and builds its models: not the network's cost
        await timed(warmup)
        await warmup.close()
        client = make()
        fresh = await timed(client)
        reused = [await timed(client) for _ in range(2)]
        await client.close()
    finally:
        await sim.stop()
    assert _within(min(reused), 80.0, 0.0), reused
    assert _within(fresh - min(reused), 160.0, 0.0), (fresh, reused)


async def test_stream_shifts_by_the_rtt_and_keeps_its_pace() -> None:
    """TTFT grows by one round trip; later tokens are not each delayed again (no accumulated drift)."""
    sim = await _server("rtt=80", profile="fast")  # 30 ms TTFT, 2 ms per token
    client = groq.AsyncGroq(base_url=sim.groq_base_url, api_key="k", max_retries=0)
    try:
        await client.models.list()  # open the connection: the handshakes are not part of this test
        t0 = time.perf_counter()
        stream = await client.chat.completions.create(
            model="llama-3.1-8b-instant", messages=[{"role": "user", "content": "собака"}], stream=True
        )
        first = last = None
        text = ""
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                now = time.perf_counter()
                first = first or now
                last = now
                text += chunk.choices[0].delta.content
    finally:
        await client.close()
        await sim.stop()
    assert first is not None and last is not None
    assert text == default_reply("собака", "")
    ttft = (first - t0) * 1000.0
    assert _within(ttft, 30.0 + 80.0, 0.0), ttft
    # The stream itself keeps the emulated pace (≈2 ms per token), far below one RTT per token.
    assert (last - first) * 1000.0 < 80.0


async def test_loss_stalls_but_never_loses_data() -> None:
    sim = await _server("rtt=10,loss=30", profile="fast")
    ws = await _ws(sim)
    try:
        received: list[bytes] = []
        await ws.send(orjson.dumps({"text": " ", "context_id": "c1"}).decode())
        await ws.send(orjson.dumps({"text": "Смотрите налево, слон. ", "context_id": "c1"}).decode())
        await ws.send(orjson.dumps({"context_id": "c1", "close_context": True, "flush": True}).decode())
        async for raw in ws:
            msg = orjson.loads(raw)
            if msg.get("audio"):
                received.append(msg["audio"].encode())
            if msg.get("isFinal"):
                break
        pings = [await _ping_ms(ws) for _ in range(12)]
    finally:
        await ws.close()
        await sim.stop()
    audio = b"".join(base64.b64decode(a) for a in received)
    assert audio == sim.sent_encoded["c1"]  # every byte arrived, in order
    assert max(pings) >= 200.0  # at least one retransmission stall (RTO ≥ 200 ms)
    assert min(pings) < 200.0


async def test_profile_switched_live_applies_to_open_sockets() -> None:
    sim = await _server("loopback")
    ws = await _ws(sim)
    try:
        before = await _ping_ms(ws)
        sim.net = parse_net("rtt=80")
        after = await _ping_ms(ws)
    finally:
        await ws.close()
        await sim.stop()
    assert before < 20.0
    assert _within(after, 80.0, 0.0)


@pytest.mark.slow
async def test_demo_engine_pays_the_profile_and_switches_live() -> None:
    """`--demo --net`: the engine's emulator charges the link; `use_net` switches it between utterances."""
    from nuanu_tui.core.config import Settings
    from nuanu_tui.core.engine import Engine
    from nuanu_tui.core.errors import ConfigError

    settings = Settings().model_copy(update={"sim_net": "rtt=80,jitter=0,loss=0"})
    engine = await Engine.create(settings, demo=True, audio="null", sim_profile="fast")
    try:
        await engine.say("собака слева")
        opened = engine.sim.server.connections_opened  # type: ignore[union-attr]
        slow = await engine.say("собака слева")
        # The warm connections really stay warm: no utterance pays TCP + TLS again.
        assert engine.sim.server.connections_opened == opened  # type: ignore[union-attr]
        assert engine.use_net("loopback") == "loopback"
        fast = await engine.say("собака слева")
        with pytest.raises(ConfigError, match="bad network profile"):
            engine.use_net("3g")
    finally:
        await engine.aclose()
    assert slow.ok and fast.ok and slow.ws_reused and fast.ws_reused
    ttft_slow, ttft_fast = slow.stages_ms["ttft"], fast.stages_ms["ttft"]
    assert ttft_slow is not None and ttft_fast is not None
    # A difference of two measured values: the noise of the faster one can take a little off it, too.
    assert 80.0 - SLACK_MS <= ttft_slow - ttft_fast <= 80.0 + SLACK_MS, (ttft_slow, ttft_fast)


async def test_use_net_needs_the_emulator() -> None:
    from nuanu_tui.core.config import Settings
    from nuanu_tui.core.engine import Engine
    from nuanu_tui.core.errors import ConfigError

    engine = await Engine.create(Settings(), llm="offline/phrasebook", tts="espeak", audio="null")
    try:
        with pytest.raises(ConfigError, match="emulator"):
            engine.use_net("lte")
        assert engine.net_label is None
    finally:
        await engine.aclose()
