"""One camera frame of detections: the schema and its validation.

A frame is what a detector (YOLO, DeepStream) says about one image: `{"type": "detections", "camera":
"front", "ts": 1796160155.04, "frame": 1234, "width": 1280, "height": 720, "detections": [{"label": "dog",
"conf": 0.82, "box": [x1, y1, x2, y2], "track_id": 17}, ...]}`. `ts`, `frame` and `track_id` are optional;
boxes are pixels of the frame's width and height. Frames reach the ride through the same feeds (and limits)
as events; `events.parse_event` tells them apart by `"type": "detections"` and hands the object here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nuanu_tui.core.cameras import CAMERA_NAME_PATTERN
from nuanu_tui.core.ride.clock import epoch_seconds

FRAME_TYPE = "detections"


@dataclass(frozen=True, slots=True)
class Detection:
    """One box. `label` is the detector's class name, as sent (mapped to ours by the tracker)."""

    label: str
    conf: float
    box: tuple[float, float, float, float]
    track_id: int | str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "conf": self.conf, "box": list(self.box)}
        if self.track_id is not None:
            out["track_id"] = self.track_id
        return out


@dataclass(frozen=True, slots=True)
class Frame:
    """A validated frame. `ts` is the sender's wall clock (ours on arrival when it sent none)."""

    camera: str
    ts: float
    width: int
    height: int
    detections: tuple[Detection, ...]
    received_at: float
    frame: int | None = None
    source: str = "feed"  # the transport: udp | ws | stdin | mqtt | replay
    id: str = ""

    @property
    def priority(self) -> str:
        """Frames are never safety: under overflow they go before any safety event."""
        return "normal"

    def to_json(self) -> dict[str, Any]:
        """The frame as a recording keeps it: our format, `ts` filled in, no token."""
        out: dict[str, Any] = {"type": FRAME_TYPE, "camera": self.camera, "ts": self.ts}
        if self.frame is not None:
            out["frame"] = self.frame
        out["width"], out["height"] = self.width, self.height
        out["detections"] = [d.to_json() for d in self.detections]
        return out


class _DetectionSchema(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    label: str = Field(min_length=1, max_length=64)
    conf: float = Field(ge=0.0, le=1.0)
    box: tuple[float, float, float, float]
    track_id: int | str | None = None

    @field_validator("conf", mode="before")
    @classmethod
    def _conf(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    @field_validator("box", mode="before")
    @classmethod
    def _box(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple) or len(value) != 4:
            raise ValueError("four numbers [x1, y1, x2, y2]")
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError("four finite numbers [x1, y1, x2, y2]")
            out.append(float(v))
        if out[2] < out[0] or out[3] < out[1]:
            raise ValueError("x2 and y2 must not be smaller than x1 and y1")
        return tuple(out)

    @field_validator("track_id", mode="before")
    @classmethod
    def _track_id(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("an integer or a short string")
        if isinstance(value, str) and not 0 < len(value) <= 64:
            raise ValueError("an integer or a string of 1 to 64 characters")
        return value


class _FrameSchema(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    camera: str = Field(pattern=CAMERA_NAME_PATTERN)
    ts: float | None = None
    frame: int | None = Field(None, ge=0)
    width: int = Field(ge=1, le=100_000)
    height: int = Field(ge=1, le=100_000)
    detections: list[_DetectionSchema] = Field(max_length=1000)

    @field_validator("ts", mode="before")
    @classmethod
    def _ts(cls, value: Any) -> Any:
        return epoch_seconds(value)

    @model_validator(mode="after")
    def _boxes_inside(self) -> _FrameSchema:
        # A little slack: detectors round, and some report boxes a pixel past the edge.
        w, h = self.width * 1.01 + 1, self.height * 1.01 + 1
        for i, d in enumerate(self.detections):
            x1, y1, x2, y2 = d.box
            if x1 < -w * 0.01 - 1 or y1 < -h * 0.01 - 1 or x2 > w or y2 > h:
                raise ValueError(f"detections.{i}.box: outside the {self.width}x{self.height} frame")
        return self


def is_frame(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("type") == FRAME_TYPE


def frame_from(obj: dict[str, Any], *, source: str, received_at: float, id: str) -> Frame:
    """Validate a decoded frame object; raises pydantic's `ValidationError` with the first problem."""
    data = _FrameSchema.model_validate(obj)
    return Frame(
        camera=data.camera,
        ts=data.ts if data.ts is not None else received_at,
        width=data.width,
        height=data.height,
        detections=tuple(Detection(d.label, d.conf, d.box, d.track_id) for d in data.detections),
        received_at=received_at,
        frame=data.frame,
        source=source,
        id=id,
    )


__all__ = ["CAMERA_NAME_PATTERN", "FRAME_TYPE", "Detection", "Frame", "frame_from", "is_frame"]
