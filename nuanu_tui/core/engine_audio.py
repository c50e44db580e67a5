"""The engine's audio outputs: the speaker, its silent stand-ins, and what to do while the speaker is lost.

A base class of `Engine`, kept apart from the utterance API (`Engine.say`) because outputs have their own
life: a device is swapped on the operator's word, lost and found again by the player, never per remark.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.audio.player import Player
from nuanu_tui.core.audio.sinks import make_sink
from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine_status import lost_line
from nuanu_tui.core.errors import ConfigError
from nuanu_tui.core.events import Notice, PipelineEvent
from nuanu_tui.core.tts.base import TTSProvider


class AudioOutputs:
    """Output switches and the lost-speaker policy over the state `Engine.__init__` sets up."""

    settings: Settings
    tts: TTSProvider
    player: Player
    audio_policy: str
    _silent: Player | None
    _unheard: Player | None
    _lock: asyncio.Lock

    def silent_player(self) -> Player:
        """A real-time paced silent output with the same rate, for a compare lane that is not heard."""
        if self._silent is None:
            self._silent = Player(make_sink("null"))
            self._silent.start(self.tts.format.sample_rate)
        return self._silent

    def unheard_player(self) -> Player:
        """A paced silent stand-in for the lost speaker ("keep" policy): stages run, nothing is heard."""
        if self._unheard is None:
            self._unheard = Player(NullSink(name="not heard"), heard=False)
            self._unheard.start(self.tts.format.sample_rate)
        return self._unheard

    def set_audio_policy(self, policy: str) -> None:
        """What to do while the speaker is gone: "hold" remarks (dropping stale ones) or "keep" generating."""
        if policy not in ("hold", "keep"):
            raise ConfigError(f"bad audio-lost policy {policy!r}: use hold or keep")
        self.audio_policy = policy

    async def use_audio(self, spec: str) -> None:
        """Switch the output device live (between utterances); the old one is closed after the swap."""
        player = Player(make_sink(spec))
        await asyncio.to_thread(player.start, self.tts.format.sample_rate)
        async with self._lock:
            old, self.player = self.player, player
        await asyncio.to_thread(old.close)

    async def _speaker_for(self, uid: str, on_event: Callable[[PipelineEvent], None] | None) -> Player | None:
        """The player for the next remark when the speaker may be gone. None: drop the remark (stale).

        Hold: wait for the device (it is retried now) up to `audio_stale_s`. Keep: a silent stand-in.
        """
        player = self.player
        lost = player.check()
        if lost is None:
            return player
        player.retry_now()
        if self.audio_policy == "keep":
            if on_event is not None:
                on_event(Notice(uid, f"not heard: the speaker is lost ({lost_line(lost)})"))
            return self.unheard_player()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.audio_stale_s
        while loop.time() < deadline:
            if await asyncio.to_thread(player.wait_back, min(0.25, max(0.0, deadline - loop.time()))):
                return player
        return None
