"""The engine's provider links: warm-up, keeping the LLM connection warm, switching LLM or voice live.

A base class of `Engine`, kept apart from the utterance API (`Engine.say`) because connection keeping has
its own life: it runs at start-up, in the background and on the operator's switches, never per remark.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from nuanu_tui.core import quality
from nuanu_tui.core.chain_builder import ChainBuilder
from nuanu_tui.core.config import Settings, failover_chain
from nuanu_tui.core.errors import ConfigError, NuanuError
from nuanu_tui.core.failover import FailoverLLM, FailoverPolicy, probe_answer
from nuanu_tui.core.health import HealthBoard
from nuanu_tui.core.instant import Instant, classify
from nuanu_tui.core.llm.base import LLMProvider
from nuanu_tui.core.netprobe import HttpRttProbe, NetMonitor
from nuanu_tui.core.providers import make_llm, make_tts
from nuanu_tui.core.safety import FilterConfig, OutputFilter
from nuanu_tui.core.tts.base import TTSProvider

if TYPE_CHECKING:
    from nuanu_tui.core.telemetry import Telemetry

LLM_KEEPWARM_S = 30.0


class ProviderLinks:
    """Warm-up and live switches over the state `Engine.__init__` sets up."""

    settings: Settings
    tts: TTSProvider
    fallback_tts: TTSProvider | None
    llm_spec: str
    warm_errors: dict[str, str]
    health: HealthBoard
    instant: Instant
    net: NetMonitor
    policy: FailoverPolicy
    _llms: dict[str, LLMProvider]
    _lock: asyncio.Lock
    _keepwarm: asyncio.Task[None] | None
    _net_warming: asyncio.Future[Any] | None
    _llm_probe: HttpRttProbe | None
    _filter_config: FilterConfig
    telemetry: Telemetry | None
    chain_builder: ChainBuilder
    ready: asyncio.Event
    ready_at: float | None

    async def warm(self, *, network_in_background: bool = False) -> None:
        """Open the TTS socket and warm the LLM connection concurrently; failures become status, not crashes.

        `network_in_background`: return without waiting for the LLM (a host that never answers would hold the
        first utterance for the whole connect timeout); an LLM that fails warm-up while a failover chain
        stands behind it is marked unavailable at once, so utterances start on the next link while the
        health probe waits for it to come back. Nor for the spare links' builds (one-shot `say`)."""

        async def warm_llm() -> None:
            spec = self.llm_spec
            try:
                provider = self.llm(spec)
                await provider.warm()
                self.warm_errors.pop("llm", None)
            except NuanuError as exc:
                self.warm_errors["llm"] = exc.message
                if len(failover_chain(self.settings, spec)) > 1 and spec in self._llms:
                    failed = self._llms[spec]
                    self.health.failure(spec, exc, probe=lambda: probe_answer(failed), trip=True)

        async def warm_tts() -> None:
            try:
                await self.tts.connect()
                self.warm_errors.pop("tts", None)
            except NuanuError as exc:
                self.warm_errors["tts"] = exc.message
                if self.fallback_tts is not None:  # espeak stands behind it: skip it until it is back
                    self.health.failure(self.tts.spec, exc, probe=self.tts.connect, trip=True)

        # The TTS socket opens while the primary LLM's SDK (groq or openai, with httpx: 0.3-0.9 s of imports)
        # loads in a worker thread, instead of on the loop that drives the handshake.
        tts_opening = asyncio.ensure_future(warm_tts())
        with contextlib.suppress(NuanuError):
            await asyncio.to_thread(self.llm, self.llm_spec)
        self._build_spares()
        with contextlib.suppress(Exception):
            filt = self._new_filter()
            if filt is not None:
                await asyncio.to_thread(filt.warm)

        async def warm_fallback() -> None:
            if self.fallback_tts is not None:
                with contextlib.suppress(NuanuError):
                    await self.fallback_tts.connect()

        self._net_targets()

        async def load_interjections() -> None:
            with contextlib.suppress(Exception):
                await self.instant.load(self.tts)
                if self.fallback_tts is not None:
                    await self.instant.load(self.fallback_tts)

        async def warm_rubric() -> None:
            # Long-lived engines rate every remark on the loop, the first one too: cold it took ~23 ms there.
            # (A one-shot `say` rates once, after its remark has played: it skips this.)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(quality.warm)

        if network_in_background:
            with contextlib.suppress(NuanuError):  # the SDK's code paths are local: no host can hold them
                warm_code = getattr(self.llm(self.llm_spec), "warm_code", None)
                if warm_code is not None:
                    await warm_code()
            # The network halves run on; the first utterance skips whatever has failed (or not opened) by then.
            network = asyncio.gather(warm_llm(), tts_opening, self.net.probe_once("llm"))
            self._net_warming = asyncio.ensure_future(network)
            await asyncio.gather(warm_fallback(), load_interjections())
        else:
            await asyncio.gather(
                warm_llm(),
                tts_opening,
                warm_fallback(),
                load_interjections(),
                self.net.probe_once("llm"),
                warm_rubric(),
            )
            await self.net.probe_once("tts")  # a ping needs the socket warm_tts opened
        self.fill_interjections()
        self.net.start()
        if self.telemetry is not None:  # its ~0.5 s of imports on its own thread, after start-up, not before
            self.telemetry.start()
        if self._keepwarm is None:
            self._keepwarm = asyncio.create_task(self._keep_llm_warm(), name="llm-keepwarm")
        # The spare links were building in threads all along; waiting for them here costs start-up only what
        # the network half did not already cover. Left running past ready, an SDK import in a thread held the
        # GIL against the first remark's callbacks (a 197 ms stall measured), so ready means built.
        # A one-shot `say` (network in background) is the exception: it has no feeds for a stall to delay, and
        # a spare is needed only if the primary fails, when its `PendingLLM` waits for the build off the loop;
        # waiting here put `import openai` (~0.7 s of CPU) before the remark whenever both keys were set.
        if not network_in_background:
            await self.chain_builder.wait()
        if not self.ready.is_set():
            self.ready_at = time.time()
            self.ready.set()

    async def _keep_llm_warm(self) -> None:
        while True:
            await asyncio.sleep(LLM_KEEPWARM_S)
            if self._lock.locked():
                continue
            provider = self._llms.get(self.llm_spec)
            if provider is not None and not provider.offline:
                with contextlib.suppress(NuanuError):
                    await provider.warm()

    def fill_interjections(self) -> None:
        """Background: cache the active voice's interjections (and the offline voice's, for cloud outages)."""
        if not self.instant.active:
            return
        with contextlib.suppress(Exception):
            classify("две собаки слева")  # loads the keyword classifier now, not on the first trigger
        self.instant.fill(self.tts)
        if self.fallback_tts is not None:
            self.instant.fill(self.fallback_tts)

    def set_instant(self, on: bool) -> None:
        """The console's toggle: instant reactions on or off from the next trigger."""
        self.instant.enabled = on
        if on:
            self.fill_interjections()

    def _net_targets(self) -> None:
        """Point the RTT probes at the providers in use (after start-up and every switch)."""
        try:
            provider = self._llms.get(self.llm_spec) or self.llm(self.llm_spec)
        except NuanuError:
            provider = None
        base = None if provider is None or provider.offline else getattr(provider, "base_url", None)
        if base is None:
            self.net.set_target("llm", None, None)
        else:
            if self._llm_probe is None or self._llm_probe.origin != HttpRttProbe(base).origin:
                self._llm_probe = HttpRttProbe(base)
            self.net.set_target("llm", self.llm_spec.partition("/")[0], self._llm_probe)
        ping = getattr(self.tts, "ping_ms", None)
        self.net.set_target("tts", self.tts.spec.partition("/")[0] if ping else None, ping)

    def _build_spares(self) -> None:
        """Start building the failover chain's spare links in worker threads: never on the loop, where the
        OpenAI link alone (`import openai`, its client, a TLS context) stalled the first remark 1.1-1.9 s."""
        with contextlib.suppress(NuanuError):
            self.chain_builder.start(failover_chain(self.settings, self.llm_spec)[1:])

    def llm(self, spec: str) -> LLMProvider:
        provider = self._llms.get(spec)
        if provider is None:
            provider = make_llm(spec, self.settings)
            self._llms[spec] = provider
        return provider

    def _new_filter(self) -> OutputFilter | None:
        if not self.settings.output_filter:
            return None
        return OutputFilter(self._filter_config, lang=self.settings.lang)

    def llm_chain(self, spec: str) -> LLMProvider:
        """`spec` behind deadline-driven failover (or the bare provider when the chain is just itself)."""
        specs = failover_chain(self.settings, spec)
        if len(specs) == 1:
            return self.llm(spec)  # strict: a missing key is this utterance's error
        chain, skipped = [], []
        for link in specs:
            try:  # built (or still building, off the loop) at start-up; built here only if never started
                chain.append(self.chain_builder.link(link) or self.llm(link))
            except ConfigError as exc:  # e.g. no key for this link: the rest of the chain still speaks
                skipped.append(f"{link}: {exc.message}")
        if not chain:
            raise ConfigError("; ".join(skipped))
        if len(chain) == 1 and not skipped:
            return chain[0]
        return FailoverLLM(chain, self.policy, self.health, spec=spec, skipped=skipped)

    async def use_llm(self, spec: str) -> None:
        """Switch the default LLM for the next utterance, warming it now."""
        provider = self.llm(spec)
        self.llm_spec = spec
        self._build_spares()
        self._net_targets()
        with contextlib.suppress(NuanuError):
            await provider.warm()

    async def use_tts(self, spec: str, output_format: str | None = None) -> None:
        """Switch TTS voice/model/format for the next utterance: connect the new one first, swap between
        utterances, then close the old one. Raises NuanuError (e.g. bad spec) and keeps the old one then."""
        provider = make_tts(spec, self.settings, output_format=output_format)
        try:
            await provider.connect()
            self.warm_errors.pop("tts", None)
        except NuanuError as exc:
            self.warm_errors["tts"] = exc.message
        if self.fallback_tts is None and self.settings.tts_fallback and not provider.offline:
            with contextlib.suppress(NuanuError):
                fallback = make_tts("espeak", self.settings)
                await fallback.connect()
                self.fallback_tts = fallback
        async with self._lock:
            old, self.tts = self.tts, provider
        self.fill_interjections()
        self._net_targets()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(3.0):
                await old.aclose()
