"""The tracker as a table: frames in (30 fps unless a row says otherwise), the events it emits out.

Every row is a small scripted scene. Boxes are 100 px squares on a 1200 px wide frame (thirds at 400 and 800),
given by their centre's x. An expected event is (camera, label, side, count); counts of ignored detections
are checked where a row is about them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from nuanu_tui.core.ride.events import RideEvent, parse_event
from nuanu_tui.core.ride.frames import Detection, Frame
from nuanu_tui.core.ride.tracker import Tracker, TrackerConfig, iou, tracker_config

W, H = 1200, 720
FPS = 30.0
T0 = 1_796_160_000.0


def det(label: str, x: float, conf: float = 0.9, tid: int | str | None = None, y: float = 300) -> Detection:
    return Detection(label, conf, (x - 50, y - 50, x + 50, y + 50), tid)


def frame(i: int, *dets: Detection, cam: str = "front", fps: float = FPS, number: bool = True) -> Frame:
    ts = T0 + i / fps
    return Frame(cam, ts, W, H, dets, received_at=ts, frame=i if number else None, source="udp")


@dataclass
class Scene:
    frames: list[Frame]
    events: list[tuple[str, str, str, int]]
    config: dict[str, Any] = field(default_factory=dict)
    check: Callable[[Tracker, list[RideEvent]], None] | None = None


def steady() -> Scene:
    return Scene([frame(i, det("dog", 200, tid=17)) for i in range(10)], [("front", "dog", "left", 1)])


def two_frames_are_not_enough() -> Scene:
    return Scene([frame(0, det("dog", 200, tid=1)), frame(1, det("dog", 200, tid=1))], [])


def hits_must_fall_in_the_window() -> Scene:
    # 3 hits, but 200 ms apart: never 3 within 300 ms.
    return Scene([frame(i * 6, det("dog", 200, tid=1)) for i in range(3)], [])


def one_frame_glitch() -> Scene:
    frames = [frame(i, det("dog", 200, tid=1)) for i in range(6)]
    frames[3] = frame(3, det("dog", 200, tid=1), det("cat", 1000, tid=99))
    return Scene(frames, [("front", "dog", "left", 1)])


def flicker_changes_nothing() -> Scene:
    # Confirmed, then missing for 2 frames, then back, then missing again for 10 (330 ms < 1 s).
    seen = [i for i in range(40) if i not in (5, 6) and not 20 <= i < 30]
    return Scene([frame(i, det("dog", 200, tid=5)) for i in seen], [("front", "dog", "left", 1)])


def flicker_without_track_ids() -> Scene:
    seen = [i for i in range(30) if i % 4 != 3]  # every fourth frame drops the box
    return Scene([frame(i, det("dog", 200 + (i % 3) * 6)) for i in seen], [("front", "dog", "left", 1)])


def low_confidence_never_counts() -> Scene:
    def check(tracker: Tracker, events: list[RideEvent]) -> None:
        assert tracker.low_confidence == 10

    return Scene([frame(i, det("dog", 200, conf=0.49, tid=1)) for i in range(10)], [], check=check)


def confidence_exactly_at_the_threshold_counts() -> Scene:
    return Scene(
        [frame(i, det("dog", 200, conf=0.5, tid=1)) for i in range(4)], [("front", "dog", "left", 1)]
    )


def per_label_threshold() -> Scene:
    # traffic light needs 0.6 (labels.json); 0.55 passes the director's 0.5 but not the label's.
    low = [frame(i, det("traffic light", 600, conf=0.55, tid=1)) for i in range(5)]
    high = [frame(i, det("traffic light", 600, conf=0.65, tid=2)) for i in range(5, 10)]
    return Scene(low + high, [("front", "traffic light", "ahead", 1)])


def unmapped_classes_are_ignored_and_counted() -> Scene:
    def check(tracker: Tracker, events: list[RideEvent]) -> None:
        assert tracker.unmapped == {"giraffe": 6, "Toaster": 6}

    frames = [frame(i, det("giraffe", 200, tid=1), det("Toaster", 600, tid=2)) for i in range(6)]
    return Scene(frames, [], check=check)


def coco_names_map_to_ours() -> Scene:
    frames = [frame(i, det("motorcycle", 1000, tid=1), det("stop sign", 600, tid=2)) for i in range(4)]
    frames += [frame(i, det("Roadsign", 200, tid=3)) for i in range(4, 8)]  # DeepStream's class, any case
    return Scene(frames, [("front", "motorbike", "right", 1), ("front", "road sign", "ahead", 1),
                          ("front", "road sign", "left", 1)])  # fmt: skip


def jittering_boxes_without_track_ids_stay_one() -> Scene:
    jitter = [0, 9, -7, 4, -9, 6, -3, 8, -8, 2]
    frames = [frame(i, det("cow", 600 + jitter[i], y=300 + jitter[-1 - i])) for i in range(10)]

    def check(tracker: Tracker, events: list[RideEvent]) -> None:
        (cam,) = tracker.cameras()
        assert cam.tracks == 1 and cam.sides["ahead"] == 1

    return Scene(frames, [("front", "cow", "ahead", 1)], check=check)


def two_objects_without_ids_are_two() -> Scene:
    frames = [frame(i, det("dog", 100 + i), det("dog", 300 - i)) for i in range(5)]
    return Scene(frames, [("front", "dog", "left", 2)])


def counts_rise() -> Scene:
    one = [frame(i, det("dog", 100, tid=1)) for i in range(5)]
    two = [frame(i, det("dog", 100, tid=1), det("dog", 250, tid=2)) for i in range(5, 10)]
    three = [frame(i, det("dog", 100, tid=1), det("dog", 250, tid=2), det("dog", 350, tid=3))
             for i in range(10, 15)]  # fmt: skip
    return Scene(one + two + three, [("front", "dog", "left", n) for n in (1, 2, 3)])


def shrinking_and_holding_emit_nothing() -> Scene:
    both = [frame(i, det("dog", 100, tid=1), det("dog", 250, tid=2)) for i in range(5)]
    # Dog 2 leaves (lost after 1 s), then another dog comes while the group is still alive: 2 was said.
    one = [frame(i, det("dog", 100, tid=1)) for i in range(5, 50)]
    again = [frame(i, det("dog", 100, tid=1), det("dog", 300, tid=3)) for i in range(50, 60)]
    return Scene(both + one + again, [("front", "dog", "left", 2)])


def side_change_is_a_new_group() -> Scene:
    # A dog walks from the left third into the middle: «собака впереди» once it is clearly there.
    xs = [200, 260, 320, 380, 420, 440, 470, 500, 520, 540]
    frames = [frame(i, det("dog", x, tid=4)) for i, x in enumerate(xs)]

    def check(tracker: Tracker, events: list[RideEvent]) -> None:
        assert tracker.cameras()[0].sides == {"ahead": 1, "left": 0, "right": 0, "behind": 0}

    return Scene(frames, [("front", "dog", "left", 1), ("front", "dog", "ahead", 1)], check=check)


def a_box_on_the_edge_does_not_flip() -> Scene:
    xs = [390, 405, 395, 410, 398, 404, 392, 409, 400, 401]  # around the 400 px edge, within hysteresis
    return Scene([frame(i, det("dog", x, tid=4)) for i, x in enumerate(xs)], [("front", "dog", "left", 1)])


def walking_back_quickly_is_not_new() -> Scene:
    xs = [200] * 4 + [600] * 6 + [200] * 6  # left, ahead for 200 ms, left again
    return Scene([frame(i, det("dog", x, tid=4)) for i, x in enumerate(xs)],
                 [("front", "dog", "left", 1), ("front", "dog", "ahead", 1)])  # fmt: skip


def leaving_and_coming_back_is_new() -> Scene:
    first = [frame(i, det("dog", 200, tid=8)) for i in range(5)]
    empty = [frame(i) for i in range(5, 60)]  # 1.8 s of frames without it
    back = [frame(i, det("dog", 200, tid=8)) for i in range(60, 65)]
    return Scene(first + empty + back, [("front", "dog", "left", 1), ("front", "dog", "left", 1)])


def coming_back_within_the_lost_time_is_not_new() -> Scene:
    first = [frame(i, det("dog", 200, tid=8)) for i in range(5)]
    empty = [frame(i) for i in range(5, 30)]  # 0.8 s
    back = [frame(i, det("dog", 200, tid=8)) for i in range(30, 35)]
    return Scene(first + empty + back, [("front", "dog", "left", 1)])


def several_cameras() -> Scene:
    # The same track id on two cameras is two objects; mountings turn the image's thirds.
    frames: list[Frame] = []
    for i in range(5):
        frames.append(frame(i, det("dog", 200, tid=1), cam="front"))
        frames.append(frame(i, det("dog", 200, tid=1), det("car", 600, tid=2), cam="rear"))
        frames.append(frame(i, det("person", 600, tid=1), det("bus", 1000, tid=3), cam="port"))
    expected = [
        ("front", "dog", "left", 1),
        ("rear", "car", "behind", 1),
        ("rear", "dog", "right", 1),
        ("port", "bus", "ahead", 1),
        ("port", "person", "left", 1),
    ]

    def check(tracker: Tracker, events: list[RideEvent]) -> None:
        views = {v.camera: v for v in tracker.cameras()}
        assert views["port"].mounting == "left" and views["rear"].mounting == "rear"
        assert views["rear"].sides == {"ahead": 0, "left": 0, "right": 1, "behind": 1}
        assert all(v.frames == 5 and v.fps == 5 for v in views.values())  # 5 frames within the last second

    return Scene(frames, expected, config={"mountings": {"port": "left"}}, check=check)


def right_mounting() -> Scene:
    frames = [frame(i, det("cat", 100, tid=1), det("cat", 600, tid=2), det("cat", 1100, tid=3), cam="right")
              for i in range(4)]  # fmt: skip
    return Scene(
        frames, [("right", "cat", "ahead", 1), ("right", "cat", "behind", 1), ("right", "cat", "right", 1)]
    )


def a_late_frame_counts_as_now() -> Scene:
    frames = [frame(i, det("dog", 200, tid=1)) for i in (0, 1, 3)] + [frame(2, det("dog", 200, tid=1))]
    return Scene(frames, [("front", "dog", "left", 1)])


def frames_without_numbers_count_their_own() -> Scene:
    frames = [frame(i, det("dog", 200, tid=1), number=False) for i in range(7, 12)]

    def check(tracker: Tracker, events: list[RideEvent]) -> None:
        (e,) = events
        assert e.origin is not None and (e.origin.first_frame, e.origin.last_frame) == (1, 3)

    return Scene(frames, [("front", "dog", "left", 1)], check=check)


SCENES = [
    steady,
    two_frames_are_not_enough,
    hits_must_fall_in_the_window,
    one_frame_glitch,
    flicker_changes_nothing,
    flicker_without_track_ids,
    low_confidence_never_counts,
    confidence_exactly_at_the_threshold_counts,
    per_label_threshold,
    unmapped_classes_are_ignored_and_counted,
    coco_names_map_to_ours,
    jittering_boxes_without_track_ids_stay_one,
    two_objects_without_ids_are_two,
    counts_rise,
    shrinking_and_holding_emit_nothing,
    side_change_is_a_new_group,
    a_box_on_the_edge_does_not_flip,
    walking_back_quickly_is_not_new,
    leaving_and_coming_back_is_new,
    coming_back_within_the_lost_time_is_not_new,
    several_cameras,
    right_mounting,
    a_late_frame_counts_as_now,
    frames_without_numbers_count_their_own,
]


def run(scene: Scene) -> tuple[Tracker, list[RideEvent]]:
    tracker = Tracker(tracker_config(0.5, **scene.config))
    events: list[RideEvent] = []
    for f in scene.frames:
        events.extend(tracker.update(f))
    return tracker, events


@pytest.mark.parametrize("make", SCENES, ids=[s.__name__ for s in SCENES])
def test_tracker_table(make: Callable[[], Scene]) -> None:
    scene = make()
    tracker, events = run(scene)
    got = [(e.source.removeprefix("camera:"), e.label, e.side, e.count) for e in events]
    assert got == scene.events
    if scene.check is not None:
        scene.check(tracker, events)


def test_an_event_says_where_it_came_from() -> None:
    frames = [frame(i, det("dog", 100, tid=1)) for i in range(3, 8)]
    frames += [frame(i, det("dog", 100, tid=1), det("dog", 250, conf=0.7, tid="b")) for i in range(8, 12)]
    events = run(Scene(frames, []))[1]
    assert [e.count for e in events] == [1, 2]
    second = events[1]
    assert second.source == "camera:front" and second.ts == frames[7].ts == T0 + 10 / FPS
    assert second.confidence == 0.9 and second.priority == "normal"
    assert second.origin is not None
    assert second.origin.to_json() == {
        "camera": "front",
        "track_ids": [1, "b"],
        "first_frame": 3,
        "last_frame": 10,
    }
    assert second.to_json()["origin"] == second.origin.to_json()
    assert second.to_json()["source"] == "camera:front"


def test_the_default_config_is_the_issues() -> None:
    c = TrackerConfig()
    assert (c.hits, c.window_s, c.lost_s) == (3, 0.3, 1.0)
    assert tracker_config(0.42).min_confidence == 0.42


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0


def test_a_parsed_frame_goes_through_the_tracker() -> None:
    raw = (
        '{"type": "detections", "camera": "front", "ts": %f, "frame": %d, "width": 1280, "height": 720,'
        ' "detections": [{"label": "dog", "conf": 0.82, "box": [10, 10, 110, 110], "track_id": 17}]}'
    )
    tracker = Tracker(tracker_config())
    out: list[RideEvent] = []
    for i in range(3):
        parsed = parse_event(raw % (T0 + i / 30, i), source="udp")
        assert isinstance(parsed, Frame)
        out += tracker.update(parsed)
    assert [(e.label, e.side, e.count) for e in out] == [("dog", "left", 1)]
