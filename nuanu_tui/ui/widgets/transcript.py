"""The live transcript: one card per utterance; remark text arrives already coalesced by the bridge."""

from __future__ import annotations

from datetime import datetime

from rich.markup import escape
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from nuanu_tui.ui.messages import UtteranceView
from nuanu_tui.ui.widgets.steady import SteadyStatic, quiet_virtual_size


def ttfa_badge(ms: float | None) -> str:
    """The operator's one-glance verdict on time to first audio."""
    if ms is None:
        return "—"
    if ms < 700:
        return "🔥"
    if ms < 1200:
        return "✅"
    if ms < 2000:
        return "⚠️"
    return "❌"


def flag_badges(flags: tuple[str, ...] | None) -> str:
    """The quality rubric's flags as small badges (markup); "" when not judged, a quiet tick when clean."""
    if flags is None:
        return ""
    if not flags:
        return "[dim]✓ clean[/]"
    return " ".join(f"[reverse $warning] {flag} [/]" for flag in flags)


def spoke_line(v: UtteranceView) -> str:
    """`llm → tts` as asked; once done, who really spoke, with what was asked when that differs."""
    asked = f"{v.llm} → {v.tts}"
    if not v.done or (v.served_by is None and not v.voiced_by):
        return asked
    spoke = f"{v.served_by or '—'} → {' + '.join(v.voiced_by) or '—'}"
    return spoke if spoke == asked else f"{spoke} (asked {asked})"


STRIP = (("ttft", "TTFT"), ("first_flush", "flush"), ("first_audio", "audio"), ("playback_done", "done"))


def stage_strip(stages: dict[str, float | None], done: bool) -> str:
    """`TTFT 212 · flush 231 · audio 384 · done 1,530 ms`: the card's stages on one row (markup), readable
    at 60 columns without the waterfall; `…` for a stage still to come, `—` for one never reached."""
    cells = []
    for stage, label in STRIP:
        ms = stages.get(stage)
        value = f"{ms:,.0f}" if ms is not None else ("—" if done else "…")
        cells.append(f"{label} [b]{value}[/]")
    return " · ".join(cells) + " ms"


def clock_time(started_at: float) -> str:
    return datetime.fromtimestamp(started_at).strftime("%H:%M:%S") if started_at else "--:--:--"


class UtteranceCard(Widget, can_focus=True):
    """Header (time, trigger, specs, badges), the remark, and a footer with TTFA or the error."""

    DEFAULT_CSS = """
    UtteranceCard { height: auto; padding: 0 1; margin: 0 0 1 0; border-left: wide $panel; }
    UtteranceCard.-selected { border-left: wide $accent; background: $boost; }
    UtteranceCard:focus { border-left: wide $accent-lighten-1; }
    UtteranceCard > SteadyStatic { height: auto; }
    UtteranceCard > .card--text { color: $text; }
    UtteranceCard > .card--foot { color: $text-muted; }
    UtteranceCard.-error > .card--foot { color: $error; }
    """

    virtual_size = quiet_virtual_size()  # a new card's size needs no second layout

    class Selected(Message):
        def __init__(self, utterance_id: str) -> None:
            super().__init__()
            self.utterance_id = utterance_id

    def __init__(self, view: UtteranceView) -> None:
        super().__init__(id=f"card-{view.utterance_id}")
        self.view = view
        self.text_parts: list[str] = []
        self.notices: list[str] = []
        self.stages: dict[str, float] = {}
        self.rating: int | None = None  # the operator's quick rating: +1, -1 or none
        # Kept, not queried: the live card is updated up to 30 times a second.
        self._head_w = SteadyStatic(self._head(), classes="card--head", markup=True)
        self._text_w = SteadyStatic("…", classes="card--text", markup=False)
        self._foot_w = SteadyStatic(self._foot(), classes="card--foot", markup=True)

    def compose(self) -> ComposeResult:
        yield self._head_w
        yield self._text_w
        yield self._foot_w

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def _head(self) -> str:
        v = self.view
        badges = ""
        if v.offline:
            badges += " [reverse $warning] OFFLINE [/]"
        if v.simulated:
            badges += " [reverse $secondary] SIMULATED [/]"
        if v.degraded:
            badges += " [reverse $warning] DEGRADED [/]"
        if self.rating is not None:
            badges += (
                " [reverse $success] + liked [/]" if self.rating > 0 else " [reverse $error] − disliked [/]"
            )
        prompt = f" [dim]· {escape(v.prompt)}[/]" if v.prompt else ""
        return (
            f"[dim]{clock_time(v.started_at)}[/]  [b]«{escape(v.trigger)}»[/]\n"
            f"[dim]{escape(spoke_line(v))}[/]{prompt}{badges}"
        )

    def _foot(self) -> str:
        v = self.view
        notes = "".join(f"\n[dim]note: {escape(n)}[/]" for n in self.notices)
        badges = flag_badges(v.flags) if v.done else ""
        notes = f"\n{badges}{notes}" if badges else notes
        if v.done and v.error:
            kind = f"{v.error_kind}: " if v.error_kind else ""
            ttfa = f"  TTFA {v.ttfa:.0f} ms" if v.ttfa is not None else ""
            strip = "\n" + stage_strip(v.stages_ms, True)  # also when none was reached: same height
            return f"✖ {escape(kind + v.error)}{ttfa}{strip}{notes}"
        stages: dict[str, float | None] = {**self.stages} if not v.done else v.stages_ms
        strip = "\n" + stage_strip(stages, v.done)
        ttfa = stages.get("first_audio") if not v.done else v.ttfa
        byte = stages.get("first_audio_byte")
        if ttfa is None:
            state = "done" if v.done else "streaming…"
            return f"TTFA — {state}{strip}{notes}"
        first_byte = f" · first byte {byte:.0f} ms" if byte is not None else ""
        tail = "" if v.done else " · playing…"
        return f"TTFA [b]{ttfa:.0f} ms[/] {ttfa_badge(ttfa)}{first_byte}{tail}{strip}{notes}"

    def append_text(self, text: str) -> None:
        self.text_parts.append(text)
        self._text_w.show(self.text)

    def add_stage(self, stage: str, ms: float) -> None:
        self.stages[stage] = ms
        if stage in ("first_audio_byte", *(name for name, _ in STRIP)):
            self._foot_w.show(self._foot())

    def add_notice(self, message: str) -> None:
        self.notices.append(message)
        self._foot_w.show(self._foot())

    def finish(self, view: UtteranceView) -> None:
        self.view = view
        if view.text and view.text != self.text.strip():
            self.text_parts = [view.text]
        self._text_w.show(self.text.strip() or ("—" if view.error else "…"))
        self._head_w.show(self._head())
        self._foot_w.show(self._foot())
        self.set_class(bool(view.error), "-error")

    def set_rating(self, rating: int | None) -> None:
        self.rating = rating
        self._head_w.show(self._head())

    def on_click(self, event: events.Click) -> None:
        self.post_message(self.Selected(self.view.utterance_id))

    def on_key(self, event: events.Key) -> None:
        if event.key in ("enter", "space"):
            event.stop()
            self.post_message(self.Selected(self.view.utterance_id))


