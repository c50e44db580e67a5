"""Instant reactions: a short interjection («Ого!») in the active voice, played the moment a trigger is accepted.

Why it looks like this:
- the remark's first audio is bounded by the providers (hundreds of ms); a cached, pre-rendered sound is not,
  so the listener hears the character react at once and the remark follows in the same output stream;
- clips are synthesised by the active TTS in the active voice and cached on disk under a key made of the TTS,
  voice, model, format and text, so a change of any of them never plays a stale voice;
- filling the cache is background work that yields to utterances; an interjection that is not cached yet is
  skipped, never waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import itertools
import json
import logging
import os
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nuanu_tui.core.assets import read_asset
from nuanu_tui.core.audio.decoders import make_decoder
from nuanu_tui.core.errors import NuanuError

log = logging.getLogger(__name__)

CATEGORIES = ("safety", "animals", "people", "vehicles", "places", "weather", "general")
RECENT = 3  # the same interjection is not used twice within this many remarks
PAUSE_MS = 120  # the natural pause between the interjection's last sample and the remark's first
CACHE_DIR = "interjections"
SILENCE_LEVEL = 300  # |sample| below this at the edges is trimmed: the reaction starts with sound
EDGE_KEEP_MS = 10  # kept around the trimmed edges so the onset and the tail are not clipped
FADE_MS = 5  # linear fade at both ends: a clip cut out of a longer synthesis never starts or ends in a click
MAX_CLIP_MS = 700.0  # a reaction, not a sentence: a voice that says one slower than this skips it
IDLE_POLL_S = 0.05  # the fill waits this long between checks while an utterance is running
FILL_PARALLEL = 2  # syntheses at a time while filling: half the wait, well inside the socket's context cap


@functools.cache
def interjection_table() -> dict[str, dict[str, tuple[str, ...]]]:
    """The shipped interjections (`assets/interjections.json`) per language and category. Every language
    must list every category: `pick` falls back to "general" and the fill order walks all of them."""
    data = json.loads(read_asset("interjections.json"))
    table: dict[str, dict[str, tuple[str, ...]]] = {}
    for lang, categories in data.items():
        if lang.startswith("_"):
            continue
        missing = [c for c in CATEGORIES if not categories.get(c)]
        if missing:
            raise NuanuError(
                "config", f"interjections.json: {lang} has no {', '.join(missing)} interjections"
            )
        table[lang] = {c: tuple(categories[c]) for c in CATEGORIES}
    return table


# Safety first: a trigger that mentions danger gets «Внимание!» whatever else it is about.
_SAFETY_STEMS = (
    "осторож", "опасн", "внимани", "авари", "дтп", "стоп", "тормоз", "столкн", "яма", "ям ", "препятств",
    "пожар", "дым", "упал", "выбежал", "выскочил", "на дорог", "перебега", "тревог", "danger", "careful",
    "warning", "hazard", "accident", "crash", "obstacle", "brake", "fire", "pothole", "emergency", "alert",
)  # fmt: skip
# The offline phrasebook already classifies triggers by keywords (with morphology); its categories map here.
_PHRASEBOOK = {
    "animals": "animals",
    "people": "people",
    "traffic": "vehicles",
    "shuttle": "vehicles",
    "scenery": "places",
    "food": "places",
    "weather": "weather",
}
# Ride events carry a label: a category name, or the detector's class name.
_LABELS = {
    **{c: c for c in CATEGORIES},
    **dict.fromkeys(("dog", "cat", "cow", "bird", "monkey", "chicken", "animal", "horse", "duck"), "animals"),
    **dict.fromkeys(("person", "people", "pedestrian", "child", "crowd", "tourist", "surfer"), "people"),
    **dict.fromkeys(
        (
            "car",
            "bus",
            "truck",
            "motorbike",
            "motorcycle",
            "scooter",
            "bicycle",
            "bike",
            "vehicle",
            "traffic",
        ),
        "vehicles",
    ),
    **dict.fromkeys(
        ("temple", "beach", "landmark", "place", "culture", "art", "statue", "building"), "places"
    ),
    **dict.fromkeys(("rain", "sun", "cloud", "storm", "wind", "weather"), "weather"),
    **dict.fromkeys(("hazard", "obstacle", "danger", "emergency", "warning", "alert"), "safety"),
}


def classify(trigger: str, label: str | None = None) -> str:
    """The interjection category of a trigger: a ride event's label wins; typed text goes by keywords."""
    if label:
        key = label.strip().lower().replace("-", "_").split("/")[-1]
        category = _LABELS.get(key) or _LABELS.get(key.rstrip("s"))
        if category is not None:
            return category
    low = f" {trigger.lower()} "
    if any(stem in low for stem in _SAFETY_STEMS):
        return "safety"
    try:
        from nuanu_tui.core.llm.phrasebook import parse_trigger

        return _PHRASEBOOK.get(parse_trigger(trigger).category, "general")
    except Exception:  # the classifier must never stop a trigger: react generically
        return "general"


