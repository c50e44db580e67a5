"""Choosing an audio sink from a spec. Sinks are long-lived outputs whose blocking `write` means "the
device accepted these samples".

`make_sink("device")` tries sounddevice (PortAudio), then miniaudio on a real back-end, then a silent
null sink, and says why in `sink.warning`. The null and WAV sinks are paced in real time like a device
with a small buffer, so stage timings stay honest without a sound card.

All sinks also offer `utterance_started()` / `utterance_ended()` and an `underruns` counter: the player
brackets each utterance so silence between utterances is not counted as the device running dry.

One module per back-end: `sounddevice_sink`, `miniaudio_sink`, `null_sink`, `wav_sink` (the two device
back-ends share `ring`).
"""

from __future__ import annotations

from typing import Any

from nuanu_tui.core.audio.base import AudioSink, one_line
from nuanu_tui.core.audio.miniaudio_sink import MiniaudioSink
from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.audio.sounddevice_sink import SoundDeviceSink
from nuanu_tui.core.audio.wav_sink import WavSink
from nuanu_tui.core.errors import NuanuError


def parse_device(spec: str) -> int | str | None:
    """`device` -> None (the default output), `device:3` -> 3, `device:NAME` -> NAME; else ValueError."""
    if spec == "device":
        return None
    name = spec[len("device:") :].strip() if spec.startswith("device:") else ""
    if not name:
        raise ValueError(spec)
    return int(name) if name.isdigit() else name


def make_sink(spec: str) -> AudioSink:
    """Build a sink from `device[:NAME|:INDEX]` | `null` | `wav:PATH`.

    Plain `device` falls back (PortAudio, then miniaudio on a real back-end, then a silent null sink) and
    says why in `warning`. A named device is what the operator asked for: it is never swapped for another;
    when it is missing the player reports it lost and keeps looking for it.
    """
    spec = (spec or "").strip()
    if spec == "null":
        return NullSink()
    if spec.startswith("wav:") and len(spec) > 4:
        return WavSink(spec[4:])
    try:
        device = parse_device(spec)
    except ValueError:
        raise NuanuError(
            "config", f"bad audio spec {spec!r}: use device, device:NAME, device:INDEX, null or wav:PATH"
        ) from None
    reasons: list[str] = []
    try:
        device_name = SoundDeviceSink.probe(device)
    except OSError as exc:  # no PortAudio library at all
        reasons.append(f"PortAudio: {one_line(exc)}")
    except Exception as exc:  # PortAudioError/ValueError: no such output device (right now)
        if device is not None:  # named: keep looking for it where the operator saw it
            return SoundDeviceSink(device)
        reasons.append(f"PortAudio: {one_line(exc)}")
    else:
        sink = SoundDeviceSink(device)
        sink.name = f"sounddevice:{device_name}"
        return sink
    if device is not None:
        return MiniaudioSink(backends=_real_backends_or_none(), device=str(device))
    try:
        backends = MiniaudioSink.real_backends()
        backend = MiniaudioSink.probe(backends)
    except Exception as exc:
        reasons.append(f"miniaudio: {one_line(exc)}")
    else:
        sink = MiniaudioSink(backends=backends)
        sink.name = f"miniaudio:{backend.lower()}"
        return sink
    sink = NullSink()
    sink.warning = f"no sound card ({'; '.join(reasons)}); audio goes to a silent null sink"
    return sink


def _real_backends_or_none() -> list[Any] | None:
    try:
        return MiniaudioSink.real_backends()
    except Exception:
        return None
