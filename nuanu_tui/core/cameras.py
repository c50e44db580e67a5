"""Camera names and mountings: what `NUANU_CAMERAS` may say, checked by the settings at start-up.

Its own module, free of the ride, so the settings need not import the tracker; the tracker turns the image's
thirds by these mountings (`core/ride/tracker.py`).
"""

from __future__ import annotations

import re

MOUNTINGS = ("front", "rear", "left", "right")
CAMERA_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"


def camera_mountings(value: str) -> dict[str, str]:
    """`front=front,back=rear,port=left`: camera name -> mounting (front, rear, left, right)."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        name, eq, mounting = (x.strip() for x in part.partition("="))
        if not eq or not re.match(CAMERA_NAME_PATTERN, name) or mounting not in MOUNTINGS:
            raise ValueError(f"comma-separated NAME=MOUNTING, MOUNTING one of {', '.join(MOUNTINGS)}")
        out[name] = mounting
    return out


__all__ = ["CAMERA_NAME_PATTERN", "MOUNTINGS", "camera_mountings"]
