"""Writes the sample rides in assets/rides/ (kept so they can be regenerated and reviewed as code).

Each ride is what a real feed produces: steady sightings, bursts, the same thing seen again and again,
low-confidence guesses, late (stale) events, a safety event in the middle of a remark, free-text captions
and broken lines.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "assets" / "rides"


class Ride:
    def __init__(self, name: str, t0: float, title: str) -> None:
        self.name, self.t, self.n = name, t0, 0
        self.lines: list[str] = [f"# {title}"]

    def at(self, dt: float) -> Ride:
        self.t = round(self.t + dt, 2)
        return self

    def ev(
        self,
        label: str | None = None,
        count: int = 1,
        side: str | None = None,
        conf: float = 0.9,
        priority: str = "normal",
        text: str | None = None,
        late: float = 0.0,
    ) -> Ride:
        self.n += 1
        obj: dict[str, object] = {"id": f"{self.name}-{self.n:03d}", "ts": round(self.t - late, 2)}
        if label is not None:
            obj.update(label=label, count=count)
        if side is not None:
            obj["side"] = side
        obj["confidence"] = conf
        if priority != "normal":
            obj["priority"] = priority
        if text is not None:
            obj["text"] = text
        self.lines.append(json.dumps(obj, ensure_ascii=False))
        return self

    def raw(self, line: str) -> Ride:
        self.lines.append(line)
        return self

    def write(self) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{self.name}.jsonl").write_text("\n".join(self.lines) + "\n", encoding="utf-8")


def village_street() -> Ride:
    r = Ride(
        "village_street", 1796160000.0, "Village street, Tabanan: dogs, chickens, scooters, a child runs out"
    )
    r.at(0).ev("dog", 2, "left", 0.87)
    r.at(0.4).ev("dog", 2, "left", 0.85)  # the same dogs again: busy, then duplicate
    r.at(0.3).ev("chicken", 3, "right", 0.62)
    r.at(1.2).ev("scooter", 1, "ahead", 0.93)
    r.at(0.5).ev("scooter", 2, "ahead", 0.41)  # a guess
    r.at(3.0).ev("rooster", 1, "right", 0.74)
    r.at(1.5).ev("temple", 1, "left", 0.95)
    r.at(0.2).raw('{"label": "dog", "count": "two", "side": "left"}')  # wrong type
    r.at(0.2).raw('{"label": "dog", "side": "left"')  # cut off mid-line
    r.at(2.0).ev("offering", 4, "right", 0.58)
    r.at(1.0).ev("dog", 1, "behind", 0.30)
    for i in range(8):  # a burst: a pack of scooters passes
        r.at(0.1).ev("scooter", 1 + i % 3, "left" if i % 2 else "right", 0.8)
    r.at(9.5).ev("child", 1, "ahead", 0.91)
    r.at(1.2).ev("child", 1, "ahead", 0.97, priority="safety")  # mid-remark: barge-in
    r.at(0.5).ev("dog", 2, "left", 0.9)
    r.at(2.0).ev("cow", 1, "right", 0.88, late=3.2)  # arrives 3 s late: stale
    r.at(4.5).ev("rice field", 1, "left", 0.99)
    r.at(0.6).raw('{"label": "unicorn", "side": "left"}')  # not in the vocabulary
    r.at(0.4).ev("monkey", 2, "right", 0.45)
    r.at(3.0).ev("tourist group", 1, "ahead", 0.83)
    r.at(0.3).ev("tourist", 5, "ahead", 0.7)
    r.at(6.0).ev("truck", 1, "ahead", 0.9, priority="high")
    r.at(0.5).ev("motorbike", 5, "ahead", 0.88)
    r.at(0.4).ev("dog", 2, "left", 0.95)
    r.at(7.0).ev(text="камера, бабушка несёт на голове корзину с фруктами", conf=0.8)
    r.at(2.0).raw("<<binary noise>> \x7f")  # a plain line is a text trigger (control chars stripped)
    r.at(4.0).ev("pothole", 1, "ahead", 0.77, priority="high")
    r.at(0.3).ev("pothole", 1, "ahead", 0.79, priority="high")
    r.at(9.0).ev("dog", 3, "right", 0.9)
    r.at(0.2).ev("chicken", 21, "right", 0.66)
    r.at(0.2).raw('{"label": "dog", "confidence": 1.7}')  # out of range
    r.at(0.2).raw("[1, 2, 3]")
    for i in range(6):  # ducks cross, the camera keeps reporting them
        r.at(0.25).ev("duck", 2 + i, "ahead", 0.72 + 0.02 * i)
    r.at(8.0).ev("temple", 1, "right", 0.95)
    r.at(0.5).ev("statue", 2, "right", 0.8)
    r.at(7.5).ev("scooter", 22, "ahead", 0.86)
    r.at(1.0).ev("dog", 2, "behind", 0.49)
    r.at(7.0).ev("bridge", 1, "ahead", 0.9)
    r.at(0.3).ev("waterfall", 1, "right", 0.6)
    r.at(8.0).ev("sunset", 1, "left", 0.97)
    return r


def temple_ceremony() -> Ride:
    r = Ride(
        "temple_ceremony",
        1796163600.0,
        "Temple ceremony near Ubud: procession, offerings, crowds, a blocked road",
    )
    r.at(0).ev("temple", 1, "left", 0.96)
    r.at(0.5).ev("ceremony", 1, "left", 0.9)
    r.at(0.3).ev("procession", 1, "ahead", 0.82)
    r.at(0.4).ev("person", 21, "ahead", 0.77)
    r.at(0.2).ev("person", 22, "ahead", 0.78)
    r.at(0.2).raw('{"id": 17, "label": "person"}')  # id must be a string
    r.at(6.5).ev("offering", 5, "right", 0.7)
    r.at(0.2).ev("offering", 5, "right", 0.71)
    r.at(0.2).ev("umbrella", 2, "right", 0.44)
    r.at(7.0).ev("tourist group", 2, "left", 0.88)
    r.at(0.5).ev("tourist", 5, "left", 0.66)
    r.at(1.0).ev(text="камера, женщины несут башни из фруктов на головах", conf=0.9)
    r.at(6.0).ev("procession", 1, "ahead", 0.91, priority="high")
    r.at(1.0).ev("child", 2, "ahead", 0.96, priority="safety")  # children step out mid-remark
    r.at(0.5).ev("child", 2, "ahead", 0.95, priority="safety")  # again, seen a frame later
    for i in range(10):  # a burst: the crowd as the camera sees it, frame by frame
        r.at(0.08).ev("person", 5 + i, "ahead", 0.6 + 0.03 * i)
    r.at(2.0).raw("{}")  # neither label nor text
    r.at(0.1).raw('{"label": "ceremony", "side": "up"}')  # no such side
    r.at(0.1).raw('{"label": "ceremony", "priority": "urgent"}')
    r.at(6.0).ev("statue", 1, "right", 0.9)
    r.at(0.3).ev("statue", 1, "right", 0.93)
    r.at(8.0).ev("kite", 1, "ahead", 0.85)
    r.at(0.4).ev("temple", 1, "left", 0.97, late=2.5)  # late frame
    r.at(7.0).ev("motorbike", 2, "behind", 0.8)
    r.at(0.5).ev("scooter", 1, "behind", 0.5)
    r.at(7.0).ev("dog", 1, "right", 0.9)
    r.at(0.2).ev("chicken", 2, "right", 0.35)
    r.at(7.0).ev("offering", 1, "ahead", 0.8, priority="high")
    r.at(0.5).ev("ceremony", 1, "left", 0.92)
    r.at(0.5).ev("person", 2, "left", 0.9)
    r.at(7.0).ev("procession", 1, "ahead", 0.93)  # still the same procession: duplicate
    r.at(0.5).ev("bird", 21, "ahead", 0.7)
    r.at(8.0).ev("truck", 1, "ahead", 0.93, priority="safety")
    r.at(0.1).raw('{"label": "truck", "count": 0}')
    r.at(7.0).ev("rice field", 1, "right", 0.99)
    r.at(0.2).ev("palm tree", 5, "right", 0.8)
    r.at(8.0).ev("waterfall", 1, "left", 0.83)
    r.at(8.0).ev("volcano", 1, "ahead", 0.9)
    r.at(8.0).ev("monkey", 2, "left", 0.92)
    r.at(0.5).ev("monkey", 2, "left", 0.94)
    r.at(0.5).ev("monkey", 5, "left", 0.9)
    return r


def market_in_rain() -> Ride:
    r = Ride(
        "market_in_rain",
        1796167200.0,
        "Market in the rain, Gianyar: umbrellas, stalls, puddles, scooters everywhere",
    )
    r.at(0).ev("rain", 1, None, 0.99)
    r.at(0.5).ev("market", 1, "right", 0.9)
    r.at(0.3).ev("umbrella", 5, "right", 0.7)
    r.at(0.2).ev("stall", 22, "right", 0.64)
    for i in range(12):  # a burst of scooters in the rain, low light makes the camera unsure
        r.at(0.07).ev("scooter", 1 + i % 4, ("left", "right", "ahead")[i % 3], 0.35 + 0.05 * i)
    r.at(5.0).ev("puddle", 1, "ahead", 0.8, priority="high")
    r.at(0.2).ev("puddle", 2, "ahead", 0.82, priority="high")
    r.at(6.5).ev("person", 5, "left", 0.75)
    r.at(0.1).raw('"just a string in quotes"')  # a JSON string is a text trigger
    r.at(0.1).raw('{"label": "person", "ts": "yesterday"}')
    r.at(0.1).raw('{"label": "dog", "confidence": NaN}')
    r.at(10.0).ev("dog", 1, "right", 0.9)
    r.at(0.8).ev("pedestrian", 1, "ahead", 0.95, priority="safety")  # steps out from behind a stall
    r.at(0.3).ev("dog", 1, "right", 0.91)
    r.at(6.0).ev("truck", 1, "behind", 0.86)
    r.at(0.2).ev("truck", 1, "behind", 0.87, late=4.0)
    r.at(7.0).ev("fog", 1, "ahead", 0.6)
    r.at(0.5).ev("rain", 1, None, 0.99)  # still raining: duplicate
    r.at(6.5).ev("cow", 2, "left", 0.92)
    r.at(0.3).ev("chicken", 5, "left", 0.55)
    r.at(0.3).ev("coconut", 21, "right", 0.6)
    r.at(7.0).ev(text="камера, продавец прячет фрукты под плёнкой", conf=0.85)
    r.at(0.5).raw("x" * 9000)  # a runaway line: oversize
    r.at(6.5).ev("pothole", 1, "ahead", 0.88, priority="high")
    r.at(0.2).ev("puddle", 5, "ahead", 0.7)
    r.at(7.0).ev("bus", 1, "ahead", 0.9)
    r.at(0.4).ev("car", 2, "ahead", 0.8)
    r.at(0.4).ev("motorbike", 22, "ahead", 0.84)
    r.at(7.0).ev("market", 1, "left", 0.93)
    r.at(0.3).ev("stall", 5, "left", 0.61)
    r.at(0.3).ev("umbrella", 21, "left", 0.7)
    for i in range(6):  # everybody runs for cover
        r.at(0.15).ev("person", 2 + i, "right", 0.5 + 0.05 * i)
    r.at(7.0).ev("fallen tree", 1, "ahead", 0.94, priority="safety")
    r.at(7.0).ev("sunset", 1, "ahead", 0.97)
    return r


if __name__ == "__main__":
    for ride in (village_street(), temple_ceremony(), market_in_rain()):
        ride.write()
        events = sum(1 for line in ride.lines if not line.startswith("#"))
        print(ride.name, events)
