"""Russian (and a little English) agreement for generated phrases: numbers with nouns, cases, clean text.

The offline phrasebook speaks through a TTS, so every phrase must be grammatical and speakable: counts are
spelled as words that agree with the noun in gender, case and animacy («двух собак», «двадцать одну
собаку», «пятью скутерами»), and anything a speech engine would garble (control characters, emoji) is
removed. pymorphy3 does the noun/adjective morphology, num2words spells the numerals.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import pymorphy3

CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct")
_N2W_CASE = {"nomn": "n", "gent": "g", "datv": "d", "accs": "a", "ablt": "i", "loct": "p"}
_N2W_GENDER = {"masc": "m", "femn": "f", "neut": "n"}
MAX_COUNT = 999_999  # larger "counts" are treated as "many" (nobody counts a million dogs out loud)


def num2words(number: int | float, **kwargs: object) -> str:
    """num2words, imported on first use: its package loads every language (~0.1 s), and start-up (the
    path to the first sound) never spells a number."""
    from num2words import num2words as spell

    return str(spell(number, **kwargs))


def preload() -> None:
    """Load what spelling and inflection need (pymorphy's dictionaries, num2words): for a warm-up thread."""
    get_morph()
    num2words(2, lang="ru")


@lru_cache(maxsize=1)
def get_morph() -> pymorphy3.MorphAnalyzer:
    """The one shared analyzer (~75-140 ms to load: call it at start-up, e.g. from `warm()`)."""
    return pymorphy3.MorphAnalyzer(lang="ru")


# --- cleaning ---------------------------------------------------------------------------------------

_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "So", "Sk", "Mn", "Me"}
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
_SPACES_RE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"\s+([,.!?;:…])")


def strip_unspeakable(text: str) -> str:
    """Drop control characters, emoji, symbols and stray combining marks; collapse whitespace.

    Text is NFC-normalised first so «й»/«ё» written with combining marks survive as letters.
    """
    text = unicodedata.normalize("NFC", text)
    out = []
    for ch in text:
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) not in _DROP_CATEGORIES:
            out.append(ch)
    return _SPACES_RE.sub(" ", "".join(out)).strip()


def _spell(match: re.Match[str], lang: str) -> str:
    raw = match.group(0)
    try:
        value: int | float = float(raw.replace(",", ".")) if ("." in raw or "," in raw) else int(raw)
        if len(raw) > 15:
            raise OverflowError
        return num2words(value, lang=lang)
    except (OverflowError, ValueError, NotImplementedError):
        return " ".join(num2words(int(d), lang=lang) for d in raw if d.isdigit())


_DIGITS_NOUN_RE = re.compile(r"(?<![\d.,])(\d{1,6})(\s+)([^\W\d_]+)")


def _spell_counted(match: re.Match[str]) -> str:
    """«21 собака» → «двадцать одна собака»: the numeral takes the gender of a following noun."""
    n, space, word = int(match.group(1)), match.group(2), match.group(3)
    parse = next((p for p in get_morph().parse(word) if p.tag.POS == "NOUN"), None)
    gender = str(parse.tag.gender) if parse is not None and parse.tag.gender else None
    return number_words(n, "nomn", gender or "masc") + space + word


def spell_digits(text: str, lang: str = "ru") -> str:
    """Replace every digit run with words («21 собака» → «двадцать одна собака»), never read as digits."""
    if lang == "ru":
        text = _DIGITS_NOUN_RE.sub(_spell_counted, text)
    return _NUMBER_RE.sub(lambda m: _spell(m, lang), text)


def clean_text(text: str, lang: str = "ru") -> str:
    """Speakable text: no control characters or emoji, digits as words, tidy spaces before punctuation."""
    text = spell_digits(strip_unspeakable(text), lang)
    return _SPACE_BEFORE_PUNCT_RE.sub(r"\1", _SPACES_RE.sub(" ", text)).strip()


_CONS = "бвгджзйклмнпрстфхцчшщ"
_EUPHONY = (
    # «со скутером», «со звездой» (с + с/з/ш/ж + consonant, or щ): a bare «с» there is unpronounceable
    (re.compile(rf"(?<!\w)([сС]) (?=[сзшжСЗШЖ][{_CONS}]|[щЩ])"), r"\1о "),
    # «об обезьянах», «об одной собаке»
    (re.compile(r"(?<!\w)([оО]) (?=[аоуэиАОУЭИ])"), r"\1б "),
    # «во Франции», «во время» style: в + в/ф + consonant
    (re.compile(rf"(?<!\w)([вВ]) (?=[вфВФ][{_CONS}])"), r"\1о "),
    # «ко мне», «ко всем»
    (re.compile(r"(?<!\w)([кК]) (?=(?:мн|вс)\w)"), r"\1о "),
)