MAX_CARDS = 20  # older remarks stay in the history view (SQLite)
KEEP_CARDS = 10  # trimmed down to this in one go: a removal costs a screen-wide layout of its own


class Transcript(VerticalScroll):
    """Cards in arrival order; follows the newest card unless the operator scrolled up."""

    DEFAULT_CSS = """
    Transcript { height: 1fr; }
    Transcript > #transcript-empty { color: $text-muted; padding: 1 2; }
    """

    virtual_size = quiet_virtual_size()  # grows with each card; its layout already updated the scrollbars

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.cards: dict[str, UtteranceCard] = {}
        self.selected: str | None = None
        self._empty: Static | None = Static(
            "No utterances yet. Type what the camera sees and press Enter, or press F1–F5 for a seed trigger.",
            id="transcript-empty",
        )

    def compose(self) -> ComposeResult:
        if self._empty is not None:
            yield self._empty

    def card(self, utterance_id: str) -> UtteranceCard | None:
        return self.cards.get(utterance_id)

    async def add(self, view: UtteranceView) -> UtteranceCard:
        if self._empty is not None:
            await self._empty.remove()
            self._empty = None
        card = UtteranceCard(view)
        self.cards[view.utterance_id] = card
        await self.mount(card)
        await self._trim()
        self.scroll_end(animate=False)
        return card

    async def _trim(self) -> None:
        """Keep the DOM small: layout cost grows with every mounted card, and history keeps them all.

        Past MAX_CARDS, the oldest go down to KEEP_CARDS at once, so one utterance in ten pays for a removal
        (its layout), not every one; the selected card and those after it stay."""
        if len(self.cards) <= MAX_CARDS:
            return
        old: list[UtteranceCard] = []
        for uid in list(self.cards)[: len(self.cards) - KEEP_CARDS]:
            if uid == self.selected:
                break
            old.append(self.cards.pop(uid))
        if old:
            await self.remove_children(old)

    def select(self, utterance_id: str | None) -> None:
        self.selected = utterance_id
        for uid, card in self.cards.items():
            card.set_class(uid == utterance_id, "-selected")
        if utterance_id in self.cards:
            self.scroll_to_widget(self.cards[utterance_id], animate=False)

    def step(self, delta: int) -> str | None:
        """Select the previous (-1) or next (+1) card; returns its id."""
        ids = list(self.cards)
        if not ids:
            return None
        i = ids.index(self.selected) if self.selected in ids else len(ids) - 1  # the live (newest) card
        uid = ids[max(0, min(len(ids) - 1, i + delta))]
        self.select(uid)
        return uid
