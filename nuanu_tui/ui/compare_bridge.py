"""The compare view's bridge: a round on two lanes, over the shared engine link (its loop and ops)."""

from __future__ import annotations

import concurrent.futures
from typing import cast

from textual.message_pump import MessagePump

from nuanu_tui.core.compare import (
    CompareConfig,
    CompareEvent,
    CompareFinished,
    CompareStarted,
    LaneAudible,
    LaneEvent,
)
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.votes import Winner, config_of, make_vote
from nuanu_tui.ui.link import EngineLink
from nuanu_tui.ui.messages import LaneHeard, RoundBegan, RoundDone, UtteranceView
from nuanu_tui.ui.views import tally_view, view_of


class CompareBridge:
    """Compare verbs; public methods are called from the UI thread and return at once."""

    def __init__(self, link: EngineLink) -> None:
        self.link = link

    def compare(
        self,
        trigger: str,
        lanes: tuple[str, str],
        audible: int | None,
        sequential: bool,
        screen: MessagePump,
        lane_targets: tuple[MessagePump, MessagePump],
        instant: tuple[bool, bool] = (False, False),
        prompts: tuple[str | None, str | None] = (None, None),
    ) -> concurrent.futures.Future[None]:
        """One compare round. Lane events go to `lane_targets` (coalesced like the console's), round events
        (RoundBegan, LaneHeard, RoundDone) to `screen`. Raises NuanuError for a bad config or an interrupt."""
        return self.link.submit(
            self._compare_round(trigger, lanes, audible, sequential, screen, lane_targets, instant, prompts)
        )

    async def _compare_round(
        self,
        trigger: str,
        lanes: tuple[str, str],
        audible: int | None,
        sequential: bool,
        screen: MessagePump,
        lane_targets: tuple[MessagePump, MessagePump],
        instant: tuple[bool, bool] = (False, False),
        prompts: tuple[str | None, str | None] = (None, None),
    ) -> None:
        if self.link.engine is None:
            raise NuanuError("engine", "the engine is not running")
        config = CompareConfig(
            lanes=lanes, audible=audible, sequential=sequential, instant=instant, prompts=prompts
        )
        config.validate()
        relays = (self.link.relay(lane_targets[0]), self.link.relay(lane_targets[1]))
        post = screen.post_message

        def on_event(event: CompareEvent) -> None:
            if isinstance(event, LaneEvent):
                relays[event.lane](event.event)
            elif isinstance(event, CompareStarted):
                post(RoundBegan(event.round, event.trigger, event.lanes, event.order, event.sequential))
            elif isinstance(event, LaneAudible):
                post(LaneHeard(event.round, event.lane))
            elif isinstance(event, CompareFinished):
                for relay in relays:
                    relay.flush()
                views = (view_of(event.results[0]), view_of(event.results[1]))
                post(
                    RoundDone(
                        event.round,
                        views,
                        tally_view(event.tally),
                        outcome=event.outcome,
                        winner=event.winner,
                        audible=event.audible,
                        start_skew_ms=event.start_skew_ms,
                    )
                )

        try:
            await self.link.ops.compare_round(config, trigger, on_event)
        except NuanuError as exc:
            if exc.kind == "engine":  # the engine died mid-round: lanes that had begun end as failed
                for relay, spec in zip(relays, lanes, strict=True):
                    if relay.started and relay.result is None:
                        self.link.remember(relay.end_failed(trigger, spec, exc, source="compare"))
            raise
        finally:
            for relay in relays:
                relay.flush()

    def arena_verdict(
        self, shown: tuple[UtteranceView, UtteranceView], winner: str | None
    ) -> tuple[str, str, bool]:
        """The configurations shown as A and B and whether a vote was stored: `winner` is a, b, tie or
        None (skipped). Two identical configurations, or no store, store nothing. The store's writer
        thread does the disk work."""
        a, b = config_of(shown[0]), config_of(shown[1])
        store = self.link.store
        if winner is None or a == b or store is None or not store.is_open:
            return a, b, False
        vote = make_vote(
            a,
            b,
            cast("Winner", winner),
            trigger=shown[0].trigger,
            operator=str(getattr(self.link.settings, "operator", "") or ""),
            utterances=(shown[0].utterance_id, shown[1].utterance_id),
            session_id=self.link.session("compare"),
        )
        store.record_vote(vote)
        return a, b, True

    def compare_stop(self) -> None:
        """Cancel the running round (both lanes) and silence them; the round is not counted."""
        if self.link.ops is not None:
            self.link.call_soon(self.link.ops.compare_interrupt)

    def compare_reset(self) -> None:
        if self.link.ops is not None:
            self.link.call_soon(self.link.ops.compare_reset)
