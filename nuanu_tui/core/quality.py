"""The rubric: a deterministic, offline first look at whether a remark was any good, for every utterance.

It cannot tell whether a remark is funny, kind or true; it tells what can be counted without a model:
length in words and audio seconds, Latin-script words in a Russian remark, whether the trigger's subject is
mentioned (as a lemma, so «собаки» matches «собак», or a word of the same kind: «пёс»), whether the answer
stopped on the token limit or mid-sentence, whether it repeats one of its session's last remarks, and
whether the safety filter had to block a word or strip markup. pymorphy3 does the morphology (already
loaded for the phrasebook and the filter), razdel the sentences. It runs after the remark has been played,
never on the audio path.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from nuanu_tui.core.assets import read_asset

FLAGS = ("too_long", "too_short", "not_russian", "off_topic", "cut_off", "repeats", "blocked", "markup")
SESSION_REMARKS = 10  # a session remembers this many remarks for `repeats`
MIN_REPEAT_LEMMAS = 3  # below this many content lemmas only an identical remark counts as a repeat
LATIN_OK_FILE = "quality/latin_ok.txt"

_WORD = re.compile(r"\d+|[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_LATIN = re.compile(r"[A-Za-z]")
_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]")
_ENDS_SENTENCE = re.compile(r"[.!?…][»\"”’')\]]*$")
# Parts of speech that carry what a remark is about; pronoun-like adjectives (Apro: «наш», «такой») do not.
_CONTENT_POS = frozenset({"NOUN", "ADJF", "ADJS", "COMP", "VERB", "INFN", "PRTF", "PRTS", "GRND", "ADVB"})
_STOP_LEMMAS = frozenset(
    [
        "быть",
        "это",
        "весь",
        "очень",
        "тут",
        "там",
        "здесь",
        "уже",
        "еще",
        "ещё",
        "просто",
        "так",
        "как",
        "вот",
        "сейчас",
        "теперь",
        "только",
        "даже",
        "тоже",
        "также",
        "сегодня",
        "снова",
        "опять",
        "почти",
        "всегда",
        "никогда",
        "мочь",
        "хотеть",
        "давать",
        "самый",
        "другой",
    ]
)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where the flags start (Settings `quality_*`, README "Quality"). Equal to a limit is within it."""

    max_words: int = 35
    min_words: int = 4
    max_seconds: float = 14.0
    min_seconds: float = 1.0
    latin_share: float = 0.15  # not_russian when Latin-script words / words is above this
    repeat: float = 0.5  # repeats when the content-lemma overlap (Jaccard) reaches this
    latin_ok: frozenset[str] = frozenset()  # names allowed beyond the shipped list (lower case)

    @classmethod
    def from_settings(cls, settings: Any) -> Thresholds:
        extra = (getattr(settings, "quality_latin_ok", None) or "").split(",")
        return cls(
            max_words=settings.quality_max_words,
            min_words=settings.quality_min_words,
            max_seconds=settings.quality_max_seconds,
            min_seconds=settings.quality_min_seconds,
            latin_share=settings.quality_latin_share,
            repeat=settings.quality_repeat,
            latin_ok=frozenset(n.strip().lower() for n in extra if n.strip()),
        )