def all_interjections(lang: str) -> list[str]:
    """Every interjection of a language once, in a stable order (the cache fill order: general first)."""
    tables = interjection_table()
    table = tables.get(lang, tables["ru"])
    order = ("general", *(c for c in CATEGORIES if c != "general"))
    return list(dict.fromkeys(itertools.chain.from_iterable(table[c] for c in order)))


@dataclass(frozen=True, slots=True)
class VoiceKey:
    """Who says it and how: the cache key is this plus the text."""

    tts: str  # "elevenlabs" | "espeak"
    voice: str
    model: str
    format: str  # "pcm_24000", "mp3_44100_128", ...

    def digest(self, text: str) -> str:
        raw = "\x1f".join((self.tts, self.voice, self.model, self.format, text))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def voice_key(tts: Any) -> VoiceKey:
    """The key of the active TTS voice. espeak's rate changes the sound, so it is part of its 'model'."""
    name = tts.spec.split("/", 1)[0]
    if name == "espeak":
        return VoiceKey("espeak", str(tts.voice), f"rate{tts.rate}", f"pcm_{tts.format.sample_rate}")
    voice = f"{getattr(tts, 'voice_id', '')}@{getattr(tts, 'host', '')}"
    return VoiceKey(name, voice, str(getattr(tts, "model_id", "")), str(getattr(tts, "output_format", "")))


@dataclass(frozen=True, slots=True)
class Clip:
    """One interjection ready to play: s16le mono PCM at the output's rate."""

    text: str
    pcm: bytes
    sample_rate: int

    @property
    def ms(self) -> float:
        return len(self.pcm) / 2 * 1000.0 / self.sample_rate


_MAGIC = b"NUIJ\x01"
_HEADER = struct.Struct("<5sI16s")  # magic, sample rate, blake2b-128 of the samples


def encode_clip(pcm: bytes, sample_rate: int) -> bytes:
    return _HEADER.pack(_MAGIC, sample_rate, hashlib.blake2b(pcm, digest_size=16).digest()) + pcm


def decode_clip(blob: bytes) -> tuple[bytes, int] | None:
    """(pcm, rate), or None for anything damaged: a bad file is never played."""
    if len(blob) <= _HEADER.size:
        return None
    magic, rate, digest = _HEADER.unpack_from(blob)
    pcm = blob[_HEADER.size :]
    if magic != _MAGIC or not 4000 <= rate <= 192000 or len(pcm) % 2:
        return None
    if hashlib.blake2b(pcm, digest_size=16).digest() != digest:
        return None
    return pcm, rate