def fix_prepositions(text: str) -> str:
    """Russian prepositions before the word that follows them: «с скутером» → «со скутером»,
    «о обезьянах» → «об обезьянах». Templates cannot know which noun will fill a slot."""
    for pattern, repl in _EUPHONY:
        text = pattern.sub(repl, text)
    return text


# --- numerals ---------------------------------------------------------------------------------------


def number_words(n: int, case: str = "nomn", gender: str = "masc", animate: bool = False) -> str:
    """A Russian cardinal in a case/gender («две», «двух», «двадцатью одной»). `animate` only matters in accs."""
    return num2words(n, lang="ru", case=_N2W_CASE[case], gender=_N2W_GENDER.get(gender, "m"), animate=animate)


_RU_NUMBERS: dict[str, int] = {
    "ноль": 0, "один": 1, "одна": 1, "одно": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5,
    "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10, "одиннадцать": 11, "двенадцать": 12,
    "тринадцать": 13, "четырнадцать": 14, "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17,
    "восемнадцать": 18, "девятнадцать": 19, "двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50,
    "шестьдесят": 60, "семьдесят": 70, "восемьдесят": 80, "девяносто": 90, "сто": 100, "двести": 200,
    "триста": 300, "четыреста": 400, "пятьсот": 500, "шестьсот": 600, "семьсот": 700, "восемьсот": 800,
    "девятьсот": 900, "оба": 2, "обе": 2, "двое": 2, "трое": 3, "четверо": 4, "пятеро": 5, "шестеро": 6,
    "семеро": 7, "восьмеро": 8, "девятеро": 9, "десятеро": 10, "пара": 2, "парочка": 2, "десяток": 10,
    "дюжина": 12,
}  # fmt: skip
_RU_THOUSAND = "тысяча"
_EN_NUMBERS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "couple": 2,
    "pair": 2, "dozen": 12, "both": 2,
}  # fmt: skip


def number_value(words: list[str], lang: str = "ru") -> int | None:
    """Value of a spelled number («двадцать одна» → 21, «two hundred five» → 205); None if not a number."""
    total, current, seen = 0, 0, False
    table = _RU_NUMBERS if lang == "ru" else _EN_NUMBERS
    for w in words:
        if w.isdigit():
            current += int(w)
            seen = True
        elif w in ("тысяча", "тысячи", "тысяч", "thousand"):
            total += (current or 1) * 1000
            current, seen = 0, True
        elif lang == "en" and w == "hundred":
            current = (current or 1) * 100
            seen = True
        elif w in table:
            current += table[w]
            seen = True
        elif lang == "en" and w in ("and", "a"):
            continue
        else:
            return None
    return total + current if seen else None


# --- noun phrases -----------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _noun_parse(lemma: str) -> pymorphy3.analyzer.Parse:
    """The nominative noun parse of `lemma` (ё-insensitive); falls back to any noun, then the first parse."""
    parses = get_morph().parse(lemma)
    key = lemma.replace("ё", "е")
    nouns = [p for p in parses if p.tag.POS == "NOUN"]
    for p in nouns:
        if p.normal_form.replace("ё", "е") == key and "nomn" in p.tag:
            return p
    return nouns[0] if nouns else parses[0]


def _inflect(parse: pymorphy3.analyzer.Parse, grammemes: set[str]) -> str:
    """Inflect, dropping grammemes pymorphy cannot satisfy rather than failing (keeps the word speakable)."""
    for attempt in (grammemes, grammemes - {"anim", "inan"}, {g for g in grammemes if g in CASES}):
        form = parse.inflect(set(attempt))
        if form is not None:
            return form.word
    return parse.word


