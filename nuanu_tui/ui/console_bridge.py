"""The console's bridge: speak, stop and queue remarks, switch providers, voice, network and speaker, and
list what can be picked, over the shared engine link."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib

from textual.message_pump import MessagePump

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.ui.link import EngineLink
from nuanu_tui.ui.messages import AudioDevicesListed, ModelsListed, ProviderSwitched, UtteranceView
from nuanu_tui.ui.views import view_of


class ConsoleBridge:
    """Console verbs; public methods are called from the UI thread and return at once."""

    def __init__(self, link: EngineLink) -> None:
        self.link = link

    def say(
        self, trigger: str, target: MessagePump, *, interrupt: bool = False, llm: str | None = None
    ) -> concurrent.futures.Future[UtteranceView]:
        """Start (or queue) one utterance; events go to `target`. With `interrupt`, whatever is playing or
        queued is stopped first. The future resolves to the final view (also for an operator interrupt)."""
        if interrupt:
            self.interrupt()
        return self.link.submit(self._say(trigger, target, llm))

    async def _say(self, trigger: str, target: MessagePump, llm: str | None) -> UtteranceView:
        if self.link.engine is None:
            raise NuanuError("engine", "the engine is not running")
        relay = self.link.relay(target)
        task = asyncio.current_task()
        assert task is not None
        self.link.utterances[task] = relay
        self.link.post_status(target)
        try:
            result = await self.link.engine.say(trigger, llm=llm, on_event=relay, source="console")
        except NuanuError as exc:
            if exc.kind != "engine" or relay.result is not None:
                raise
            result = relay.end_failed(trigger, llm or "", exc)  # the engine died under it: recorded
            self.link.remember(result)
        except asyncio.CancelledError:
            relay.flush()
            if relay.result is None or self.link.closed:
                raise
            result = relay.result  # stopped or dropped: its record says "interrupted" / "dropped"
        finally:
            self.link.utterances.pop(task, None)
            self.link.post_status(target)
        relay.flush()
        if result is None:  # the engine process cancelled it (Esc): its final events carried the record
            result = relay.result
        if result is None:
            raise NuanuError("engine", "the utterance ended without a result")
        return view_of(result)

    def stop(self) -> None:
        """Esc: stop the remark being spoken (audio at once, TTS context, LLM stream). It is recorded as
        interrupted; queued remarks play on."""
        self.link.call_soon(self._stop_now)

    def _stop_now(self) -> None:
        if self.link.engine is not None:
            self.link.engine.interrupt()

    def clear_queue(self) -> concurrent.futures.Future[int]:
        """Drop every remark still waiting in the queue (each is recorded as dropped); resolves to how
        many. The one being spoken plays on."""

        async def run() -> int:
            return self._drop_queued()

        return self.link.submit(run())

    def _drop_queued(self) -> int:
        queued = [task for task, relay in self.link.utterances.items() if not relay.started]
        for task in queued:
            task.cancel()
        return len(queued)

    def interrupt(self) -> None:
        """A trigger in interrupt mode: stop what is speaking and drop what is queued, at once."""

        def now() -> None:
            self._drop_queued()
            self._stop_now()

        self.link.call_soon(now)

    # --- switching and discovery --------------------------------------------------------------------
    def use_llm(self, spec: str, target: MessagePump) -> concurrent.futures.Future[None]:
        async def run() -> None:
            try:
                await self.link.ops.use_llm(spec)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("llm", spec, exc.message))
            else:
                target.post_message(ProviderSwitched("llm", spec))
            self.link.post_status(target)

        return self.link.submit(run())

    def use_net(self, spec: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """Switch the emulator's network profile live (demo mode)."""

        async def run() -> None:
            try:
                label = await self.link.ops.use_net(spec)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("net", spec, exc.message))
            else:
                target.post_message(ProviderSwitched("net", label))
            self.link.post_status(target)

        return self.link.submit(run())

    def use_tts(
        self, spec: str, output_format: str | None, target: MessagePump
    ) -> concurrent.futures.Future[None]:
        async def run() -> None:
            fmt = output_format or self.link.output_format or None
            try:
                warm = await self.link.ops.use_tts(spec, fmt)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("tts", spec, exc.message))
            else:
                if fmt:
                    self.link.output_format = fmt
                target.post_message(ProviderSwitched("tts", spec, warm))
            self.link.post_status(target)

        return self.link.submit(run())

    def set_instant(self, on: bool, target: MessagePump) -> concurrent.futures.Future[None]:
        """The picker's instant-reactions switch; a reason to stay off comes back as a failed switch."""

        async def run() -> None:
            reason = await self.link.ops.set_instant(on)
            target.post_message(ProviderSwitched("instant", "on" if on else "off", reason))

        return self.link.submit(run())

    def use_audio(self, spec: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """Switch the speaker live (the picker); the status bar then names the new device."""

        async def run() -> None:
            try:
                name = await self.link.ops.use_audio(spec)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("audio", spec, exc.message))
                return
            target.post_message(ProviderSwitched("audio", name))
            self.link.post_status(target)

        return self.link.submit(run())

    def set_audio_policy(self, policy: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """While the speaker is gone: hold remarks (drop stale ones) or keep generating them unheard."""

        async def run() -> None:
            try:
                await self.link.ops.set_audio_policy(policy)
            except NuanuError as exc:
                target.post_message(ProviderSwitched("when audio lost", policy, exc.message))
                return
            target.post_message(ProviderSwitched("when audio lost", policy))
            self.link.post_status(target)

        return self.link.submit(run())

    def list_audio_devices(self, target: MessagePump) -> concurrent.futures.Future[None]:
        """The outputs the engine can open, for the picker (fetched off the UI loop)."""

        async def run() -> None:
            with contextlib.suppress(NuanuError):
                target.post_message(AudioDevicesListed(await self.link.ops.audio_devices()))

        return self.link.submit(run())

    def list_models(self, provider: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """Ask `provider`'s /models off the UI loop; posts ModelsListed (empty with `error` on failure)."""

        async def run() -> None:
            try:
                specs = await self.link.ops.list_models(provider)
            except NuanuError as exc:
                target.post_message(ModelsListed(provider, (), exc.message))
                return
            self.link.known_models[provider] = specs
            target.post_message(ModelsListed(provider, specs))

        return self.link.submit(run())
