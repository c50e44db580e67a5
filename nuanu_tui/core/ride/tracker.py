"""The tracker: camera frames in, stable events out. Pure logic on the frames' own clock; no I/O.

Detectors speak every frame and flicker; the director wants «две собаки слева», once. Per camera:
- **class mapping**: the detector's class (COCO's `motorcycle`, DeepStream's `roadsign`, or one of our labels)
  maps to our label through `assets/labels.json` (`classes`); unmapped detections are ignored and counted;
- **confidence**: a detection below its label's threshold (`min_confidence` in labels.json, else the
  director's) never counts;
- **association**: by `track_id` when the detector sends one, else greedily by IoU with that label's live
  tracks, so a jittering box stays one object;
- **stability**: a track is confirmed after `hits` hits within `window_s`, and lost `lost_s` after its last hit;
- **side**: the box centre's third of the width (left, ahead, right), turned by the camera's mounting, with a
  little hysteresis so a box on a boundary does not flip sides;
- **groups** (label, side): after each frame, an event when a group appears or its confirmed count rises above
  the highest count already said for it; nothing while it holds or shrinks; a group empty for `lost_s` is
  forgotten, so it is new when it comes back.
Time is the frames' `ts` (a frame out of order counts as arriving now), so a replay makes the same events.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nuanu_tui.core.cameras import MOUNTINGS
from nuanu_tui.core.ride.events import Origin, RideEvent
from nuanu_tui.core.ride.frames import Detection, Frame

# The shuttle's side for the image's left, centre and right third, by where the camera looks.
TURNS: dict[str, tuple[str, str, str]] = {
    "front": ("left", "ahead", "right"),
    "rear": ("right", "behind", "left"),
    "left": ("behind", "left", "ahead"),
    "right": ("ahead", "right", "behind"),
}
SIDE_ORDER = ("ahead", "left", "right", "behind")
FPS_WINDOW_S = 1.0
_EPS = 1e-9


@dataclass(slots=True)
class TrackerConfig:
    """Defaults are the issue's: 3 hits in 300 ms confirm a track, 1 s without a hit loses it."""

    classes: Mapping[str, str] = field(default_factory=dict)  # detector class (lower case) -> our label
    min_confidence: float = 0.5
    label_confidence: Mapping[str, float] = field(default_factory=dict)
    hits: int = 3
    window_s: float = 0.3
    lost_s: float = 1.0
    iou: float = 0.3
    hysteresis: float = 0.03  # of the width: how far past a third's edge a centre must go to change side
    mountings: Mapping[str, str] = field(default_factory=dict)  # camera name -> front|rear|left|right

    def mounting(self, camera: str) -> str:
        """A camera not configured is mounted as its name says (`rear`), else looks ahead."""
        return self.mountings.get(camera) or (camera if camera in MOUNTINGS else "front")


@dataclass(frozen=True, slots=True)
class CameraView:
    """What the ride view shows per camera."""

    camera: str
    mounting: str
    frames: int
    fps: float
    sides: dict[str, int]  # confirmed tracks per side of the shuttle
    tracks: int  # live tracks, confirmed or not


class _Track:
    __slots__ = (
        "box",
        "conf",
        "confirmed",
        "first_frame",
        "hits",
        "id",
        "label",
        "last_frame",
        "last_ts",
        "third",
    )

    def __init__(self, label: str, tid: int | str, det: Detection, third: int, frame: int) -> None:
        self.label = label
        self.id = tid
        self.box = det.box
        self.conf = det.conf
        self.third = third
        self.hits: deque[float] = deque()
        self.confirmed = False
        self.first_frame = frame
        self.last_frame = frame
        self.last_ts = float("-inf")


class _Group:
    __slots__ = ("last_seen", "said")

    def __init__(self) -> None:
        self.said = 0  # the highest count already said since the group appeared
        self.last_seen = float("-inf")  # the newest hit of any of its confirmed tracks