@dataclass(slots=True)
class Quality:
    """The rubric's verdict on one remark: the `quality` object of every utterance."""

    words: int
    sentences: int
    seconds: float | None  # the remark's audio (None: none was produced)
    latin_words: int  # Latin-script words other than the allowed names
    on_topic: bool | None  # None: the trigger names no subject to look for
    complete: bool
    repeats: str | None  # the utterance id of the earlier remark this one repeats
    flags: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.flags

    def to_json(self) -> dict[str, Any]:
        return {
            "words": self.words,
            "sentences": self.sentences,
            "seconds": self.seconds,
            "latin_words": self.latin_words,
            "on_topic": self.on_topic,
            "complete": self.complete,
            "repeats": self.repeats,
            "flags": list(self.flags),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Quality:
        return cls(
            words=int(data.get("words") or 0),
            sentences=int(data.get("sentences") or 0),
            seconds=data.get("seconds"),
            latin_words=int(data.get("latin_words") or 0),
            on_topic=data.get("on_topic"),
            complete=bool(data.get("complete")),
            repeats=data.get("repeats"),
            flags=[f for f in data.get("flags") or [] if f in FLAGS],
        )


@dataclass(frozen=True, slots=True)
class Remark:
    """What the rubric reads about one utterance."""

    text: str
    trigger: str = ""
    utterance_id: str = ""
    seconds: float | None = None
    finish_reason: str | None = None  # the provider's ("length": stopped on max_tokens)
    blocked: bool = False  # the safety filter replaced a blocked word with its safe phrase
    stripped: bool = False  # the safety filter stripped markdown, emoji or asides before the TTS
    lang: str = "ru"


@dataclass(frozen=True, slots=True)
class _Print:
    """What `repeats` compares: content lemmas (the trigger's own removed) and the bare wording."""

    utterance_id: str
    lemmas: frozenset[str]
    wording: str


class RemarkSession:
    """The last remarks of one session (a console session, a ride, a compare lane, a bench run's
    configuration), for `repeats`. Not thread-safe: one session is rated on one loop."""

    def __init__(self, size: int = SESSION_REMARKS) -> None:
        self._recent: deque[_Print] = deque(maxlen=size)

    def __len__(self) -> int:
        return len(self._recent)

    def repeat_of(self, current: _Print, threshold: float) -> str | None:
        """The earlier remark `current` repeats: the same wording, or the highest lemma overlap at or above
        `threshold` (the newest on a tie)."""
        best: tuple[float, str] | None = None
        for earlier in reversed(self._recent):
            if current.wording and current.wording == earlier.wording:
                return earlier.utterance_id
            if min(len(current.lemmas), len(earlier.lemmas)) < MIN_REPEAT_LEMMAS:
                continue
            score = len(current.lemmas & earlier.lemmas) / len(current.lemmas | earlier.lemmas)
            if score >= threshold and (best is None or score > best[0]):
                best = (score, earlier.utterance_id)
        return None if best is None else best[1]

    def add(self, remark: _Print) -> None:
        self._recent.append(remark)


# -- pieces ------------------------------------------------------------------------------------------------


@cache
def shipped_latin_ok() -> frozenset[str]:
    lines = read_asset(LATIN_OK_FILE).splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.lstrip().startswith("#"))


def words_of(text: str) -> list[str]:
    return _WORD.findall(text)


def count_sentences(text: str) -> int:
    import razdel  # imported here: results that only carry a Quality never load the morphology stack

    return sum(1 for s in razdel.sentenize(text) if _WORD.search(s.text))


def ends_sentence(text: str) -> bool:
    return _ENDS_SENTENCE.search(text.rstrip()) is not None


def _is_latin(word: str) -> bool:
    return _LATIN.search(word) is not None and _CYRILLIC.search(word) is None


@lru_cache(maxsize=65536)
def _content_lemma(word: str) -> str | None:
    """The word's lemma when it carries content (noun, verb, adjective, adverb), else None."""
    low = word.lower().replace("ё", "е")
    if low.isdigit():
        return None
    if _is_latin(low):
        return low if len(low) >= 3 else None
    from nuanu_tui.core.grammar import get_morph

    parses = get_morph().parse(low)
    floor = parses[0].score / 2
    # Of the likely parses a noun wins: «буйволов» is буйвол, not буйволовый.
    parse = next((p for p in parses if p.score >= floor and p.tag.POS == "NOUN"), parses[0])
    if parse.tag.POS not in _CONTENT_POS or "Apro" in parse.tag:
        return None
    lemma = parse.normal_form.replace("ё", "е")
    return None if lemma in _STOP_LEMMAS else lemma


def content_lemmas(text: str) -> frozenset[str]:
    return frozenset(lemma for w in words_of(text) if (lemma := _content_lemma(w)) is not None)


