"""The console's bridge: speak, stop and queue remarks, switch providers, voice, network and speaker, and
list what can be picked, over the shared engine link."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Awaitable, Callable

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
    def _switch(
        self,
        kind: str,
        spec: str,
        change: Callable[[], Awaitable[ProviderSwitched]],
        target: MessagePump,
        *,
        status_after_error: bool = True,
    ) -> concurrent.futures.Future[None]:
        """One live switch on the engine loop: `change` makes it and says how it went; a refusal is a failed
        ProviderSwitched. The status follows (after a refused speaker or policy, nothing changed to show)."""

        async def run() -> None:
            try:
                done = await change()
            except NuanuError as exc:
                target.post_message(ProviderSwitched(kind, spec, exc.message))
                if not status_after_error:
                    return
            else:
                target.post_message(done)
            self.link.post_status(target)

        return self.link.submit(run())

    def use_llm(self, spec: str, target: MessagePump) -> concurrent.futures.Future[None]:
        async def change() -> ProviderSwitched:
            await self.link.ops.use_llm(spec)
            return ProviderSwitched("llm", spec)

        return self._switch("llm", spec, change, target)

    def use_prompt(self, name: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """The character's prompt file from the next utterance; the notice names its NAME@VERSION."""

        async def change() -> ProviderSwitched:
            return ProviderSwitched("prompt", await self.link.ops.use_prompt(name))

        return self._switch("prompt", name, change, target)

    def use_net(self, spec: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """Switch the emulator's network profile live (demo mode)."""

        async def change() -> ProviderSwitched:
            return ProviderSwitched("net", await self.link.ops.use_net(spec))

        return self._switch("net", spec, change, target)

    def use_tts(
        self, spec: str, output_format: str | None, target: MessagePump
    ) -> concurrent.futures.Future[None]:
        async def change() -> ProviderSwitched:
            fmt = output_format or self.link.output_format or None
            warm = await self.link.ops.use_tts(spec, fmt)
            if fmt:
                self.link.output_format = fmt
            return ProviderSwitched("tts", spec, warm)

        return self._switch("tts", spec, change, target)

    def set_instant(self, on: bool, target: MessagePump) -> concurrent.futures.Future[None]:
        """The picker's instant-reactions switch; a reason to stay off comes back as a failed switch."""

        async def run() -> None:
            reason = await self.link.ops.set_instant(on)
            target.post_message(ProviderSwitched("instant", "on" if on else "off", reason))

        return self.link.submit(run())

    def use_audio(self, spec: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """Switch the speaker live (the picker); the status bar then names the new device."""

        async def change() -> ProviderSwitched:
            return ProviderSwitched("audio", await self.link.ops.use_audio(spec))

        return self._switch("audio", spec, change, target, status_after_error=False)

    def set_audio_policy(self, policy: str, target: MessagePump) -> concurrent.futures.Future[None]:
        """While the speaker is gone: hold remarks (drop stale ones) or keep generating them unheard."""

        async def change() -> ProviderSwitched:
            await self.link.ops.set_audio_policy(policy)
            return ProviderSwitched("when audio lost", policy)

        return self._switch("when audio lost", policy, change, target, status_after_error=False)

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