def trim_silence(pcm: bytes, sample_rate: int) -> bytes:
    """Cut quiet lead-in and tail (TTS engines pad both), keeping a few ms so nothing audible is clipped."""
    import numpy as np  # filling the cache (a thread, after start-up), never on the path to first sound

    samples = np.frombuffer(pcm, dtype=np.int16)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) >= SILENCE_LEVEL)
    if loud.size == 0:
        return b""
    keep = sample_rate * EDGE_KEEP_MS // 1000
    start = max(0, int(loud[0]) - keep)
    end = min(samples.size, int(loud[-1]) + 1 + keep)
    clip = samples[start:end].astype(np.float32)
    fade = min(clip.size // 2, sample_rate * FADE_MS // 1000)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, endpoint=False, dtype=np.float32)
        clip[:fade] *= ramp
        clip[clip.size - fade :] *= ramp[::-1]
    return np.round(clip).astype(np.int16).tobytes()


def resample(pcm: bytes, source_rate: int, rate: int) -> bytes:
    if source_rate == rate or not pcm:
        return pcm
    import numpy as np
    import soxr

    samples = np.frombuffer(pcm, dtype=np.int16)
    return np.asarray(soxr.resample(samples, source_rate, rate), dtype=np.int16).tobytes()


class ClipCache:
    """Interjections of one voice: on disk under the data directory, and in memory at the output's rate."""

    def __init__(self, directory: Path, key: VoiceKey, output_rate: int) -> None:
        self.directory = directory
        self.key = key
        self.output_rate = output_rate
        self.clips: dict[str, Clip] = {}
        self.synthesised = 0  # how many clips this cache asked the TTS for
        self.rejected = 0  # damaged files found (and removed)

    def path(self, text: str) -> Path:
        return self.directory / f"{self.key.digest(text)}.pcm"

    def get(self, text: str) -> Clip | None:
        return self.clips.get(text)

    def load(self, text: str) -> Clip | None:
        """From disk into memory; a damaged file is removed so the fill makes it again."""
        path = self.path(text)
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        decoded = decode_clip(blob)
        if decoded is None:
            self.rejected += 1
            log.warning("interjection cache: damaged file %s removed", path.name)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return self._keep(text, *decoded)

    def store(self, text: str, pcm: bytes, sample_rate: int) -> Clip | None:
        """Write atomically (a crash leaves no half file), then keep it in memory. Written at the output's
        rate when that is no lower than the voice's: the next start-up then reads it as it plays, without
        loading numpy and soxr (~0.1-0.2 s of imports) to resample before ready."""
        pcm = trim_silence(pcm, sample_rate)
        if not pcm:
            return None
        if self.output_rate > sample_rate:
            pcm, sample_rate = resample(pcm, sample_rate, self.output_rate), self.output_rate
        path = self.path(text)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(encode_clip(pcm, sample_rate))
        os.replace(tmp, path)
        return self._keep(text, pcm, sample_rate)

    def _keep(self, text: str, pcm: bytes, rate: int) -> Clip:
        clip = Clip(text, resample(pcm, rate, self.output_rate), self.output_rate)
        self.clips[text] = clip
        return clip


async def synthesise(tts: Any, text: str, uid: str) -> tuple[bytes, int]:
    """One interjection through the provider's ordinary utterance path (ElevenLabs: the open socket)."""
    utt = await tts.start(uid)
    try:
        await utt.send(text + " ")
        await utt.finish()
        decoder = make_decoder(utt.format)
        parts = [decoder.feed(data) async for data in utt.audio()]
        parts.append(decoder.flush())
    except BaseException:
        with contextlib.suppress(Exception):
            await utt.cancel()
        raise
    return b"".join(parts), decoder.sample_rate or utt.format.sample_rate


def writable_reason(directory: Path) -> str | None:
    """None when clips can be stored under `directory`; otherwise why not (one line)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"instant reactions off: cannot write the interjection cache in {directory} ({exc.strerror or exc})"
    return None


class Instant:
    """Chooses and serves interjections for the engine; fills caches in the background.

    `busy()` tells the fill that an utterance is running: it waits, so a remark never queues behind it.
    """

    def __init__(
        self,
        data_dir: Path,
        lang: str,
        output_rate: int,
        *,
        enabled: bool = True,
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self.enabled = enabled
        self.lang = lang if lang in interjection_table() else "ru"
        self.output_rate = output_rate
        self.directory = Path(data_dir) / CACHE_DIR
        self.reason: str | None = writable_reason(self.directory)
        self._busy = busy
        self._caches: dict[VoiceKey, ClipCache] = {}
        self._fills: dict[VoiceKey, asyncio.Task[None]] = {}
        self._recent: deque[str] = deque(maxlen=RECENT)
        self._seq = itertools.count(1)
        self.fill_errors: dict[VoiceKey, str] = {}
        self._inflight: set[asyncio.Task[tuple[bytes, int]]] = set()
        self.yielded = 0  # syntheses cancelled because a remark started

    @property
    def active(self) -> bool:
        """On, and able to keep a cache. A compare lane may ask for interjections while this is off."""
        return self.enabled and self.reason is None

    def cache(self, tts: Any) -> ClipCache:
        key = voice_key(tts)
        cache = self._caches.get(key)
        if cache is None:
            cache = self._caches[key] = ClipCache(self.directory, key, self.output_rate)
        return cache

    def fill(self, tts: Any) -> asyncio.Task[None] | None:
        """Start (or keep) the background fill for `tts`'s voice; restarts one that ended incomplete (the
        cloud was down). Returns the task, None when no cache can be kept."""
        if self.reason is not None:
            return None
        key = voice_key(tts)
        task = self._fills.get(key)
        if task is None or (task.done() and not self._complete(tts)):
            task = asyncio.create_task(self._fill(tts), name=f"interjections-{key.tts}")
            self._fills[key] = task
        return task

    def _complete(self, tts: Any) -> bool:
        cache = self.cache(tts)
        return all(t in cache.clips for t in all_interjections(self.lang))

    async def load(self, tts: Any) -> int:
        """Read what the disk cache already holds for `tts`'s voice (start-up: local files, milliseconds)."""
        if self.reason is not None:
            return 0
        cache = self.cache(tts)

        def read_all() -> int:
            return sum(
                cache.load(t) is not None for t in all_interjections(self.lang) if t not in cache.clips
            )

        return await asyncio.to_thread(read_all)

    async def _fill(self, tts: Any) -> None:
        """What the disk does not hold, synthesised FILL_PARALLEL at a time (each yields to remarks)."""
        cache = self.cache(tts)
        missing = [
            t
            for t in all_interjections(self.lang)
            if t not in cache.clips and await asyncio.to_thread(cache.load, t) is None
        ]
        pending = iter(missing)  # shared by the workers: each text is taken once
        stopped = False

        async def worker() -> None:
            nonlocal stopped
            for text in pending:
                if stopped:
                    return
                try:
                    pcm, rate = await self._synthesise_when_idle(tts, text)
                except NuanuError as exc:  # the cloud is down: what is cached stays usable; try again later
                    self.fill_errors[cache.key] = exc.message
                    stopped = True
                    return
                cache.synthesised += 1
                try:
                    await asyncio.to_thread(cache.store, text, pcm, rate)
                except OSError as exc:
                    self.reason = (
                        f"instant reactions off: cannot write the interjection cache ({exc.strerror or exc})"
                    )
                    stopped = True
                    return

        await asyncio.gather(*(worker() for _ in range(FILL_PARALLEL)))
        if not stopped:
            self.fill_errors.pop(cache.key, None)

    async def _synthesise_when_idle(self, tts: Any, text: str) -> tuple[bytes, int]:
        """Synthesise while no remark runs; a remark that starts meanwhile cancels this one (`yield_now`),
        and it is asked again once the remark is done."""
        me = asyncio.current_task()
        while True:
            while self._busy():
                await asyncio.sleep(IDLE_POLL_S)
            job = asyncio.create_task(synthesise(tts, text, f"ij-{os.getpid()}-{next(self._seq)}"))
            self._inflight.add(job)
            try:
                return await job
            except asyncio.CancelledError:
                if me is not None and me.cancelling():
                    job.cancel()
                    raise  # the fill itself is being stopped
                self.yielded += 1  # only the synthesis was cancelled: a remark started
            finally:
                self._inflight.discard(job)

    def yield_now(self) -> None:
        """A remark starts: stop any interjection being synthesised, so it has the socket and CPU alone."""
        for job in list(self._inflight):
            job.cancel()

    async def wait_filled(self, timeout: float | None = None) -> None:
        """Let fills in progress finish (a one-shot command, after its remark, so the next run is warm)."""
        tasks = [t for t in self._fills.values() if not t.done()]
        if tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.gather(*tasks, return_exceptions=True)

    def pick(self, trigger: str, tts: Any, fallback: Any = None, label: str | None = None) -> Clip | None:
        """The interjection for this trigger, from what is cached: the category's first one not said in the
        last three remarks, then the general ones. `fallback` (the offline voice) serves only when the active
        voice has none cached, e.g. the cloud was down from the start. Never waits."""
        if self.reason is not None:
            return None
        category = classify(trigger, label)
        table = interjection_table()[self.lang]
        sources = [self.cache(tts)]
        if fallback is not None:
            sources.append(self.cache(fallback))
        for cache in sources:
            if not cache.clips:
                continue
            for text in itertools.chain(table[category], table["general"]):
                clip = cache.get(text)
                if clip is not None and text not in self._recent and clip.ms <= MAX_CLIP_MS:
                    self._recent.append(text)
                    return clip
            return None
        return None

    def cancel(self) -> None:
        for task in self._fills.values():
            task.cancel()


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalpha())


