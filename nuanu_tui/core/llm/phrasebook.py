"""offline/phrasebook: a grammatical, kind joke about what the camera saw, with no network and no keys.

The trigger («камера, две собаки слева») is read with pymorphy3: the object noun (by keyword lemma or
stem, so «собачка», «собак», «собаки» all count), its count (digits or number words), adjectives and the
side. A template for the object's category is filled with the object in the case the template needs, the
numeral agreeing in gender, case and animacy. The result streams word by word like a cloud LLM.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.grammar import (
    CASES,
    MAX_COUNT,
    NounPhrase,
    clean_text,
    en_phrase,
    fix_prepositions,
    get_morph,
    number_value,
    preload,
    strip_unspeakable,
)
from nuanu_tui.core.llm.base import LLMRequest, LLMStats
from nuanu_tui.core.llm.phrasebook_data import (
    CATEGORY_WORDS,
    KEYWORDS,
    NOT_OBJECTS,
    QUANTIFIERS,
    SIDE_WORDS,
    SIDES_EN,
    SIDES_RU,
    TEMPLATES,
    Keyword,
)

# A session hears no template twice within this many remarks (the rubric's `repeats` looks back as far).
RECENT_TEMPLATES = 10
_TOKEN_RE = re.compile(r"\d+|[^\W\d_]+(?:-[^\W\d_]+)*")
_SLOT_RE = re.compile(r"\{(obj|Obj|side|Side)(?::(\w+))?\}|\{~([^}]+)\}")
_EMOJI_INDEX = {e: kw for kw in KEYWORDS for e in kw.emoji}
_EN_INDEX = {w: kw for kw in KEYWORDS for w in kw.en}
_LEMMA_INDEX = {lemma.replace("ё", "е"): kw for kw in KEYWORDS for lemma in kw.lemmas}
_STEMS = sorted(((s.replace("ё", "е"), kw) for kw in KEYWORDS for s in kw.stems), key=lambda x: -len(x[0]))
_RU_NUMBER_WORDS = frozenset(
    [
        "ноль",
        "один",
        "два",
        "три",
        "четыре",
        "пять",
        "шесть",
        "семь",
        "восемь",
        "девять",
        "десять",
        "одиннадцать",
        "двенадцать",
        "тринадцать",
        "четырнадцать",
        "пятнадцать",
        "шестнадцать",
        "семнадцать",
        "восемнадцать",
        "девятнадцать",
        "двадцать",
        "тридцать",
        "сорок",
        "пятьдесят",
        "шестьдесят",
        "семьдесят",
        "восемьдесят",
        "девяносто",
        "сто",
        "двести",
        "триста",
        "четыреста",
        "пятьсот",
        "шестьсот",
        "семьсот",
        "восемьсот",
        "девятьсот",
        "тысяча",
        "оба",
        "двое",
        "трое",
        "четверо",
        "пятеро",
        "шестеро",
        "семеро",
        "восьмеро",
        "девятеро",
        "десятеро",
    ]
)


@dataclass(slots=True)
class Sighting:
    """What the trigger reports: category, the object (if any), its count and side."""

    category: str = "generic"
    phrase: NounPhrase | None = None  # Russian object, ready to inflect
    en_noun: str | None = None  # English object noun (singular)
    side: str | None = None  # "left" | "right" | "ahead" | "behind"
    matched: list[str] = field(default_factory=list)  # trigger words that decided the category

    @property
    def count(self) -> int | None:
        return self.phrase.count if self.phrase else None

    @property
    def plural(self) -> bool:
        return bool(self.phrase and (self.phrase.plural or not self.phrase.is_singular))


@dataclass(slots=True)
class _Token:
    word: str
    latin: bool
    normals: tuple[str, ...] = ()  # pymorphy normal forms, best first
    noun: str | None = None  # normal form of the best noun parse
    noun_plural: bool = False
    noun_in_dict: bool = False
    adjective: str | None = None  # normal form when this is a qualifying adjective


def _norm(word: str) -> str:
    return word.replace("ё", "е")


def _analyse(word: str) -> _Token:
    if not re.search(r"[а-яё]", word):
        return _Token(word, latin=not word.isdigit())
    parses = get_morph().parse(word)
    tok = _Token(word, latin=False, normals=tuple(dict.fromkeys(p.normal_form for p in parses)))
    nouns = [p for p in parses if p.tag.POS == "NOUN" and p.score >= 0.05]
    if nouns:
        best = next((p for p in nouns if "nomn" in p.tag), nouns[0])
        tok.noun = best.normal_form
        tok.noun_plural = best.tag.number == "plur"
        tok.noun_in_dict = get_morph().word_is_known(word)
    first = parses[0]
    if first.tag.POS == "ADJF" and not ({"Apro", "Anum"} & set(first.tag.grammemes)):
        tok.adjective = first.normal_form
    return tok


def _keyword_for(tok: _Token) -> Keyword | None:
    if tok.latin:
        for form in (tok.word, tok.word[:-1], tok.word[:-2], tok.word[:-3] + "y"):
            if form in _EN_INDEX and (form == tok.word or tok.word.endswith(("s", "es", "ies"))):
                return _EN_INDEX[form]
        return next((kw for kw in KEYWORDS if tok.word in ("people", "men", "women", "children")
                     and {"person": "people", "man": "men", "woman": "women", "child": "children"}
                     .get(kw.en[0]) == tok.word), None)  # fmt: skip
    if tok.noun is None:
        return None
    key = _norm(tok.noun)
    if key in _LEMMA_INDEX:
        return _LEMMA_INDEX[key]
    return next((kw for stem, kw in _STEMS if key.startswith(stem)), None)


def keyword_of(word: str) -> Keyword | None:
    """The thing a word names, as the phrasebook knows it («пёс», «собачки», "dogs" → the dog keyword)."""
    return _keyword_for(_analyse(word.lower()))


def _is_number(tok: _Token) -> bool:
    return (
        tok.word.isdigit()
        or bool(set(map(_norm, tok.normals)) & _RU_NUMBER_WORDS)
        or (tok.latin and number_value([tok.word], "en") is not None)
    )


def _number_of(tokens: list[_Token]) -> int | None:
    words: list[str] = []
    for t in tokens:
        if t.word.isdigit() or t.latin:
            words.append(t.word)
        else:
            words.append(next((n for n in t.normals if _norm(n) in _RU_NUMBER_WORDS), t.word))
    lang = "en" if any(t.latin for t in tokens) else "ru"
    return number_value(words, lang)


def parse_trigger(trigger: str) -> Sighting:
    """Read a camera report: «камера, две рыжие собаки слева» → animals, 2 × рыжий собака, left."""
    raw = trigger or ""
    tokens = [_analyse(w) for w in _TOKEN_RE.findall(strip_unspeakable(raw).lower())]
    sighting = Sighting()
    for t in tokens:
        side = SIDE_WORDS.get(t.word) or next((SIDE_WORDS[n] for n in t.normals if n in SIDE_WORDS), None)
        if side:
            sighting.side = side
            break

    obj_index, keyword = None, None
    for i, t in enumerate(tokens):
        kw = _keyword_for(t)
        if kw is None:
            continue
        quantifier = t.noun in QUANTIFIERS or t.word in QUANTIFIERS
        if quantifier and any(_keyword_for(u) for u in tokens[i + 1 : i + 4]):
            continue  # «толпа туристов»: the tourists are the object, the crowd their count
        obj_index, keyword = i, kw
        break

    if keyword is not None and obj_index is not None:
        sighting.category = keyword.category
        sighting.en_noun = keyword.en[0]
        sighting.matched.append(tokens[obj_index].word)
    else:
        for t in tokens:
            cat = CATEGORY_WORDS.get(t.word) or next(
                (CATEGORY_WORDS[n] for n in t.normals if n in CATEGORY_WORDS), None
            )
            if cat:
                sighting.category = cat
                sighting.matched.append(t.word)
                break
        if not sighting.matched:
            hits = [e for e in _EMOJI_INDEX if e in raw]
            if hits:
                kw = _EMOJI_INDEX[hits[0]]
                plural = raw.count(hits[0]) > 1
                sighting.category, sighting.en_noun = kw.category, kw.en[0]
                sighting.phrase = NounPhrase(kw.ru, plural=plural)
                sighting.matched.append(hits[0])
                return sighting
            obj_index = next(
                (
                    i
                    for i, t in enumerate(tokens)
                    if t.noun
                    and t.noun_in_dict
                    and _norm(t.noun) not in NOT_OBJECTS
                    and t.noun not in QUANTIFIERS
                    and t.noun not in SIDE_WORDS
                    and not _is_number(t)
                ),
                None,
            )
    if obj_index is None:
        return sighting

    obj = tokens[obj_index]
    if obj.latin:
        singular = keyword.en[0] if keyword else obj.word
        plural = obj.word != singular and obj.word not in keyword.en[:1] if keyword else False
        noun = keyword.ru if keyword else None
    else:
        plural = obj.noun_plural
        noun = obj.noun if obj.noun_in_dict else (keyword.ru if keyword else obj.noun)
    if noun is None:
        return sighting

    # walk left: adjectives («рыжие»), then number words / digits, then a quantifier noun («стая»)
    j = obj_index - 1
    adjectives: list[str] = []
    while j >= 0 and len(adjectives) < 2 and tokens[j].adjective and not _is_number(tokens[j]):
        if tokens[j].adjective not in SIDE_WORDS:
            adjectives.insert(0, tokens[j].adjective)  # type: ignore[arg-type]
        j -= 1
    while j >= 0 and tokens[j].word in ("of", "a"):
        j -= 1
    k = j
    while k >= 0 and _is_number(tokens[k]):
        k -= 1
    count = _number_of(tokens[k + 1 : j + 1]) if k < j else None
    if count is None and j >= 0:
        q = tokens[j].noun if tokens[j].noun in QUANTIFIERS else tokens[j].word
        if q in QUANTIFIERS:
            count, plural = QUANTIFIERS[q], True
    if count is not None and not 0 <= count <= MAX_COUNT:
        count, plural = None, True
    sighting.phrase = NounPhrase(noun, count=count, plural=plural, adjectives=[] if obj.latin else adjectives)
    if keyword is None:
        sighting.en_noun = None
    return sighting


@dataclass(frozen=True, slots=True)
class _Template:
    text: str
    obj: bool
    side: bool


def _index(templates: tuple[str, ...]) -> list[_Template]:
    return [_Template(t, "{obj" in t.lower(), "{side" in t.lower()) for t in templates]


_INDEX = {lang: {cat: _index(ts) for cat, ts in cats.items()} for lang, cats in TEMPLATES.items()}


def render_template(template: str, sighting: Sighting, lang: str = "ru") -> str:
    """Fill one template's slots from a sighting (no cleaning, no choice: tests pin templates with this)."""
    phrase = sighting.phrase

    def fill(m: re.Match[str]) -> str:
        slot, case, options = m.group(1), m.group(2), m.group(3)
        if options is not None:
            opts = options.split("|")
            if lang == "ru" and phrase is not None:
                return phrase.verb_form(opts)
            return opts[-1] if sighting.plural else opts[0]
        if slot in ("side", "Side"):
            value = (SIDES_RU if lang == "ru" else SIDES_EN)[sighting.side or "ahead"]
        elif lang == "ru":
            if phrase is None:
                raise ValueError("template needs an object")
            value = phrase.render(case if case in CASES else "nomn")
        else:
            if sighting.en_noun is None:
                raise ValueError("template needs an object")
            count = phrase.count if phrase else None
            value = en_phrase(sighting.en_noun, count, plural=sighting.plural)
        return value[:1].upper() + value[1:] if slot[0].isupper() else value

    return _SLOT_RE.sub(fill, template)


