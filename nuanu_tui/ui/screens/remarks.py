"""The remark being spoken, drawn as its messages arrive: a transcript card and the latency waterfall. The
console and the ride view share these handlers; each says only which utterance the waterfall follows and
what it keeps once a remark is done."""

from __future__ import annotations

import dataclasses

from textual.screen import Screen

from nuanu_tui.ui.messages import StageArrived, TextArrived, UtteranceBegan, UtteranceDone, UtteranceView
from nuanu_tui.ui.widgets.transcript import Transcript
from nuanu_tui.ui.widgets.waterfall import Waterfall


class RemarkScreen(Screen[None]):
    """A screen with one Transcript and one Waterfall, fed by a bridge's utterance messages (O(1) each)."""

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[str, UtteranceView] = {}  # remarks seen, by utterance id, as last updated

    # --- what each screen decides ----------------------------------------------------------------------
    def follows(self, utterance_id: str) -> bool:
        """Whether the waterfall shows this utterance's updates (every one, unless a screen pins a card)."""
        return True

    def began(self, view: UtteranceView) -> None:
        """A remark's card was just added."""

    def finished(self, view: UtteranceView) -> None:
        """A remark ended (its card and the waterfall are up to date)."""

    # --- bridge messages -------------------------------------------------------------------------------
    async def on_utterance_began(self, message: UtteranceBegan) -> None:
        view = message.view
        self.views[view.utterance_id] = view
        await self.query_one(Transcript).add(view)
        self.began(view)
        self.query_one(Waterfall).view = view

    def on_text_arrived(self, message: TextArrived) -> None:
        card = self.query_one(Transcript).card(message.utterance_id)
        if card is not None:
            card.append_text(message.text)

    def on_stage_arrived(self, message: StageArrived) -> None:
        uid = message.utterance_id
        view = self.views.get(uid)
        if view is None:
            return
        self.views[uid] = view = dataclasses.replace(
            view, stages_ms={**view.stages_ms, message.stage: message.ms}
        )
        card = self.query_one(Transcript).card(uid)
        if card is not None:
            card.add_stage(message.stage, message.ms)
        if self.follows(uid):
            self.query_one(Waterfall).view = view

    def on_utterance_done(self, message: UtteranceDone) -> None:
        view = message.view
        card = self.query_one(Transcript).card(view.utterance_id)
        if card is not None:
            card.finish(view)
        if self.follows(view.utterance_id):
            self.query_one(Waterfall).view = view
        self.finished(view)
