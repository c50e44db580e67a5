"""The per-utterance event sink every bridge uses: engine events in (on the engine loop), Textual messages out,
coalesced and held so the UI works at screen rate and never competes with the first audio."""

from __future__ import annotations

import asyncio
import time

from textual.message import Message
from textual.message_pump import MessagePump

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.events import Notice, StageReached, TextDelta, UtteranceFinished, UtteranceStarted
from nuanu_tui.core.timeline import STAGES, UtteranceResult
from nuanu_tui.ui.messages import (
    NoticeArrived,
    StageArrived,
    TextArrived,
    UtteranceBegan,
    UtteranceDone,
    UtteranceView,
)
from nuanu_tui.ui.views import view_of

FLUSH_INTERVAL_S = 1 / 30
HOLD_MAX_S = 1.0  # never hold UI updates longer than this while waiting for the first audio


class Relay:
    """Per-utterance event sink, called on the engine loop. Returns at once; never waits on the UI.

    Between the trigger and the first sample handed to the device, the UI would mount a card and render text
    and bars while the engine races for the GIL on its critical path. Those updates are held for that window
    (at most HOLD_MAX_S) and posted together the moment audio starts: the card appears as the remark is heard.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, target: MessagePump) -> None:
        self._loop = loop
        self._target = target
        self._held: list[Message] | None = None
        self._hold_timer: asyncio.TimerHandle | None = None
        self._text: list[str] = []
        self._uid = ""
        self._timer: asyncio.TimerHandle | None = None
        self._last_flush = -1.0
        self.started = False  # the engine began speaking it (it is no longer only queued)
        self.result: UtteranceResult | None = None
        self._began: UtteranceStarted | None = None  # what it saw, for a record if the engine dies
        self._said: list[str] = []
        self._stages: dict[str, float | None] = dict.fromkeys(STAGES)

    def __call__(self, event: object) -> None:
        if isinstance(event, TextDelta):
            self._uid = event.utterance_id
            self._text.append(event.text)
            self._said.append(event.text)
            if self._timer is None:
                wait = self._last_flush + FLUSH_INTERVAL_S - self._loop.time()
                if wait <= 0:
                    self.flush()  # the first words show at once; later ones are batched
                else:
                    self._timer = self._loop.call_later(wait, self.flush)
            return
        self.flush()  # keep order: all text before this event is posted first
        post = self._post
        if isinstance(event, UtteranceStarted) and self._held is None:
            self._held = []
            self._hold_timer = self._loop.call_later(HOLD_MAX_S, self.release)
        if isinstance(event, StageReached):
            self._stages[event.stage] = event.ms
            post(StageArrived(event.utterance_id, event.stage, event.ms))
            if event.stage == "first_audio":
                self.release()
        elif isinstance(event, UtteranceStarted):
            self.started = True
            self._began, self.result = event, None  # a bench relay carries one utterance after another
            self._said, self._stages = [], dict.fromkeys(STAGES)
            post(
                UtteranceBegan(
                    UtteranceView(
                        utterance_id=event.utterance_id,
                        trigger=event.trigger,
                        llm=event.llm,
                        tts=event.tts,
                        started_at=event.started_at,
                        offline=event.offline,
                        simulated=event.simulated,
                    )
                )
            )
        elif isinstance(event, Notice):
            post(NoticeArrived(event.utterance_id, event.message))
        elif isinstance(event, UtteranceFinished):
            self.release()
            self.result = event.result
            post(UtteranceDone(view_of(event.result)))

    def end_failed(
        self, trigger: str, llm: str, error: NuanuError, source: str = "console"
    ) -> UtteranceResult:
        """The engine died under this utterance: end it as failed with what was seen (its card too), or,
        if it was still queued, as dropped. Returns the record."""
        began = self._began
        result = UtteranceResult(
            trigger=began.trigger if began else trigger,
            llm=began.llm if began else llm,
            tts=began.tts if began else "",
            text="".join(self._said).strip(),
            stages_ms=dict(self._stages),
            offline=began.offline if began else False,
            simulated=began.simulated if began else False,
            utterance_id=began.utterance_id if began else f"lost-{id(self):x}",
            started_at=began.started_at if began else time.time(),
            source=source,
            error=error.message,
            error_kind=error.kind,
            mark=None if began else "dropped",
        )
        self(UtteranceFinished(result))
        return result

    def _post(self, message: Message) -> None:
        if self._held is not None:
            self._held.append(message)
        else:
            self._target.post_message(message)

    def release(self) -> None:
        """Post everything held, in order, and stop holding."""
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        held, self._held = self._held, None
        for message in held or ():
            self._target.post_message(message)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._text:
            text = "".join(self._text)
            self._text.clear()
            self._last_flush = self._loop.time()
            self._post(TextArrived(self._uid, text))
