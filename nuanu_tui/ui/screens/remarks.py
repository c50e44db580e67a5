"""The remark being spoken, drawn as its messages arrive: a transcript card and the latency waterfall. The
console and the ride view share these handlers; each says only which utterance the waterfall follows and
what it keeps once a remark is done."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar, cast

from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input

from nuanu_tui.ui.messages import StageArrived, TextArrived, UtteranceBegan, UtteranceDone, UtteranceView
from nuanu_tui.ui.widgets.transcript import Transcript
from nuanu_tui.ui.widgets.waterfall import Waterfall

if TYPE_CHECKING:
    from nuanu_tui.ui.host import NuanuHost


class RemarkScreen(Screen[None]):
    """A screen with one Transcript and one Waterfall, fed by a bridge's utterance messages (O(1) each).

    `+` and `-` rate the selected card (the newest when none is selected). They are priority keys so they
    work while the trigger input has focus, but step aside (SkipAction) once something is typed there: a
    hyphen inside a trigger is text, not a rating."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus", "rate(1)", "Like", priority=True, show=False, id="remark-like"),
        Binding("minus", "rate(-1)", "Dislike", priority=True, show=False, id="remark-dislike"),
    ]

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

    # --- quick ratings ---------------------------------------------------------------------------------
    def action_rate(self, rating: int) -> None:
        """Rate the selected (else the newest) card; the same key again takes the rating back."""
        if any(i.has_focus and i.value for i in self.query(Input)):
            raise SkipAction()  # the operator is typing: the key is a character
        transcript = self.query_one(Transcript)
        uid = transcript.selected if transcript.selected in transcript.cards else None
        if uid is None and transcript.cards:
            uid = list(transcript.cards)[-1]
        if uid is None:
            self.notify("Nothing to rate yet.", timeout=2)
            return
        card = transcript.cards[uid]
        view = card.view  # the final view once done; a playing remark's is re-stored when it ends
        if view.error:
            self.notify("A failed remark is not rated.", timeout=2)
            return
        new = None if card.rating == rating else rating
        if not cast("NuanuHost", self.app).link.rate(view, new):
            self.notify("No database: the rating is not stored.", severity="warning", timeout=3)
            return
        card.set_rating(new)

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
            if card.rating is not None:  # rated while it played: store it again under who really spoke
                cast("NuanuHost", self.app).link.rate(view, card.rating)
        if self.follows(view.utterance_id):
            self.query_one(Waterfall).view = view
        self.finished(view)
