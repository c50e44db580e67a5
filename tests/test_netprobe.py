"""RTT probes against the emulator under each network profile: measured values within tolerance of the injected
RTT; what an utterance records (`net_rtt_ms`), the status bar's line, the TTFA split and grouping."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from nuanu_tui.core.config import Settings
from nuanu_tui.core.netprobe import HttpRttProbe, NetMonitor, net_condition
from nuanu_tui.core.netprofile import NET_PROFILES, NetProfile
from nuanu_tui.core.stats import summarize_runs
from nuanu_tui.core.timeline import UtteranceResult, split_ms
from nuanu_tui.core.tts.elevenlabs import ElevenLabsTTS
from nuanu_tui.sim import SimServer
from nuanu_tui.ui.messages import StatusView
from nuanu_tui.ui.widgets.status_bar import net_line

SLACK_MS = 40.0  # what a loaded machine may add to one measurement (it never subtracts)


def _no_loss(name: str) -> NetProfile:
    p = NET_PROFILES[name]
    return NetProfile(p.name, p.rtt_ms, p.jitter_ms)


def _within(measured: float | None, net: NetProfile) -> bool:
    assert measured is not None
    return net.rtt_ms - net.jitter_ms <= measured <= net.rtt_ms + net.jitter_ms + SLACK_MS


def _settings(sim: SimServer) -> Settings:
    return Settings().model_copy(
        update={
            "elevenlabs_base_url": sim.elevenlabs_base_url,
            "elevenlabs_api_key": SecretStr("xi-test"),
        }
    )


@pytest.mark.parametrize("name", ["loopback", "wifi", "lte", "bad"])
async def test_probes_measure_the_injected_rtt(name: str) -> None:
    net = _no_loss(name)
    sim = SimServer(profile="zero", net=net, net_seed=3)
    await sim.start()
    tts = ElevenLabsTTS(_settings(sim))
    llm_probe = HttpRttProbe(sim.groq_base_url)
    monitor = NetMonitor(interval_s=60.0, warn_ms=200.0)
    try:
        await tts.connect()
        monitor.set_target("llm", "groq", llm_probe)
        monitor.set_target("tts", "elevenlabs", tts.ping_ms)
        for _ in range(3):
            await monitor.probe_once()
        llm = monitor.readings["llm"].typical_ms
        tts_ms = monitor.readings["tts"].typical_ms
    finally:
        await monitor.aclose()
        await tts.aclose()
        await sim.stop()
    assert _within(llm, net), llm
    assert _within(tts_ms, net), tts_ms
    assert monitor.view()[0][0] == "groq" and monitor.view()[1][0] == "elevenlabs"
    assert monitor.degraded() == (("groq", "elevenlabs") if net.rtt_ms > 200 else ())


async def test_an_unreachable_host_is_unmeasured_not_an_error() -> None:
    monitor = NetMonitor(interval_s=60.0, warn_ms=200.0)
    monitor.set_target("llm", "groq", HttpRttProbe("http://127.0.0.1:9"))  # discard port: refused
    await monitor.probe_once()
    await monitor.aclose()
    assert monitor.snapshot() == {"llm": None, "tts": None}
    assert monitor.readings == {} or monitor.readings["llm"].failed


@pytest.mark.slow
async def test_demo_utterance_records_the_rtts_and_the_status_shows_them() -> None:
    from nuanu_tui.core.engine import Engine

    settings = Settings().model_copy(update={"sim_net": "rtt=80,jitter=0,loss=0"})
    engine = await Engine.create(settings, demo=True, audio="null", sim_profile="fast")
    try:
        result = await engine.say("собака слева")
        status = engine.status()
    finally:
        await engine.aclose()
    net = NetProfile("x", 80.0, 0.0)
    assert result.ok
    assert _within(result.net_rtt_ms["llm"], net) and _within(result.net_rtt_ms["tts"], net)
    assert result.to_json()["net_rtt_ms"] == result.net_rtt_ms
    assert status.net == "custom" or status.net.startswith("rtt 80")
    names = [name for name, _ms in status.net_rtt]
    assert names == ["groq", "elevenlabs"]
    split = split_ms(result.stages_ms["first_audio"], result.net_rtt_ms, None)
    assert split is not None and _within(split["network"] / 2, net)
    assert split["network"] + split["provider"] + split["rest"] == pytest.approx(
        result.stages_ms["first_audio"], abs=0.2
    )


def test_status_line_colours_against_thresholds() -> None:
    base: dict[str, Any] = dict(
        llm="groq/x", llm_state="warm", tts="elevenlabs", tts_state="connected", audio="null",
        sample_rate=24000, audio_warning=None, offline_reasons=(), simulated=True,
    )  # fmt: skip
    assert net_line(StatusView(**base)) == ""
    line = net_line(StatusView(**base, net="lte", net_rtt=(("groq", 84.0), ("elevenlabs", 91.0))))
    assert line == "[b]net[/] [dim](lte)[/] groq [$success]84 ms[/] · elevenlabs [$success]91 ms[/]"
    slow = net_line(StatusView(**base, net_rtt=(("groq", 150.0), ("elevenlabs", None)), net_warn_ms=200))
    assert "[$success]" in net_line(StatusView(**base, net_rtt=(("groq", 150.0),), net_good_ms=160))
    assert "[$warning]150 ms[/]" in slow and "elevenlabs [$text-muted]—[/]" in slow
    bad = net_line(StatusView(**base, net_rtt=(("groq", 260.0),), net_warn_ms=200))
    assert "[$error]260 ms[/]" in bad


def test_split_and_grouping_by_network_condition() -> None:
    assert split_ms(400.0, {"llm": 80.0, "tts": 90.0}, 110.0) == {
        "network": 170.0,
        "provider": 110.0,
        "rest": 120.0,
    }
    assert split_ms(400.0, {"llm": None, "tts": None}, 110.0) is None
    assert net_condition({"llm": None, "tts": None}) == "unmeasured"
    assert net_condition({"llm": 84.0, "tts": 20.0}).startswith("fair")
    runs = []
    for rtt in (1.0, 2.0, 85.0, 260.0):
        r = UtteranceResult(trigger="t", llm="groq/x", tts="elevenlabs", net_rtt_ms={"llm": rtt, "tts": None})
        r.stages_ms["first_audio"] = 100.0 + rtt
        runs.append(r)
    groups = summarize_runs(runs, key=lambda r: net_condition(r.net_rtt_ms))
    assert {k: v.total for k, v in groups.items()} == {
        "loopback (<5 ms)": 2,
        "fair (50–150 ms)": 1,
        "poor (≥150 ms)": 1,
    }