class OpeningGuard:
    """Drops the interjection when the remark starts with it anyway (the prompt asks the LLM not to).

    Holds back only the first few characters, until they can no longer be the interjection.
    """

    def __init__(self, interjection: str | None) -> None:
        self._target = _letters(interjection or "")
        self._buf = ""
        self.decided = not self._target
        self.dropped = False

    def feed(self, delta: str) -> str:
        if self.decided:
            return delta
        self._buf += delta
        letters = _letters(self._buf)
        if self._target.startswith(letters) and (
            len(letters) < len(self._target) or self._buf[-1:].isalpha()
        ):
            return ""  # could still be the interjection (or a longer word that starts like it)
        return self._decide()

    def finish(self) -> str:
        return "" if self.decided else self._decide()

    def _decide(self) -> str:
        self.decided = True
        buf, self._buf = self._buf, ""
        if not _letters(buf).startswith(self._target):
            return buf
        count, cut = 0, 0
        for cut, ch in enumerate(buf):  # noqa: B007 - `cut` is read after the loop
            if ch.isalpha():
                count += 1
                if count == len(self._target):
                    break
        rest = buf[cut + 1 :]
        if rest[:1].isalpha():
            return buf  # a longer word, not the interjection
        rest = rest.lstrip(" ,.!?;:-—–…")
        self.dropped = True
        return rest[:1].upper() + rest[1:]
