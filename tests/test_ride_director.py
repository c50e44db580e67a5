"""The director's policy table: each rule, its boundary values, and the order in which rules apply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from nuanu_tui.core.config import Settings
from nuanu_tui.core.ride.director import Director, DirectorConfig
from nuanu_tui.core.ride.events import RideEvent

T = 1_000.0  # ride time of the decision


def ev(label: str = "dog", side: str | None = "left", *, age: float = 0.0, conf: float = 0.9, prio: str = "normal",
       eid: str = "e") -> RideEvent:  # fmt: skip
    return RideEvent(eid, T - age, T - age, label, 1, side, conf, prio)


def fresh() -> Director:
    return Director(DirectorConfig())


def spoke(key_label: str, side: str | None, ago: float) -> Callable[[Director], None]:
    """A remark about `key_label` started `ago` seconds ago and ended at once."""

    def setup(d: Director) -> None:
        d.started(ev(key_label, side), T - ago)
        d.ended(T - ago)

    return setup


def playing(d: Director) -> None:
    d.started(ev("temple", "right"), T - 1.0)


def rate_full(n: int, oldest: float = 59.0) -> Callable[[Director], None]:
    """`n` remarks started one second apart, the first `oldest` seconds ago (all long out of cooldown)."""

    def setup(d: Director) -> None:
        for i in range(n):
            t = T - oldest + i
            d.started(ev("cow", f"x{i}"), t)  # type: ignore[arg-type]
            d.ended(t)

    return setup


def paused(d: Director) -> None:
    d.config.paused = True


def both(*fs: Callable[[Director], None]) -> Callable[[Director], None]:
    def setup(d: Director) -> None:
        for f in fs:
            f(d)

    return setup


def none(d: Director) -> None:
    return None


CASES = [
    # (name, setup, event, expected decision, expected reason)
    ("fresh event speaks", none, ev(), "spoken", "ok"),
    # stale: older than 1500 ms when it would start
    ("age exactly stale_ms is fine", none, ev(age=1.5), "spoken", "ok"),
    ("age just over stale_ms", none, ev(age=1.501), "skipped", "stale"),
    # low_confidence: below 0.5
    ("confidence exactly 0.5 is fine", none, ev(conf=0.5), "spoken", "ok"),
    ("confidence just below 0.5", none, ev(conf=0.4999), "skipped", "low_confidence"),
    # duplicate: same label and side in the last 20 s
    ("same label+side 19.9 s ago", spoke("dog", "left", 19.9), ev(), "skipped", "duplicate"),
    ("same label+side exactly 20 s ago", spoke("dog", "left", 20.0), ev(), "spoken", "ok"),
    ("same label, other side", spoke("dog", "right", 10.0), ev(), "spoken", "ok"),
    ("same side, other label", spoke("cow", "left", 10.0), ev(), "spoken", "ok"),
    # cooldown: less than 6 s since the last remark ended
    ("remark ended 5.9 s ago", spoke("cow", "ahead", 5.9), ev(), "skipped", "cooldown"),
    ("remark ended exactly 6 s ago", spoke("cow", "ahead", 6.0), ev(), "spoken", "ok"),
    # rate_limit: more than 6 remarks in the last minute
    ("six remarks in the minute", rate_full(6), ev(), "skipped", "rate_limit"),
    ("five remarks in the minute", rate_full(5), ev(), "spoken", "ok"),
    ("six remarks, the oldest exactly 60 s ago", rate_full(6, oldest=60.0), ev(), "spoken", "ok"),
    # busy: a remark is playing -> the event waits in the slot
    ("remark playing", playing, ev(), "held", "busy"),
    # paused
    ("paused", paused, ev(), "skipped", "paused"),
    # safety: bypasses cooldown, dedup, rate limit and pause; barges in on a playing remark
    ("safety while playing", playing, ev(prio="safety"), "spoken", "barge_in"),
    ("safety in cooldown", spoke("cow", "ahead", 1.0), ev(prio="safety"), "spoken", "ok"),
    ("safety duplicate", spoke("dog", "left", 1.0), ev(prio="safety"), "spoken", "ok"),
    ("safety over the rate", rate_full(6), ev(prio="safety"), "spoken", "ok"),
    ("safety while paused", paused, ev(prio="safety"), "spoken", "ok"),
    # order: the first matching rule decides
    ("stale before low_confidence", none, ev(age=3, conf=0.1), "skipped", "stale"),
    ("low_confidence before safety", playing, ev(conf=0.1, prio="safety"), "skipped", "low_confidence"),
    ("stale safety is not said", playing, ev(age=3, prio="safety"), "skipped", "stale"),
    ("low_confidence before paused", paused, ev(conf=0.1), "skipped", "low_confidence"),
    ("paused before duplicate", both(spoke("dog", "left", 1.0), paused), ev(), "skipped", "paused"),
    ("duplicate before rate_limit", both(rate_full(6), spoke("dog", "left", 10.0)), ev(), "skipped", "duplicate"),
    ("rate_limit before busy", both(rate_full(6), playing), ev(), "skipped", "rate_limit"),
    ("busy before cooldown", both(spoke("cow", "ahead", 1.0), playing), ev(), "held", "busy"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "setup", "event", "decision", "reason"), CASES, ids=[c[0] for c in CASES])
def test_policy_table(
    name: str, setup: Callable[[Director], None], event: RideEvent, decision: str, reason: str
) -> None:
    d = fresh()
    setup(d)
    verdicts = d.judge(event, T)
    assert [(v.decision, v.reason) for v in verdicts] == [(decision, reason)]


def test_busy_slot_keeps_the_newest_and_skips_the_older() -> None:
    d = fresh()
    playing(d)
    first, second = ev("cow", "left", eid="a"), ev("pig", "left", eid="b")
    assert [(v.event.id, v.decision) for v in d.judge(first, T)] == [("a", "held")]
    assert [(v.event.id, v.decision, v.reason) for v in d.judge(second, T)] == [
        ("a", "skipped", "busy"),
        ("b", "held", "busy"),
    ]
    assert d.ended(T + 1) is second and d.held is None


def test_high_goes_before_normal_in_the_slot() -> None:
    d = fresh()
    playing(d)
    high, normal, high2 = (
        ev("truck", "ahead", prio="high", eid="h"),
        ev("cow", eid="n"),
        ev("bus", prio="high", eid="h2"),
    )
    d.judge(high, T)
    assert [(v.event.id, v.decision, v.reason) for v in d.judge(normal, T)] == [("n", "skipped", "busy")]
    assert d.held is high
    assert [(v.event.id, v.decision) for v in d.judge(high2, T)] == [("h", "skipped"), ("h2", "held")]


def test_the_waiting_event_is_judged_again_when_the_remark_ends() -> None:
    d = Director(DirectorConfig(cooldown_s=0.0))
    playing(d)
    waiting = ev("cow", "right")
    d.judge(waiting, T)
    back = d.ended(T + 1.0)
    assert back is waiting
    assert [(v.decision, v.reason) for v in d.judge(waiting, T + 1.0)] == [("spoken", "ok")]
    late = d.ended(T + 1.0)  # nothing waits any more
    assert late is None
    d2 = fresh()
    playing(d2)
    d2.judge(waiting, T)
    assert [(v.decision, v.reason) for v in d2.judge(d2.ended(T + 2.0), T + 2.0)] == [("skipped", "stale")]  # type: ignore[arg-type]


def test_settings_come_from_the_environment_and_edit_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUANU_STALE_MS", "800")
    monkeypatch.setenv("NUANU_MIN_CONFIDENCE", "0.7")
    monkeypatch.setenv("NUANU_DEDUP_S", "5")
    monkeypatch.setenv("NUANU_COOLDOWN_S", "2")
    monkeypatch.setenv("NUANU_MAX_PER_MIN", "3")
    config = DirectorConfig.from_settings(Settings())
    assert config == DirectorConfig(800.0, 0.7, 5.0, 2.0, 3, False)
    d = Director(config)
    assert d.judge(ev(conf=0.6), T)[0].reason == "low_confidence"
    d.config.update(min_confidence="0.55", paused=True)
    assert d.judge(ev(conf=0.6), T)[0].reason == "paused"
    d.config.update(paused=False)
    assert d.judge(ev(conf=0.6), T)[0].reason == "ok"
    with pytest.raises(ValueError, match="unknown director setting"):
        d.config.update(volume=3)
    with pytest.raises(ValueError, match="must not be negative"):
        d.config.update(cooldown_s=-1)
    assert replace(config) == config
