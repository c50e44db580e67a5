"""OpenTelemetry end to end: a real OTLP/HTTP receiver (decoding with opentelemetry-proto) gets one trace per
utterance with the documented spans, events and attributes, and metrics whose counts match; with the receiver
down the stages stay as usual; no key ever reaches an export; nothing is imported when nothing is configured."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.timeline import STAGES
from tests.conftest import FAKE_KEYS, TTFT_MS

SHUTTLE = "shuttle-7"
LLM = "groq/llama-3.1-8b-instant"


class Receiver:
    """OTLP/HTTP (protobuf) collector stand-in: keeps every decoded request and the raw bytes."""

    def __init__(self) -> None:
        self.traces: list[Any] = []
        self.metrics: list[Any] = []
        self.raw: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.raw.append(body)
                if self.path == "/v1/traces":
                    req = trace_service_pb2.ExportTraceServiceRequest()
                    req.ParseFromString(body)
                    receiver.traces.append(req)
                    reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                elif self.path == "/v1/metrics":
                    req = metrics_service_pb2.ExportMetricsServiceRequest()
                    req.ParseFromString(body)
                    receiver.metrics.append(req)
                    reply = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def spans(self) -> list[tuple[dict[str, Any], Any]]:
        """(resource attributes, span) for every span received."""
        out = []
        for req in self.traces:
            for rs in req.resource_spans:
                resource = {a.key: _value(a.value) for a in rs.resource.attributes}
                for ss in rs.scope_spans:
                    out.extend((resource, span) for span in ss.spans)
        return out

    def metric(self, name: str) -> list[Any]:
        """Data points of metric `name` from the last export that has it (cumulative temporality)."""
        found: list[Any] = []
        for req in self.metrics:
            for rm in req.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        if m.name == name:
                            kind = m.WhichOneof("data")
                            found = list(getattr(m, kind).data_points)
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def _attrs(span_or_point: Any) -> dict[str, Any]:
    return {a.key: _value(a.value) for a in span_or_point.attributes}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def cloud_env(sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GROQ_BASE_URL", sim.groq_base_url)
    monkeypatch.setenv("OPENAI_BASE_URL", sim.openai_base_url)
    monkeypatch.setenv("ELEVENLABS_BASE_URL", sim.elevenlabs_base_url)
    monkeypatch.setenv("NUANU_SHUTTLE_ID", SHUTTLE)
    monkeypatch.setenv("NUANU_FAILOVER", "off")
    monkeypatch.setenv("NUANU_TTS_FALLBACK", "false")


async def _engine() -> Engine:
    return await Engine.create(Settings(), llm=LLM, tts="elevenlabs", audio="null")


@pytest.mark.slow
async def test_one_trace_per_utterance_with_spans_events_and_metrics(
    receiver: Receiver, cloud_env: None, sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{receiver.port}")
    engine = await _engine()
    try:
        assert engine.telemetry is not None
        ok = await engine.say(f"две собаки слева {FAKE_KEYS['GROQ_API_KEY']}", source="console")
        sim.faults.next_llm("status", status=500)
        failed = await engine.say("скутер справа")
    finally:
        await engine.aclose()
    assert ok.ok and not failed.ok

    spans = receiver.spans()
    roots = [(res, s) for res, s in spans if s.name == "utterance"]
    assert len(roots) == 2
    assert len({s.trace_id for _res, s in roots}) == 2  # one trace per utterance
    resource, root = next((res, s) for res, s in roots if _attrs(s)["nuanu.ok"])
    assert resource["service.name"] == "nuanu-tui" and resource["nuanu.shuttle.id"] == SHUTTLE
    assert resource["service.version"]
    attrs = _attrs(root)
    assert attrs["nuanu.trigger.source"] == "console"
    assert attrs["nuanu.llm"] == LLM and attrs["nuanu.served_by"] == LLM
    assert attrs["nuanu.tts"] == ok.tts
    assert attrs["nuanu.simulated"] is False and attrs["nuanu.offline"] is False
    assert attrs["nuanu.ws_reused"] is True
    assert attrs["nuanu.stage.first_audio_ms"] == pytest.approx(ok.stages_ms["first_audio"])
    # Every stage is an event on the root span at its exact time from t0.
    events = {e.name: e.time_unix_nano for e in root.events}
    for stage in STAGES:
        ms = ok.stages_ms[stage]
        assert ms is not None
        assert (events[stage] - root.start_time_unix_nano) / 1e6 == pytest.approx(ms, abs=0.001)
    children = {s.name: s for _res, s in spans if s.trace_id == root.trace_id and s.name != "utterance"}
    assert set(children) == {"llm.stream", "tts", "playback"}
    assert all(c.parent_span_id == root.span_id for c in children.values())
    llm_span = children["llm.stream"]
    assert (llm_span.end_time_unix_nano - llm_span.start_time_unix_nano) / 1e6 == pytest.approx(
        ok.stages_ms["llm_done"], abs=0.001
    )
    _res, bad = next((res, s) for res, s in roots if not _attrs(s)["nuanu.ok"])
    assert _attrs(bad)["error.type"] == failed.error_kind
    assert bad.status.code == 2  # STATUS_CODE_ERROR

    utterances = receiver.metric("nuanu.utterances")
    assert sum(p.as_int for p in utterances) == 2
    assert sum(p.as_int for p in receiver.metric("nuanu.errors")) == 1
    (fa,) = receiver.metric("nuanu.first_audio")
    assert fa.count == 1 and fa.sum == pytest.approx(ok.stages_ms["first_audio"])
    assert _attrs(fa)["nuanu.llm.provider"] == "groq"
    (ttft,) = receiver.metric("nuanu.ttft")
    assert ttft.count == 1
    rtts = {_attrs(p)["nuanu.provider"]: p.as_double for p in receiver.metric("nuanu.net.rtt")}
    assert set(rtts) == {"groq", "elevenlabs"}

    # Canary keys: never in any exported byte (the trigger carried one; it was scrubbed).
    blob = b"".join(receiver.raw)
    for key in FAKE_KEYS.values():
        assert key.encode() not in blob
    assert "две собаки слева" in attrs["nuanu.trigger"]


@pytest.mark.slow
async def test_collector_down_costs_a_status_line_not_latency(
    cloud_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = Receiver()
    port = dead.port
    dead.close()  # nothing listens there any more
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    engine = await _engine()
    try:
        results = [await engine.say("две собаки слева") for _ in range(2)]
        await __import__("asyncio").sleep(0)  # let the status settle; the exporter thread reports failures
        engine.telemetry.flush(1.0)  # type: ignore[union-attr]
        status = engine.status()
    finally:
        t = time.perf_counter()
        await engine.aclose()
        closing_s = time.perf_counter() - t
    for r in results:
        assert r.ok
        ttft = r.stages_ms["ttft"]
        assert ttft is not None and TTFT_MS <= ttft <= TTFT_MS + 150.0  # the emulator's injected TTFT
    assert status.telemetry_problem and "collector" in status.telemetry_problem
    assert engine.telemetry_problem
    assert (
        closing_s < 6.0
    )  # bounded flush (about 1.5 s per signal), not the exporter's default 10 s+ timeouts


_PROBE = """
import asyncio, sys
from nuanu_tui.core.engine import Engine
async def main():
    e = await Engine.create(llm="offline/phrasebook", tts="espeak", audio="null")
    r = await e.say("собака")
    await e.aclose()
    assert r.ok, r.error