def _wording(text: str) -> str:
    return " ".join(w.lower().replace("ё", "е") for w in words_of(text))


def fingerprint(text: str, trigger: str, utterance_id: str) -> _Print:
    return _Print(utterance_id, content_lemmas(text) - content_lemmas(trigger), _wording(text))


@dataclass(frozen=True, slots=True)
class Subject:
    """What the trigger is about: a lemma and, when the phrasebook knows the thing, its kind (its synonyms)."""

    lemma: str
    keyword: Any = None


@lru_cache(maxsize=4096)
def subject_of(trigger: str) -> Subject | None:
    """The trigger's subject noun («две собаки слева» → собака), or None when it names none («жарко»)."""
    from nuanu_tui.core.llm.phrasebook import keyword_of, parse_trigger

    sighting = parse_trigger(trigger)
    if sighting.phrase is None:
        return None
    lemma = sighting.phrase.noun.lower().replace("ё", "е")
    return Subject(lemma, keyword_of(lemma))


def mentions(text: str, subject: Subject) -> bool:
    """Does `text` name the subject: any form of its lemma, or a word of the same kind («пёс» for собака)?"""
    from nuanu_tui.core.llm.phrasebook import keyword_of
    from nuanu_tui.core.safety import normal_forms

    for word in words_of(text):
        low = word.lower().replace("ё", "е")
        if low == subject.lemma or (not _is_latin(low) and subject.lemma in normal_forms(low)):
            return True
        if subject.keyword is not None and keyword_of(low) is subject.keyword:
            return True
    return False


# -- the rubric --------------------------------------------------------------------------------------------


def rate(
    remark: Remark, session: RemarkSession | None = None, thresholds: Thresholds | None = None
) -> Quality | None:
    """The rubric for one remark (None when there is no remark text to judge). Adds it to `session`."""
    text = " ".join(remark.text.split())
    if not text:
        return None
    from nuanu_tui.core.safety import has_markup

    limits = thresholds or Thresholds()
    words = words_of(text)
    n_words = len(words)
    allowed = shipped_latin_ok() | limits.latin_ok
    latin = sum(1 for w in words if _is_latin(w) and w.lower() not in allowed)
    seconds = round(remark.seconds, 2) if remark.seconds else None
    subject = subject_of(remark.trigger) if remark.trigger else None
    on_topic = None if subject is None else mentions(text, subject)
    complete = remark.finish_reason != "length" and ends_sentence(text)
    current = fingerprint(text, remark.trigger, remark.utterance_id)
    repeats = session.repeat_of(current, limits.repeat) if session is not None else None
    if session is not None:
        session.add(current)

    flags = []
    if n_words > limits.max_words or (seconds is not None and seconds > limits.max_seconds):
        flags.append("too_long")
    if n_words < limits.min_words or (seconds is not None and seconds < limits.min_seconds):
        flags.append("too_short")
    if remark.lang == "ru" and n_words and latin / n_words > limits.latin_share:
        flags.append("not_russian")
    if on_topic is False:
        flags.append("off_topic")
    if not complete:
        flags.append("cut_off")
    if repeats is not None:
        flags.append("repeats")
    if remark.blocked:
        flags.append("blocked")
    if remark.stripped or has_markup(remark.text):  # the text kept unfiltered still holds it
        flags.append("markup")
    return Quality(
        words=n_words,
        sentences=count_sentences(text),
        seconds=seconds,
        latin_words=latin,
        on_topic=on_topic,
        complete=complete,
        repeats=repeats,
        flags=flags,
    )


def warm() -> None:
    """Rate one throwaway remark, on a start-up thread: the first real rating runs on the engine's loop, and
    cold (razdel, the morphology's first parses, the asset tables) it took ~23 ms there, over the 20 ms budget."""
    rate(
        Remark(text="Две собаки слева, а мы едем дальше.", trigger="две собаки слева", utterance_id="warm-up")
    )