class PhrasebookLLM:
    """LLMProvider that needs nothing but pymorphy3: templates by category, agreement by morphology."""

    spec = "offline/phrasebook"
    offline = True

    def __init__(self, lang: str = "ru", seed: int | None = None, token_interval_ms: float = 0.0) -> None:
        self.lang = lang if lang in TEMPLATES else "ru"
        self.token_interval_ms = token_interval_ms
        self._rng = random.Random(seed)
        self._recent: deque[str] = deque(maxlen=RECENT_TEMPLATES)  # templates said lately, newest last
        self.last_category: str | None = None

    async def warm(self) -> None:
        """Load the pymorphy3 dictionaries and num2words (~0.2 s) now, off the event loop, not on the first
        utterance."""
        await asyncio.to_thread(preload)

    def classify(self, trigger: str) -> str:
        return parse_trigger(trigger).category

    def _choose(self, lang: str, sighting: Sighting) -> _Template:
        """A template not said in this session's last RECENT_TEMPLATES remarks: the category's first, then
        the generic ones; when every one that fits was said lately, the one said longest ago."""
        has_obj = sighting.phrase is not None if lang == "ru" else sighting.en_noun is not None
        has_side = sighting.side is not None
        pools = []
        for category in (sighting.category, "generic"):
            pool = [t for t in _INDEX[lang][category] if (has_obj or not t.obj) and (has_side or not t.side)]
            with_obj = [t for t in pool if t.obj]
            if has_obj and len(with_obj) >= 2:
                pool = with_obj
            fresh = [t for t in pool if t.text not in self._recent]
            if fresh:
                return self._rng.choice(fresh)
            pools.extend(pool)
        if not pools:
            raise NuanuError("llm", f"phrasebook has no template for {sighting.category!r}")  # data bug only
        last_said = {text: i for i, text in enumerate(self._recent)}  # each template's latest turn
        return min(pools, key=lambda t: last_said[t.text])  # all were said lately: the longest ago

    def compose(self, trigger: str, lang: str = "ru") -> str:
        """The whole remark for `trigger`, speakable: no control characters, no emoji, numbers as words."""
        lang = lang if lang in TEMPLATES else self.lang
        sighting = parse_trigger(trigger)
        template = self._choose(lang, sighting)
        self._recent.append(template.text)
        self.last_category = sighting.category
        text = render_template(template.text, sighting, lang)
        text = clean_text(fix_prepositions(text) if lang == "ru" else text, lang)
        return text[:1].upper() + text[1:]

    async def stream(self, request: LLMRequest, stats: LLMStats) -> AsyncIterator[str]:
        """Word-by-word deltas (first word bare, then " word"), optionally paced like a real model."""
        try:
            text = self.compose(request.trigger, request.lang or self.lang)
        except NuanuError:
            raise
        except Exception as exc:  # a bug here must still reach the operator as one line
            raise NuanuError("llm", f"phrasebook failed: {type(exc).__name__}: {exc}") from exc
        stats.connection_reused = True
        stats.provider_timings = {"category": self.last_category}
        delay = self.token_interval_ms / 1000.0
        for i, word in enumerate(text.split(" ")):
            if i and delay > 0:
                await asyncio.sleep(delay)
            stats.tokens += 1
            yield word if i == 0 else " " + word
        stats.finish_reason = "stop"

    async def list_models(self) -> list[str]:
        return ["phrasebook"]

    async def aclose(self) -> None:
        return None