asyncio.run(main())
print(sorted(m for m in sys.modules if m.startswith("opentelemetry"))[:1])
"""


@pytest.mark.slow
@pytest.mark.parametrize("configured", [False, True])
def test_nothing_is_imported_unless_an_endpoint_is_set(configured: bool, tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    if configured:
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://127.0.0.1:9/v1/traces"
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == ("['opentelemetry']" if configured else "[]")


def test_deploy_dashboard_queries_metrics_we_export() -> None:
    """The Grafana dashboard reads metric names the collector's Prometheus exporter derives from ours."""
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    dash = json.loads((root / "deploy/grafana/dashboards/nuanu-fleet.json").read_text(encoding="utf-8"))
    source = (root / "nuanu_tui/core/telemetry.py").read_text(encoding="utf-8")
    exported = set()
    for name, unit in re.findall(r'create_\w+\(\s*"(nuanu\.[\w.]+)"(?:,[^)]*?unit="(\w+)")?', source):
        base = name.replace(".", "_") + ("_milliseconds" if unit == "ms" else "")
        exported |= {base, base + "_bucket", base + "_total"}
    queried = {
        m
        for panel in dash["panels"]
        for target in panel["targets"]
        for m in re.findall(r"\b(nuanu_[a-z_]+)\{", target["expr"])
    }
    assert queried and queried <= exported, queried - exported
    assert {
        "TTFA p50 per provider and shuttle",
        "Network RTT per provider and shuttle",
        "Errors by kind",
    } <= {p["title"] for p in dash["panels"]}


def test_director_decisions_are_counted_by_reason(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nuanu_tui.core.telemetry import from_env

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"http://127.0.0.1:{receiver.port}/v1/metrics")
    telemetry = from_env()
    assert telemetry is not None
    for outcome, reason in (("spoken", "fresh"), ("skipped", "stale"), ("skipped", "stale")):
        telemetry.decision(outcome, reason)
    telemetry.close()
    assert telemetry.problem is None  # only metrics are configured: no trace export is attempted
    points = {
        (_attrs(p)["nuanu.decision"], _attrs(p)["nuanu.reason"]): p.as_int
        for p in receiver.metric("nuanu.director.decisions")
    }
    assert points == {("spoken", "fresh"): 1, ("skipped", "stale"): 2}


def test_a_collector_that_is_down_is_skipped_at_close(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused port: close stops the exporters before flushing (no retry waits) and says so once."""
    from nuanu_tui.core.telemetry import from_env
    from nuanu_tui.core.timeline import UtteranceResult

    dead = Receiver()
    port = dead.port
    dead.close()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    telemetry = from_env()
    assert telemetry is not None
    telemetry.record(UtteranceResult(trigger="собака", llm=LLM, tts="espeak", stages_ms={"ttft": 1.0}))
    telemetry.close()
    assert telemetry.problem is not None
    assert "unreachable" in telemetry.problem and f"127.0.0.1:{port}" in telemetry.problem
    assert telemetry.exported == {"spans": 0, "metrics": 0}
    assert all(e._shutdown for e in telemetry._exporters)  # stopped before the final export