class _Camera:
    __slots__ = ("anon", "by_id", "groups", "name", "next_anon", "now", "recent", "seq", "turn")

    def __init__(self, name: str, mounting: str) -> None:
        self.name = name
        self.turn = TURNS[mounting]
        self.by_id: dict[tuple[str, int | str], _Track] = {}
        self.anon: dict[str, list[_Track]] = {}
        self.groups: dict[tuple[str, str], _Group] = {}
        self.now = float("-inf")
        self.seq = 0
        self.next_anon = 0
        self.recent: deque[float] = deque()

    def tracks(self) -> Iterable[_Track]:
        yield from self.by_id.values()
        for tracks in self.anon.values():
            yield from tracks


def tracker_config(
    min_confidence: float = 0.5, mountings: Mapping[str, str] | None = None, **knobs: float
) -> TrackerConfig:
    """The shipped class mapping and per-label thresholds (assets/labels.json) with the ride's knobs."""
    from nuanu_tui.core.ride.vocab import vocabulary

    v = vocabulary()
    return TrackerConfig(
        classes=v.classes,
        min_confidence=min_confidence,
        label_confidence=v.min_confidence,
        mountings=dict(mountings or {}),
        **knobs,  # type: ignore[arg-type]
    )


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two boxes [x1, y1, x2, y2]."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    if iw <= 0:
        return 0.0
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class Tracker:
    """Every camera's tracks and groups. `update` takes one frame and returns the events it makes."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._cameras: dict[str, _Camera] = {}
        self._class_cache: dict[str, str | None] = {}
        self.unmapped: Counter[str] = Counter()  # detector class -> detections ignored
        self.low_confidence = 0
        self.frames = 0

    # --- per frame ------------------------------------------------------------------------------------
    def update(self, frame: Frame) -> list[RideEvent]:
        c = self.config
        cam = self._cameras.get(frame.camera)
        if cam is None:
            cam = self._cameras[frame.camera] = _Camera(frame.camera, c.mounting(frame.camera))
        self.frames += 1
        cam.seq += 1
        t = frame.ts if frame.ts > cam.now else cam.now
        cam.now = t
        number = frame.frame if frame.frame is not None else cam.seq
        recent = cam.recent
        recent.append(t)
        while recent[0] < t - FPS_WINDOW_S:
            recent.popleft()

        width = float(frame.width)
        anon: dict[str, list[Detection]] | None = None
        for d in frame.detections:
            label = self._label(d.label)
            if label is None:
                continue
            if d.conf < c.label_confidence.get(label, c.min_confidence):
                self.low_confidence += 1
                continue
            if d.track_id is None:
                if anon is None:
                    anon = {}
                anon.setdefault(label, []).append(d)
                continue
            key = (label, d.track_id)
            tr = cam.by_id.get(key)
            if tr is None:
                tr = cam.by_id[key] = _Track(label, d.track_id, d, _third(d.box, width), number)
            self._hit(tr, d, t, number, width)
        if anon:
            for label, dets in anon.items():
                self._associate(cam, label, dets, t, number, width)
        self._expire(cam, t)
        return self._groups(cam, frame, t)

    def _label(self, cls: str) -> str | None:
        cache = self._class_cache
        if cls in cache:
            label = cache[cls]
        else:
            key = cls.strip().lower().replace("_", " ")
            label = self.config.classes.get(key)
            if len(cache) < 4096:
                cache[cls] = label
        if label is None:
            self.unmapped[cls[:64]] += 1
        return label

    def _hit(self, tr: _Track, d: Detection, t: float, number: int, width: float) -> None:
        tr.box, tr.conf, tr.last_ts, tr.last_frame = d.box, d.conf, t, number
        centre = (d.box[0] + d.box[2]) * 0.5 / width
        third = 0 if centre < 1 / 3 else (2 if centre > 2 / 3 else 1)
        if third != tr.third:  # change sides only once the centre is clearly past the edge
            h = self.config.hysteresis
            if (third > tr.third and centre >= third / 3 + h) or (
                third < tr.third and centre <= (third + 1) / 3 - h
            ):
                tr.third = third
        hits = tr.hits
        hits.append(t)
        while hits[0] < t - self.config.window_s - _EPS:
            hits.popleft()
        if not tr.confirmed and len(hits) >= self.config.hits:
            tr.confirmed = True

    def _associate(
        self, cam: _Camera, label: str, dets: list[Detection], t: float, number: int, width: float
    ) -> None:
        """Greedy IoU matching of this frame's id-less detections to the label's live id-less tracks."""
        tracks = cam.anon.setdefault(label, [])
        threshold = self.config.iou
        pairs: list[tuple[float, int, int]] = []
        for i, d in enumerate(dets):
            for j, tr in enumerate(tracks):
                score = iou(d.box, tr.box)
                if score >= threshold:
                    pairs.append((score, i, j))
        used_d: set[int] = set()
        used_t: set[int] = set()
        if pairs:
            pairs.sort(reverse=True)
            for _, i, j in pairs:
                if i in used_d or j in used_t:
                    continue
                used_d.add(i)
                used_t.add(j)
                self._hit(tracks[j], dets[i], t, number, width)
        for i, d in enumerate(dets):
            if i not in used_d:
                cam.next_anon += 1
                tr = _Track(label, f"a{cam.next_anon}", d, _third(d.box, width), number)
                tracks.append(tr)
                self._hit(tr, d, t, number, width)

    def _expire(self, cam: _Camera, t: float) -> None:
        horizon = t - self.config.lost_s - _EPS
        gone = [k for k, tr in cam.by_id.items() if tr.last_ts < horizon]
        for k in gone:
            del cam.by_id[k]
        for label, tracks in cam.anon.items():
            if any(tr.last_ts < horizon for tr in tracks):
                cam.anon[label] = [tr for tr in tracks if tr.last_ts >= horizon]

    def _groups(self, cam: _Camera, frame: Frame, t: float) -> list[RideEvent]:
        members: dict[tuple[str, str], list[_Track]] = {}
        turn = cam.turn
        for tr in cam.tracks():
            if tr.confirmed:
                members.setdefault((tr.label, turn[tr.third]), []).append(tr)
        lost_s = self.config.lost_s + _EPS  # as for tracks: more than lost_s without a sighting
        events: list[RideEvent] = []
        groups = cam.groups
        for key in [k for k in groups if k not in members]:
            if t - groups[key].last_seen > lost_s:
                del groups[key]  # nothing of it seen for lost_s: it is new when it comes back
        for key in sorted(members):
            tracks = members[key]
            g = groups.get(key)
            if g is None or t - g.last_seen > lost_s:
                g = groups[key] = _Group()
            g.last_seen = max(g.last_seen, max(tr.last_ts for tr in tracks))
            n = len(tracks)
            if n > g.said:
                g.said = n
                events.append(self._event(cam, frame, key, tracks))
        return events

    def _event(self, cam: _Camera, frame: Frame, key: tuple[str, str], tracks: list[_Track]) -> RideEvent:
        label, side = key
        first = min(tr.first_frame for tr in tracks)
        last = max(tr.last_frame for tr in tracks)
        origin = Origin(cam.name, tuple(tr.id for tr in tracks), first, last)
        return RideEvent(
            id=f"{cam.name}-{last}-{label.replace(' ', '_')}-{side}"[:64],
            ts=frame.ts,
            received_at=frame.received_at,
            label=label,
            count=len(tracks),
            side=side,
            confidence=round(max(tr.conf for tr in tracks), 3),
            source=f"camera:{cam.name}",
            origin=origin,
        )

    # --- what the ride view shows ---------------------------------------------------------------------
    def cameras(self) -> list[CameraView]:
        out = []
        for name in sorted(self._cameras):
            cam = self._cameras[name]
            sides = dict.fromkeys(SIDE_ORDER, 0)
            live = 0
            for tr in cam.tracks():
                live += 1
                if tr.confirmed:
                    sides[cam.turn[tr.third]] += 1
            fps = len(cam.recent) / FPS_WINDOW_S
            out.append(CameraView(name, self.config.mounting(name), cam.seq, fps, sides, live))
        return out


def _third(box: tuple[float, float, float, float], width: float) -> int:
    centre = (box[0] + box[2]) * 0.5 / width
    return 0 if centre < 1 / 3 else (2 if centre > 2 / 3 else 1)


__all__ = ["MOUNTINGS", "TURNS", "CameraView", "Tracker", "TrackerConfig", "iou", "tracker_config"]