@dataclass(slots=True)
class NounPhrase:
    """«две большие собаки»: an optional count, adjectives and a noun, renderable in any case."""

    noun: str  # normal form, e.g. "собака"
    count: int | None = None
    plural: bool = False  # when count is None: «собаки» vs «собака»
    adjectives: list[str] = field(default_factory=list)  # normal forms, e.g. ["рисовый"]

    @property
    def _parse(self) -> pymorphy3.analyzer.Parse:
        return _noun_parse(self.noun)

    @property
    def gender(self) -> str:
        g = self._parse.tag.gender
        g = str(g) if g else "masc"  # pymorphy's grammeme objects refuse comparisons with case names
        return "masc" if g == "ms-f" else g

    @property
    def animate(self) -> bool:
        return self._parse.tag.animacy == "anim"

    @property
    def is_singular(self) -> bool:
        """Subject-verb agreement: «одна собака стоит», «две собаки стоят», «двадцать одна собака стоит»."""
        if self.count is None:
            return not self.plural
        return self.count % 10 == 1 and self.count % 100 != 11

    def verb_form(self, options: list[str]) -> str:
        """Choose `sing|plur` or `masc|femn|neut|plur` agreeing with this phrase as a subject."""
        if len(options) == 4:
            if not self.is_singular:
                return options[3]
            return options[{"masc": 0, "femn": 1, "neut": 2}.get(self.gender, 0)]
        return options[0] if self.is_singular else options[-1]

    def render(self, case: str = "nomn", digits: bool = False) -> str:
        """The phrase in `case`, numerals agreeing with the noun (digits=True keeps the count as digits)."""
        if case not in CASES:
            raise ValueError(f"unknown case {case!r}; use one of {', '.join(CASES)}")
        p = self._parse
        gender, animate = self.gender, self.animate
        anim = {"anim" if animate else "inan"}
        n = self.count
        numeral: str | None = None
        if n is None:
            number = "plur" if self.plural else "sing"
            noun = _inflect(p, {number, case})
            adj_gram = {number, case} | ({gender} if number == "sing" else set())
        elif n % 10 == 1 and n % 100 != 11:
            numeral = number_words(n, case, gender, animate=animate and case == "accs")
            noun = _inflect(p, {"sing", case})
            adj_gram = {"sing", gender, case}
        elif case in ("nomn", "accs"):
            if case == "accs" and animate and n in (2, 3, 4):
                # «вижу двух собак»: simple 2-4 take the genitive with animate nouns
                numeral = number_words(n, "accs", gender, animate=True)
                noun = _inflect(p, {"plur", "gent"})
                adj_gram = {"plur", "gent"}
            else:
                # «двадцать две собаки», «пять собак»: nominative numeral, noun agreeing with the number
                numeral = number_words(n, "nomn", gender)
                agreed = p.make_agree_with_number(n)
                noun = agreed.word if agreed is not None else _inflect(p, {"plur", "gent"})
                small = n % 10 in (2, 3, 4) and not 12 <= n % 100 <= 14
                adj_gram = {"plur", "nomn"} if small and gender == "femn" else {"plur", "gent"}
        else:
            numeral = number_words(n, case, gender)
            noun = _inflect(p, {"plur", case})
            adj_gram = {"plur", case}
        if noun == "людей" and n is not None:
            noun = "человек"  # pymorphy quirk: «пять человек», «двух человек», not «людей»
        if case == "accs":
            adj_gram |= anim
        adjs = [_inflect(_adj_parse(a), adj_gram) for a in self.adjectives]
        words = ([str(n)] if digits and n is not None else [numeral] if numeral else []) + adjs + [noun]
        return " ".join(words)


@lru_cache(maxsize=512)
def _adj_parse(lemma: str) -> pymorphy3.analyzer.Parse:
    parses = get_morph().parse(lemma)
    return next((p for p in parses if p.tag.POS == "ADJF"), parses[0])


def agree(noun: str, n: int, case: str = "nomn", digits: bool = False) -> str:
    """«собака», 21 → «двадцать одна собака» (or «21 собака» with digits=True); any case."""
    return NounPhrase(noun, count=n).render(case, digits=digits)


# --- English ----------------------------------------------------------------------------------------

_EN_IRREGULAR = {
    "person": "people", "man": "men", "woman": "women", "child": "children", "goose": "geese",
    "mouse": "mice", "sheep": "sheep", "fish": "fish", "deer": "deer", "ox": "oxen", "foot": "feet",
    "people": "people", "police": "police", "cattle": "cattle",
}  # fmt: skip


def en_plural(noun: str) -> str:
    """Plural of an English noun (small irregular table, then spelling rules)."""
    if noun in _EN_IRREGULAR:
        return _EN_IRREGULAR[noun]
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


_EN_MASS = frozenset(
    [
        "rain",
        "drizzle",
        "shower",
        "fog",
        "mist",
        "heat",
        "sunshine",
        "wind",
        "breeze",
        "thunder",
        "lightning",
        "coffee",
        "food",
        "rice",
        "traffic",
        "fruit",
        "people",
        "police",
        "cattle",
    ]
)
_EN_UNIQUE = frozenset(["sun", "ocean", "sea", "sky", "moon", "jungle"])


def en_phrase(noun: str, count: int | None = None, plural: bool = False) -> str:
    """«a dog», «an elephant», «dogs», «twenty-one dogs», «rain», «the sun»."""
    if count is not None:
        return f"{num2words(count, lang='en')} {noun if count == 1 else en_plural(noun)}"
    if plural:
        return en_plural(noun)
    if noun in _EN_MASS:
        return noun
    if noun in _EN_UNIQUE:
        return f"the {noun}"
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"
