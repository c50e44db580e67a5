"""OpenTelemetry export of every utterance (one trace) and of the fleet's metrics, over OTLP/HTTP.

Only when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or its `_TRACES_` / `_METRICS_` variant) is set:
otherwise `from_env` returns None and no OpenTelemetry module is imported at all.

Nothing here sits on the audio path. A trace is built after its utterance has finished, from the stage marks
the timeline already holds (so every event carries its exact time), and handed to a BatchSpanProcessor whose
thread does the export; metrics are aggregated in memory and exported by a periodic reader's thread. A
collector that is down shows up as `problem` (one status line), never as a wait: one-shot commands flush
with a short timeout when they close.

Attributes carry specs, kinds, flags and numbers; never a key (values are scrubbed of every configured key
all the same, and keys never enter a result in the first place).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from nuanu_tui.core.redact import scrub
from nuanu_tui.core.timeline import STAGES, UtteranceResult, provider_floor_ms

ENDPOINT_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)
EXPORT_TIMEOUT_S = 1.5  # per export request; also the most a closing one-shot command waits for a flush
REACH_TIMEOUT_S = 0.2  # closing: a collector that does not accept a connection in this long is down
DOWN_TIMEOUT_S = 0.05  # closing with the collector down: the exporters are stopped, this bounds the rest
BUILD_WAIT_S = 10.0  # closing or flushing: the most to wait for the pipeline's build (imports) to finish
METRIC_INTERVAL_MS = 10_000
SERVICE_NAME = "nuanu-tui"
TRACER = "nuanu_tui"
# Child spans: (name, start stage or None for t0, end stage).
CHILD_SPANS = (
    ("llm.stream", None, "llm_done"),
    ("tts", "first_flush", "tts_done"),
    ("playback", "first_audio", "playback_done"),
)


def enabled(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return any(env.get(name, "").strip() for name in ENDPOINT_VARS)


def shuttle_id(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("NUANU_SHUTTLE_ID", "").strip() or socket.gethostname()


def from_env(secrets: Iterable[str] = (), rtt: Callable[[], Iterable[tuple[str, str, float]]] | None = None):  # type: ignore[no-untyped-def]
    """A `Telemetry` when an OTLP endpoint is configured, else None (and nothing imported)."""
    if not enabled():
        return None
    return Telemetry(list(secrets), rtt)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nuanu-tui")
    except PackageNotFoundError:
        return "0+unknown"


def provider_of(spec: str | None) -> str:
    return (spec or "").partition("/")[0] or "unknown"


class Telemetry:
    """Traces and metrics for one engine. `start()` once the engine is ready; `record(result)` after each
    utterance; `close()` at the end.

    Building the OpenTelemetry pipeline imports the SDK and its exporters (~0.5 s): `start()` does it on a
    daemon thread, so neither start-up nor the event loop waits for it. What is recorded before it is built
    is kept and exported once it is."""

    def __init__(
        self, secrets: list[str], rtt: Callable[[], Iterable[tuple[str, str, float]]] | None = None
    ) -> None:
        self._secrets = secrets
        self._rtt = rtt
        self._lock = threading.Lock()
        self.problem: str | None = None
        self.exported = {"spans": 0, "metrics": 0}
        self.shuttle = shuttle_id()
        self._built = threading.Event()
        self._ok = False
        self._pending: list[Callable[[], None]] = []
        self._builder: threading.Thread | None = None
        self._exporters: list[Any] = []

    def start(self) -> None:
        """Build the pipeline on a daemon thread (idempotent)."""
        with self._lock:
            if self._builder is not None:
                return
            self._builder = threading.Thread(target=self._build_then_drain, name="otel-build", daemon=True)
        self._builder.start()

    def _build_then_drain(self) -> None:
        try:
            self._build()
            self._ok = True
        except Exception as exc:  # telemetry must never hurt the engine
            self.problem = f"telemetry: {type(exc).__name__}: {self._clean(exc)}"
        while True:  # what was recorded meanwhile goes first, so `flush`/`close` see it once built is set
            with self._lock:
                pending, self._pending = self._pending, []
                if not pending:
                    self._built.set()
                    return
            if self._ok:
                for call in pending:
                    call()

    def _later(self, call: Callable[[], None]) -> None:
        """Run `call` now if the pipeline is built, else once it is (a failed build drops it)."""
        with self._lock:
            built = self._built.is_set()
            if not built:
                self._pending.append(call)
        if not built:
            self.start()
        elif self._ok:
            call()

    def _wait_built(self, timeout_s: float = BUILD_WAIT_S) -> bool:
        self.start()
        return self._built.wait(timeout_s) and self._ok

    def _build(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.metrics import CallbackOptions, Observation
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import MetricExportResult, PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

        # The exporters would log every failed export (to stderr, through logging's last resort): the
        # status line says it once instead.
        for name in ("opentelemetry.exporter", "opentelemetry.sdk", "opentelemetry.exporter.otlp"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        watch = self._watch

        class Spans(OTLPSpanExporter):  # type: ignore[misc]
            def export(self, spans):  # type: ignore[no-untyped-def]
                result = super().export(spans)
                watch("traces", result == SpanExportResult.SUCCESS, self._endpoint, len(spans))
                return result

        class Metrics(OTLPMetricExporter):  # type: ignore[misc]
            def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs):  # type: ignore[no-untyped-def]
                result = super().export(metrics_data, timeout_millis=timeout_millis, **kwargs)
                watch("metrics", result == MetricExportResult.SUCCESS, self._endpoint, 1)
                return result

        resource = Resource.create(
            {
                "service.name": SERVICE_NAME,
                "service.version": _version(),
                "service.instance.id": self.shuttle,
                "nuanu.shuttle.id": self.shuttle,
                "host.name": socket.gethostname(),
            }
        )
        env = os.environ
        general = bool(env.get(ENDPOINT_VARS[0], "").strip())
        traces_on = general or bool(env.get(ENDPOINT_VARS[1], "").strip())
        metrics_on = general or bool(env.get(ENDPOINT_VARS[2], "").strip())
        self.tracer_provider = TracerProvider(resource=resource)
        if traces_on:  # only the signals that have an endpoint are exported
            spans = Spans(timeout=EXPORT_TIMEOUT_S)
            self._exporters.append(spans)
            self.tracer_provider.add_span_processor(BatchSpanProcessor(spans, schedule_delay_millis=1000))
        self.tracer = self.tracer_provider.get_tracer(TRACER, _version())
        readers = []
        if metrics_on:
            metrics = Metrics(timeout=EXPORT_TIMEOUT_S)
            self._exporters.append(metrics)
            readers.append(
                PeriodicExportingMetricReader(
                    metrics,
                    export_interval_millis=METRIC_INTERVAL_MS,
                    export_timeout_millis=EXPORT_TIMEOUT_S * 1000,
                )
            )
        self.meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        meter = self.meter_provider.get_meter(TRACER, _version())
        self.ttft = meter.create_histogram("nuanu.ttft", unit="ms", description="LLM time to first token")
        self.first_audio = meter.create_histogram(
            "nuanu.first_audio", unit="ms", description="Trigger to the remark's first sample (TTFA)"
        )
        self.first_sound = meter.create_histogram(
            "nuanu.first_sound", unit="ms", description="Trigger to the first audible sample of anything"
        )
        self.utterances = meter.create_counter("nuanu.utterances", description="Utterances finished")
        self.errors = meter.create_counter("nuanu.errors", description="Failed utterances by error kind")
        self.failovers = meter.create_counter(
            "nuanu.failovers", description="Remarks served by a fallback LLM"
        )
        self.tts_fallbacks = meter.create_counter(
            "nuanu.tts_fallbacks", description="Remarks voiced (partly) by the fallback TTS"
        )
        self.decisions = meter.create_counter(
            "nuanu.director.decisions", description="Ride director decisions by outcome and reason"
        )

        def observe_rtt(_options: CallbackOptions) -> Iterable[Observation]:
            if self._rtt is None:
                return []
            return [
                Observation(ms, {"nuanu.role": role, "nuanu.provider": name})
                for role, name, ms in self._rtt()
            ]

        meter.create_observable_gauge(
            "nuanu.net.rtt", callbacks=[observe_rtt], unit="ms", description="Round trip to each provider"
        )

    # --- export health --------------------------------------------------------------------------------
    def _watch(self, signal: str, ok: bool, endpoint: str, n: int) -> None:
        with self._lock:
            if ok:
                self.exported["spans" if signal == "traces" else "metrics"] += n
                if self.problem and signal in self.problem:
                    self.problem = None
            else:
                self.problem = (
                    f"{signal} export to {endpoint} failing (collector down?); dropped, not retried"
                )

    # --- recording --------------------------------------------------------------------------------------
    def _clean(self, value: object) -> str:
        return scrub(str(value), self._secrets) or ""

    def record(self, result: UtteranceResult) -> None:
        """One trace for one finished utterance, and its metrics. Cheap; never blocks on the exporter (nor on
        the pipeline's build: until it is built the result waits in memory)."""
        self._later(lambda: self._record(result))

    def _record(self, result: UtteranceResult) -> None:
        try:
            self._trace(result)
            self._metrics(result)
        except Exception as exc:  # telemetry must never hurt an utterance
            self.problem = f"telemetry: {type(exc).__name__}"

    def _wall_ns(self, result: UtteranceResult) -> int:
        """t0 on the wall clock: `started_at` is when the pipeline started, `wait_ms` after t0 (a `say` counts
        its start-up from the moment it accepted the trigger)."""
        wait_ms = getattr(result, "wait_ms", None) or 0.0
        return int(((result.started_at or time.time()) - wait_ms / 1000.0) * 1e9)

    def attributes(self, result: UtteranceResult) -> dict[str, Any]:
        """The root span's attributes (documented in the README's Telemetry section)."""
        attrs: dict[str, Any] = {
            "nuanu.utterance.id": result.utterance_id,
            "nuanu.trigger.source": result.source,
            "nuanu.trigger": self._clean(result.trigger),
            "nuanu.llm": result.llm,
            "nuanu.llm.provider": provider_of(result.llm),
            "nuanu.tts": result.tts,
            "nuanu.served_by": result.served_by or result.llm,
            "nuanu.ok": result.ok,
            "nuanu.simulated": result.simulated,
            "nuanu.offline": result.offline,
            "nuanu.degraded": result.degraded,
            "nuanu.shuttle.id": self.shuttle,
        }
        voiced = getattr(result, "voiced_by", None)
        if voiced:
            attrs["nuanu.voiced_by"] = [str(v) for v in voiced]
        interjection = getattr(result, "interjection", None)
        if interjection:
            attrs["nuanu.interjection"] = self._clean(interjection)
        if result.ws_reused is not None:
            attrs["nuanu.ws_reused"] = result.ws_reused
        if result.error_kind or result.error:
            attrs["error.type"] = result.error_kind or "error"
            attrs["nuanu.error"] = self._clean(result.error or "")
        if result.run_id:
            attrs["nuanu.run_id"] = result.run_id
        for role, ms in (getattr(result, "net_rtt_ms", None) or {}).items():
            if ms is not None:
                attrs[f"nuanu.net.rtt.{role}_ms"] = float(ms)
        for stage, ms in result.stages_ms.items():
            if ms is not None:
                attrs[f"nuanu.stage.{stage}_ms"] = float(ms)
        return attrs

    def _trace(self, result: UtteranceResult) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        t0 = self._wall_ns(result)
        stages = result.stages_ms

        def at(stage: str | None) -> int | None:
            if stage is None:
                return t0
            ms = stages.get(stage)
            return None if ms is None else t0 + int(ms * 1e6)

        known = [t for t in (at(s) for s in stages) if t is not None]
        end = max([*known, t0])
        root = self.tracer.start_span("utterance", start_time=t0, attributes=self.attributes(result))
        for stage in (*STAGES, *(s for s in stages if s not in STAGES)):
            t = at(stage)
            if t is not None:
                root.add_event(stage, {"nuanu.ms": float(stages[stage] or 0.0)}, timestamp=t)
        if not result.ok:
            root.set_status(Status(StatusCode.ERROR, result.error_kind or "error"))
        ctx = trace.set_span_in_context(root)
        for name, first, last in CHILD_SPANS:
            start, stop = at(first), at(last)
            if start is None:
                continue
            attrs: dict[str, Any] = {}
            if name == "llm.stream":
                attrs["nuanu.llm"] = result.served_by or result.llm
                attrs["nuanu.tokens"] = result.tokens
                floor = provider_floor_ms(result.provider_timings or {})
                if floor is not None:
                    attrs["nuanu.provider.server_ms"] = floor
            elif name == "tts":
                attrs["nuanu.tts"] = result.tts
                attrs["nuanu.chars"] = result.chars
            else:
                attrs["nuanu.audio_seconds"] = result.audio_seconds
            child = self.tracer.start_span(name, context=ctx, start_time=start, attributes=attrs)
            child.end(end_time=stop if stop is not None else end)
        root.end(end_time=end)

    def _metrics(self, result: UtteranceResult) -> None:
        provider = provider_of(result.served_by or result.llm)
        attrs = {"nuanu.llm.provider": provider, "nuanu.llm": result.served_by or result.llm}
        attrs["nuanu.tts"] = result.tts
        attrs["nuanu.simulated"] = result.simulated
        self.utterances.add(1, {**attrs, "nuanu.ok": result.ok})
        if not result.ok:
            self.errors.add(1, {**attrs, "error.type": result.error_kind or "error"})
            return
        for stage, hist in (
            ("ttft", self.ttft),
            ("first_audio", self.first_audio),
            ("first_sound", self.first_sound),
        ):
            ms = result.stages_ms.get(stage)
            if ms is not None:
                hist.record(ms, attrs)
        if result.served_by and result.served_by != result.llm:
            self.failovers.add(1, {"nuanu.llm": result.llm, "nuanu.served_by": result.served_by})
        voiced = getattr(result, "voiced_by", None) or ()
        if any(provider_of(v) != provider_of(result.tts) for v in voiced):
            self.tts_fallbacks.add(1, {"nuanu.tts": result.tts})

    def decision(self, outcome: str, reason: str) -> None:
        """A ride director's decision (spoken / skipped / rejected) and why."""
        self._later(lambda: self.decisions.add(1, {"nuanu.decision": outcome, "nuanu.reason": reason}))

    # --- closing ---------------------------------------------------------------------------------------
    def flush(self, timeout_s: float = EXPORT_TIMEOUT_S) -> None:
        if not self._wait_built():
            return
        self.tracer_provider.force_flush(int(timeout_s * 1000))
        self.meter_provider.force_flush(int(timeout_s * 1000))

    def close(self, timeout_s: float = EXPORT_TIMEOUT_S) -> None:
        """Flush what is pending and stop the exporters: both signals at once, so a collector that is slow
        costs about `timeout_s` in all (the metrics' final export happens in their shutdown). A collector
        that is down (its port refuses, or nothing answers a connect within REACH_TIMEOUT_S) costs only
        that check: the exporters are stopped first, so nothing waits on retries, and the run's
        telemetry is dropped with one status line."""
        if not self._wait_built():
            if self.problem is None:
                self.problem = "telemetry still starting at exit; this run's telemetry was dropped"
            return
        down = [e for e in self._exporters if not reachable(e._endpoint, REACH_TIMEOUT_S)]
        if down:
            for exporter in self._exporters:
                with contextlib.suppress(Exception):
                    exporter.shutdown()
            timeout_s = DOWN_TIMEOUT_S

        def traces() -> None:
            with contextlib.suppress(Exception):  # a failed shutdown must not print a thread's traceback
                self.tracer_provider.force_flush(int(timeout_s * 1000))
                self.tracer_provider.shutdown()

        def metrics() -> None:
            with contextlib.suppress(Exception):
                self.meter_provider.shutdown(timeout_millis=timeout_s * 1000)

        workers = [
            threading.Thread(target=f, name=f"otel-{f.__name__}", daemon=True) for f in (traces, metrics)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout_s + 0.5)  # daemon threads: an exporter stuck past this cannot hold the exit
        if down:
            self.problem = (
                f"collector at {down[0]._endpoint} unreachable (down?); this run's telemetry was dropped"
            )


def reachable(url: str, timeout_s: float) -> bool:
    """Whether a TCP connection to the URL's host and port opens within `timeout_s`."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "localhost", port), timeout=timeout_s):
            return True
    except OSError:
        return False
