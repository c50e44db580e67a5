"""Write the sample camera ride (assets/rides/camera_crossing.jsonl): two cameras' frames, as a detector with
its own tracker (front, track ids) and one without (rear, boxes only) would send them. Deterministic.

    uv run python tools/make_camera_ride.py

The scene, 22 s at 15 fps: a dog on the left, joined by a second (the count rises), a scooter crossing from
right to left, a one-frame cow, a person at low confidence, benches and potted plants no label maps, boxes
that drop out for a frame now and then, a broken frame, a child running out ahead (a safety event among the
frames, while the first remark plays), a car following behind and a motorbike overtaking on the right (rear camera), the first dog back
after it left.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

T0 = 1796161000.0
FPS = 15
SECONDS = 22
W, H = 1280, 720
OUT = Path(__file__).resolve().parents[1] / "assets" / "rides" / "camera_crossing.jsonl"


def box(rng: random.Random, cx: float, cy: float, w: float, h: float, jitter: float = 4.0) -> list[float]:
    cx += rng.uniform(-jitter, jitter)
    cy += rng.uniform(-jitter, jitter)
    return [round(max(0.0, cx - w / 2), 1), round(max(0.0, cy - h / 2), 1),
            round(min(W, cx + w / 2), 1), round(min(H, cy + h / 2), 1)]  # fmt: skip


def front(rng: random.Random, t: float) -> list[dict[str, Any]]:
    dets: list[dict[str, Any]] = []

    def add(label: str, conf: float, b: list[float], tid: int | None = None) -> None:
        if rng.random() < 0.08:  # the detector misses it in this frame
            return
        d: dict[str, Any] = {"label": label, "conf": round(conf + rng.uniform(-0.04, 0.04), 2), "box": b}
        if tid is not None:
            d["track_id"] = tid
        dets.append(d)

    if 0.5 <= t < 6.0 or t >= 12.0:
        add("dog", 0.86, box(rng, 220 + 10 * (t % 3), 520, 140, 110), 1)
    if 2.0 <= t < 7.5:
        add("dog", 0.74, box(rng, 330, 540, 120, 100), 2)
    if 4.0 <= t < 10.0:  # a scooter crossing right to left
        add("motorcycle", 0.91, box(rng, 1180 - (t - 4.0) * 190, 430, 200, 160), 5)
    if abs(t - 3.0) < 0.5 / FPS:
        add("cow", 0.7, box(rng, 640, 400, 300, 220), 9)  # one frame only: a glitch
    if 7.0 <= t < 9.0:
        add("person", 0.3, box(rng, 900, 380, 90, 240), 11)  # too unsure to count
    add("bench", 0.8, box(rng, 80, 600, 150, 80, jitter=1), 20)
    if t >= 8.0:
        add("potted plant", 0.6, box(rng, 1200, 560, 80, 120, jitter=1), 21)
    return dets


def rear(rng: random.Random, t: float) -> list[dict[str, Any]]:
    dets: list[dict[str, Any]] = []
    if 13.0 <= t < 20.0:  # a car following, centre of the rear image: behind the shuttle
        dets.append({"label": "car", "conf": 0.88, "box": box(rng, 640, 420, 320, 220, jitter=8)})
    if 19.0 <= t < 22.0:  # image left on a rear camera: the shuttle's right
        dets.append({"label": "motorcycle", "conf": 0.8, "box": box(rng, 250 - (t - 19) * 40, 450, 150, 150)})
    return [d for d in dets if rng.random() >= 0.05]


def main() -> None:
    rng = random.Random(20)
    lines = [
        "# Camera crossing: two cameras' detections (front with track ids, rear without), 15 fps, 22 s",
    ]
    for i in range(SECONDS * FPS):
        t = i / FPS
        ts = round(T0 + t, 3)
        for cam, dets in (("front", front(rng, t)), ("rear", rear(rng, t))):
            frame = {"type": "detections", "camera": cam, "ts": ts, "frame": i, "width": W, "height": H,
                     "detections": dets}  # fmt: skip
            if cam == "front" and i == 80:  # a broken frame: a confidence above 1
                frame["detections"] = [{"label": "dog", "conf": 1.5, "box": [0, 0, 10, 10]}]
            lines.append(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))
        if i == 37:  # 2.5 s: while the first remark plays
            lines.append(json.dumps({"id": "camera_crossing-child", "ts": ts, "label": "child", "side": "ahead",
                                     "priority": "safety", "confidence": 0.95}))  # fmt: skip
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(lines) - 1} lines, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
