"""Camera frames on the wire: taken as sent, told from events by `"type": "detections"`, and refused with a
reason (counted as frames) when they are wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nuanu_tui.core.ride.events import MAX_EVENT_BYTES, Rejection, RideEvent, parse_event
from nuanu_tui.core.ride.frames import Detection, Frame

GOOD: dict[str, Any] = {
    "type": "detections",
    "camera": "front",
    "ts": 1796160155.04,
    "frame": 1234,
    "width": 1280,
    "height": 720,
    "detections": [
        {"label": "dog", "conf": 0.82, "box": [10, 20, 110, 220], "track_id": 17},
        {"label": "person", "conf": 1, "box": [600.5, 100, 700, 719.9]},
    ],
}


def test_a_frame_is_taken_as_sent() -> None:
    f = parse_event(json.dumps(GOOD), source="udp", received_at=5.0)
    assert isinstance(f, Frame)
    assert (f.camera, f.ts, f.frame, f.width, f.height, f.source, f.received_at) == (
        "front", 1796160155.04, 1234, 1280, 720, "udp", 5.0,
    )  # fmt: skip
    assert f.detections == (
        Detection("dog", 0.82, (10.0, 20.0, 110.0, 220.0), 17),
        Detection("person", 1.0, (600.5, 100.0, 700.0, 719.9), None),
    )
    assert f.to_json() == {
        **GOOD,
        "detections": [GOOD["detections"][0], {**GOOD["detections"][1], "conf": 1.0}],
    }


def test_ts_and_frame_are_optional() -> None:
    raw = {k: v for k, v in GOOD.items() if k not in ("ts", "frame")}
    f = parse_event(json.dumps(raw), source="ws", received_at=42.5)
    assert isinstance(f, Frame) and f.ts == 42.5 and f.frame is None
    assert "frame" not in f.to_json() and f.to_json()["ts"] == 42.5


def test_without_the_type_it_is_an_event() -> None:
    e = parse_event(json.dumps({"label": "dog", "side": "left"}), source="udp")
    assert isinstance(e, RideEvent)


def with_(**change: Any) -> str:
    return json.dumps({**GOOD, **change})


def det(**change: Any) -> str:
    return with_(detections=[{**GOOD["detections"][0], **change}])


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (with_(camera=""), "frame camera: String should match pattern"),
        (with_(camera="front cam"), "frame camera: String should match pattern"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "width"}), "frame width: Field required"),
        (with_(width=0), "frame width: Input should be greater than or equal to 1"),
        (with_(ts="now"), "frame ts: must be a number"),
        (with_(frame=-1), "frame frame: Input should be greater than or equal to 0"),
        (with_(detections={"label": "dog"}), "frame detections: Input should be a valid list"),
        (det(conf=1.2), "frame detections.0.conf: Input should be less than or equal to 1"),
        (det(conf="0.8"), "frame detections.0.conf: Input should be a valid number"),
        (det(box=[1, 2, 3]), "frame detections.0.box: four numbers"),
        (det(box=[10, 10, 5, 20]), "frame detections.0.box: x2 and y2 must not be smaller"),
        (det(box=[1, 2, 3, True]), "frame detections.0.box: four finite numbers"),
        (det(box=[0, 0, 2000, 100]), "frame detections.0.box: outside the 1280x720 frame"),
        (det(track_id=True), "frame detections.0.track_id: an integer or a short string"),
        (det(label=""), "frame detections.0.label: String should have at least 1 character"),
    ],
)
def test_malformed_frames_are_rejected_as_frames(raw: str, detail: str) -> None:
    r = parse_event(raw, source="udp")
    assert isinstance(r, Rejection)
    assert (r.reason, r.frame) == ("malformed", True)
    assert r.detail.startswith(detail), r.detail
    assert r.raw == raw  # a replay meets it again


def test_an_oversize_or_broken_frame_still_counts_as_a_frame() -> None:
    big = with_(detections=[GOOD["detections"][0]] * 200)
    assert len(big) > MAX_EVENT_BYTES
    r = parse_event(big.encode(), source="udp")
    assert isinstance(r, Rejection) and r.frame and r.detail.startswith("oversize")
    r = parse_event('{"type": "detections", "camera": "front", "width": 10', source="udp")
    assert isinstance(r, Rejection) and r.frame and r.detail == "not valid JSON"
    r = parse_event('{"label": "dog", "side": ', source="udp")
    assert isinstance(r, Rejection) and not r.frame


def test_a_frame_needs_the_token_like_an_event() -> None:
    r = parse_event(json.dumps(GOOD), source="udp", token="s3cret-token")
    assert isinstance(r, Rejection) and (r.reason, r.frame) == ("unauthorized", True)
    assert "s3cret" not in r.detail and r.raw is None
    f = parse_event(json.dumps({**GOOD, "token": "s3cret-token"}), source="udp", token="s3cret-token")
    assert isinstance(f, Frame) and "token" not in f.to_json()
