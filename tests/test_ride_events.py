"""Event schema: what becomes an event, and the one-line reason for everything that does not."""

from __future__ import annotations

import json

import pytest

from nuanu_tui.core.ride.events import MAX_EVENT_BYTES, Rejection, RideEvent, parse_event, trigger_of

TOKEN = "s3cret-events-token"


def test_a_full_event_is_taken_as_sent() -> None:
    raw = {
        "id": "cam-1",
        "ts": 1796160155.04,
        "label": "dog",
        "count": 2,
        "side": "left",
        "confidence": 0.87,
        "priority": "normal",
        "text": None,
    }
    e = parse_event(json.dumps(raw), source="udp", received_at=1796160155.5)
    assert isinstance(e, RideEvent)
    assert (e.id, e.ts, e.received_at, e.label, e.count, e.side, e.confidence, e.priority, e.source) == (
        "cam-1",
        1796160155.04,
        1796160155.5,
        "dog",
        2,
        "left",
        0.87,
        "normal",
        "udp",
    )
    assert trigger_of(e) == "две собаки слева"


def test_missing_id_and_ts_are_filled_on_arrival() -> None:
    a = parse_event(b'{"label": "cow"}', received_at=100.0)
    b = parse_event(b'{"label": "cow"}', received_at=101.0)
    assert isinstance(a, RideEvent) and isinstance(b, RideEvent)
    assert a.ts == 100.0 and b.ts == 101.0
    assert a.id and b.id and a.id != b.id
    assert (a.count, a.side, a.confidence, a.priority) == (1, None, 1.0, "normal")


@pytest.mark.parametrize(
    "raw",
    ["камера, слон на мопеде", '"камера, слон на мопеде"', '{"text": "камера, слон на мопеде"}'],
)
def test_text_is_the_trigger_as_is(raw: str) -> None:
    e = parse_event(raw)
    assert isinstance(e, RideEvent)
    assert e.text == "камера, слон на мопеде" and trigger_of(e) == "камера, слон на мопеде"


def test_text_wins_over_the_label() -> None:
    e = parse_event('{"label": "dog", "count": 2, "text": "две собаки дерутся за кокос"}')
    assert isinstance(e, RideEvent) and trigger_of(e) == "две собаки дерутся за кокос"


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"x" * (MAX_EVENT_BYTES + 1), f"oversize: {MAX_EVENT_BYTES + 1} bytes (at most {MAX_EVENT_BYTES})"),
        (
            "ё" * (MAX_EVENT_BYTES // 2 + 1),
            f"oversize: {MAX_EVENT_BYTES + 2} bytes (at most {MAX_EVENT_BYTES})",
        ),
        (b'{"label": "dog", "side": "\xff"}', "not UTF-8"),
        (b"   ", "empty message"),
        ('{"label": "dog",', "not valid JSON"),
        ('{"label": "dog", "confidence": NaN}', "not valid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ("{}", "needs a label or a text"),
        ('{"label": "unicorn"}', "label: unknown label 'unicorn' (see assets/labels.json)"),
        ('{"label": "dog", "count": "2"}', "count: Input should be a valid integer"),
        ('{"label": "dog", "count": true}', "count: Input should be a valid integer"),
        ('{"label": "dog", "count": 0}', "count: Input should be greater than or equal to 1"),
        ('{"label": "dog", "count": 1000}', "count: Input should be less than or equal to 999"),
        ('{"label": "dog", "confidence": 1.01}', "confidence: Input should be less than or equal to 1"),
        ('{"label": "dog", "confidence": -0.1}', "confidence: Input should be greater than or equal to 0"),
        ('{"label": "dog", "confidence": "high"}', "confidence: Input should be a valid number"),
        ('{"label": "dog", "side": "up"}', "side: Input should be 'left', 'right', 'ahead' or 'behind'"),
        ('{"label": "dog", "priority": "urgent"}', "priority: Input should be 'normal', 'high' or 'safety'"),
        ('{"label": "dog", "ts": "yesterday"}', "ts: must be a number (seconds since the epoch)"),
        ('{"label": "dog", "ts": -5}', "ts: must be a positive finite number"),
        ('{"label": "dog", "ts": true}', "ts: must be a number (seconds since the epoch)"),
        ('{"label": "dog", "id": 17}', "id: Input should be a valid string"),
        ('{"label": "dog", "id": ""}', "id: String should have at least 1 character"),
        ('{"text": "\\u0000\\u0001"}', "text: empty after cleaning"),
        ('{"text": "' + "a" * 501 + '"}', "text: String should have at most 500 characters"),
    ],
)
def test_malformed_events_are_rejected_with_a_reason(raw: bytes | str, detail: str) -> None:
    r = parse_event(raw, source="ws")
    assert isinstance(r, Rejection)
    assert (r.reason, r.detail, r.source) == ("malformed", detail, "ws")
    assert r.id  # every rejection is an event with an id of its own


def test_the_token_is_checked_before_the_event_and_never_echoed() -> None:
    ok = parse_event(json.dumps({"label": "dog", "token": TOKEN}), token=TOKEN)
    assert isinstance(ok, RideEvent) and ok.label == "dog"
    for raw in (
        {"label": "dog"},
        {"label": "dog", "token": TOKEN + "x"},
        {"label": "dog", "token": 5},
        {"label": "unicorn", "token": "wrong"},  # unauthorized wins over malformed: nothing is validated
    ):
        r = parse_event(json.dumps(raw), token=TOKEN)
        assert isinstance(r, Rejection) and r.reason == "unauthorized" and r.raw is None
        assert TOKEN not in r.detail
    assert parse_event("plain text", token=TOKEN).reason == "unauthorized"  # type: ignore[union-attr]


def test_the_last_remarks_go_briefly_into_the_prompt_as_data() -> None:
    from nuanu_tui.core.llm.prompt_files import default_system
    from nuanu_tui.core.llm.prompts import RECENT_CHARS, build_messages

    plain = build_messages("две собаки слева", "ru")
    assert plain[0]["content"] == default_system("ru")
    long = "Очень длинная шутка " * 20
    recent = ("Собаки опять на посту!", 'Скутер "обгоняет"\nвсех', long)
    system = build_messages("две собаки слева", "ru", recent)[0]["content"]
    assert system.startswith(default_system("ru"))
    assert '"Собаки опять на посту!"' in system
    assert '"Скутер \\"обгоняет\\" всех"' in system  # quoted data: no line break, quotes escaped
    assert json.dumps(long.strip()[:RECENT_CHARS], ensure_ascii=False) in system
    assert long.strip() not in system  # cut short
    assert build_messages("две собаки слева", "ru", recent)[1] == plain[1]  # the user message is unchanged
