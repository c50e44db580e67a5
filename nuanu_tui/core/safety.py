"""Output filter between the LLM and the TTS: what a public speaker on a family shuttle may say out loud.

Each chunk the chunker hands out goes through `OutputFilter.clean_chunk` right before it is sent to the TTS:
1. markup a speech engine would read out or garble is stripped: markdown (bold, italics, headings, bullets,
   code, links ``[t](u)`` → t), URLs, emoji and text emoticons, stage directions (``(смеётся)``,
   ``*вздыхает*``, ``[laughs]``); whitespace is collapsed. Clean text takes a fast path and is left as is.
2. every word is checked against the blocklist; a hit replaces the chunk with a safe phrase, once per
   utterance, and silences the rest of it. Self-censored words (``f*ck``, ``х*йня``) count as hits.
3. once ``max_chars`` spoken characters have been passed, the chunk is cut at a word boundary and the rest
   of the utterance is silent.

Blocklist files hold one entry per line (blank lines and ``#`` lines are skipped):
- ``word`` — the word and its inflections. Cyrillic: any form whose pymorphy3 normal form is ``word``
  («суку», «суками» → «сука»). Latin: simple English inflections (-s, -es, -ed, -ing, y → -ies, doubled
  final consonant: «stabbed», «raping»).
- ``stem*`` — any word that *starts* with ``stem`` («мудак*» → «мудаки», «мудачок» is a separate entry).
- ``~stem*`` — the same, also after Russian verbal prefixes («~еб*» → «заебал», «отъебись»; «~хуй*» →
  «нахуй», «похуй»).
- ``!word`` / ``!stem*`` — never flag these words (exceptions to the entries above).
Matching is on whole words only (a stem never matches in the middle of a word), so «застрахуйте»,
«употреблять», «оскорбление», «себя», «cockatoo», «therapist» and «Scunthorpe» pass. Latin look-alike
letters inside a Cyrillic word («xуй» with a Latin x) are mapped to Cyrillic first.

Cost: regexes are compiled at import, a compiled blocklist is shared between filters, each distinct word is
judged once (verdict cache) and pymorphy lookups are lru-cached, so a clean chunk costs a few µs
(``benchmarks/filter_cost.py`` measures it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from nuanu_tui.core.assets import read_asset
from nuanu_tui.core.errors import NuanuError

__all__ = [
    "DEFAULT_BLOCKLISTS",
    "Blocklist",
    "ChunkVerdict",
    "FilterConfig",
    "OutputFilter",
    "has_markup",
    "load_blocklist",
    "strip_markup",
]

SAFE_PHRASE_RU = "Ой, об этом я лучше промолчу. Давайте просто полюбуемся видом!"
SAFE_PHRASE_EN = "Oops, I'd better keep that one to myself. Let's just enjoy the view!"
DEFAULT_BLOCKLISTS = ("blocklist_ru.txt", "blocklist_en.txt")  # shipped in assets/blocklists

# Russian prefixes a `~stem*` entry may follow (at most two: «понаебали»). Deliberately without «с», «в»,
# «не», «под», «подо»: «себя», «веб», «небо», «подебоширить», «уподоблять» must pass. Checked against every
# word form in the pymorphy3 dictionary. Prefixed forms with «с» are listed on their own («спизд*»).
RU_PREFIXES = (
    "а", "взъ", "вз", "въ", "вы", "до", "долбо", "за", "изъ", "из", "ис", "на", "недо", "ни", "о", "об",
    "объ", "обо", "от", "отъ", "ото", "пере", "по", "подъ", "при", "про", "раз", "разъ",
    "рас", "съ", "у",
)  # fmt: skip

# Latin letters that look like Cyrillic ones, for words that mix both scripts («xуй», «пи3дец» is not handled).
_LOOKALIKES = str.maketrans("aceopxykmthb", "асеорхукмтнв")
_CYRILLIC = re.compile(r"[а-яё]")
_LATIN = re.compile(r"[a-z]")

# -- stripping (compiled once, at import) ----------------------------------------------------------------

_EMOJI_RANGES = (
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, symbols & pictographs ext., flags parts
    "\u2600-\u27bf"  # misc symbols, dingbats
    "\u2b00-\u2bff"  # arrows & stars (⭐, ⬆)
    "\u2300-\u23ff"  # ⌚, ⏰, ⏩
    "\ufe0e\ufe0f\u200d\u20e3"  # variation selectors, zero-width joiner, keycap
    "\U000e0020-\U000e007f"  # tag characters (subdivision flags)
)
_EMOJI = re.compile(f"[{_EMOJI_RANGES}]+")
_EMOTICON = re.compile(r"(?<![\w:;])(?:[:;][-']?[()DPpOo3|*\\/\]\[]+|[xX]D+|<3|\^_\^)(?![\w])")
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_URL = re.compile(r"<?(?:https?://|www\.)[^\s<>()\[\]]*[^\s<>()\[\].,;:!?»\"')]>?", re.IGNORECASE)
_CODE_FENCE = re.compile(r"```[\w-]*")
_BOLD = re.compile(r"(?<![\w*])(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"~~(.+?)~~")
_STAGE_STAR = re.compile(r"(?<![\w*])\*(?=\S)[^*\n]+?(?<=\S)\*(?![\w*])")
_STAGE_PAREN = re.compile(r"\([^()\n]*\)")
_STAGE_BRACKET = re.compile(r"\[[^\[\]\n]*\]")
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>")
_LINE_MARK = re.compile(r"(?m)^[ \t]*(?:#{1,6}[ \t]*|>[ \t]*|[-*+•▪‣◦][ \t]+|\d{1,2}[.)][ \t]+)")
_STRAY = re.compile(r"[*_#`~|<>\[\]{}]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:…»)])")
_DOUBLE_PUNCT = re.compile(r"([,;:])(?:\s*[,;:])+")
# A self-censored word: letters around asterisks («f*ck», «бл**ь») or a short start then 2+ asterisks («f***»).
_CENSORED = re.compile(r"[^\W\d_]\*+[^\W\d_]|(?<![^\W\d_])[^\W\d_]{1,3}\*{2,}(?!\w)")
# Anything the slow path would change; clean text skips it (and stays byte-for-byte as it was).
_NEEDS_WORK = re.compile(rf"[*_#`~|<>\[\](){{}}\n{_EMOJI_RANGES}]|://|[wW]{{3}}\.")
_EMOTICON_HINT = re.compile(r"[:;][-']?[()DPpOo3|*\\/\]\[]|[xX]D")
_BULLET_START = re.compile(r"[ \t]*(?:[-+•▪‣◦][ \t]|\d{1,2}[.)][ \t])")
_WORD = re.compile(r"[^\W\d_]+")
_WS = re.compile(r"\s+")
_TRAILING_PAUSE = re.compile(r"[\s,;:—–-]+$")


def strip_markup(text: str) -> str:
    """Remove markdown, URLs, emoji, emoticons and stage directions; keep the words a listener should hear.

    Parenthesised text is treated as a stage direction and dropped: the prompt forbids asides, and what a
    model puts in brackets on a shuttle is almost always «(смеётся)». Whitespace is collapsed. A bracket
    left open at the end of a chunk is not carried into the next chunk: the stray mark is just removed.
    """
    return _clean(text)[0]


def has_markup(text: str) -> bool:
    """Would the filter strip anything but whitespace from `text` (markdown, emoji, emoticons, asides)?"""
    return _clean(text)[2]


def _clean(text: str) -> tuple[str, str | None, bool]:
    """(speakable text, the first self-censored word or None, whether anything but whitespace was removed).
    Each pass runs only if its marker is there; clean text takes the fast path and is only re-spaced."""
    emoticons = _EMOTICON_HINT.search(text) is not None
    if _NEEDS_WORK.search(text) is None and _BULLET_START.match(text) is None and not emoticons:
        return " ".join(text.split()), None, False
    original = text
    if "```" in text:
        text = _CODE_FENCE.sub(" ", text)
    if "](" in text:
        text = _LINK.sub(r"\1", _IMAGE.sub(" ", text))
    if "://" in text or "www." in text.lower():
        text = _URL.sub(" ", text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    text = _LINE_MARK.sub("", text)
    if emoticons:
        text = _EMOTICON.sub(" ", text)
    if "*" in text or "_" in text:
        text = _BOLD.sub(r"\2", text)
        text = _ITALIC_UNDERSCORE.sub(r"\1", text)
        text = _STAGE_STAR.sub(" ", text)
    if "~~" in text:
        text = _STRIKE.sub(r"\1", text)
    if "[" in text:
        text = _STAGE_BRACKET.sub(" ", text)
    if "(" in text:
        text = _STAGE_PAREN.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    censored = _CENSORED.search(text) if "*" in text else None
    text = _tidy(text)
    return text, (censored.group() if censored else None), _WS.sub("", text) != _WS.sub("", original)


def _tidy(text: str) -> str:
    text = _STRAY.sub(" ", text).replace("(", " ").replace(")", " ")
    text = _WS.sub(" ", text).strip()
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _DOUBLE_PUNCT.sub(r"\1", text)
    return text.lstrip(",;: ")


# -- blocklist -----------------------------------------------------------------------------------------


def _norm(word: str) -> str:
    """Lower case, ё → е, Latin look-alikes → Cyrillic inside a word that has Cyrillic letters."""
    word = word.lower().replace("ё", "е")
    if _CYRILLIC.search(word) and _LATIN.search(word):
        word = word.translate(_LOOKALIKES)
    return word


def _en_forms(word: str) -> set[str]:
    """Inflections of an English entry, generated forwards (set lookup at run time, no stemming errors)."""
    forms = {word, word + "s", word + "es", word + "ed", word + "ing"}
    if word.endswith("e"):
        forms |= {word + "d", word[:-1] + "ing"}
    if len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou":
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    if len(word) >= 3 and word[-1] not in "aeiouwxy" and word[-2] in "aeiou" and word[-3] not in "aeiou":
        forms |= {word + word[-1] + "ed", word + word[-1] + "ing"}
    return forms


@lru_cache(maxsize=65536)
def normal_forms(word: str) -> frozenset[str]:
    """pymorphy3 normal forms of a Russian word (ё → е): the likely parses, not every remote homonym.

    Parses scoring at least half of the best one count («сук» → сука and сук; «убитый» → убитый and убить).
    """
    from nuanu_tui.core.grammar import get_morph

    parses = get_morph().parse(word)
    if not parses:
        return frozenset()
    floor = parses[0].score / 2
    return frozenset(p.normal_form.replace("ё", "е") for p in parses if p.score >= floor)


class Blocklist:
    """A compiled blocklist: exact forms, lemmas, stems and exceptions. `match(word)` → entry or None."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.forms: dict[str, str] = {}  # normalised word form -> entry
        self.lemmas: dict[str, str] = {}  # Russian normal form -> entry
        stems: dict[str, str] = {}
        prefixed: dict[str, str] = {}
        allow_exact: set[str] = set()
        allow_stems: list[str] = []
        for raw in entries:
            entry = raw.strip()
            if not entry or entry.startswith("#"):
                continue
            allow = entry.startswith("!")
            body = _norm(entry.lstrip("!~"))
            is_stem = body.endswith("*")
            body = body.rstrip("*")
            if not _WORD.fullmatch(body):
                raise NuanuError("config", f"bad blocklist entry {raw.strip()!r}: one word, optionally stem*")
            if allow:
                (allow_stems.append if is_stem else allow_exact.add)(body)
            elif is_stem:
                (prefixed if entry.startswith("~") else stems)[body] = entry
            elif _CYRILLIC.search(body):
                self.forms[body] = entry
                self.lemmas[body] = entry
            else:
                for form in _en_forms(body):
                    self.forms.setdefault(form, entry)
        self._stem_entries = {**stems, **prefixed}
        self._stems = _stem_regex(stems, prefixed)
        self._allow_exact = frozenset(allow_exact)
        self._allow_stems = tuple(allow_stems)
        self._lemma_heads = _lemma_heads(self.lemmas)
        self._cache: dict[str, object] = {}  # token -> (word, entry) | None
        self.size = len(self.forms) + len(self._stem_entries)

    def match(self, word: str) -> str | None:
        """The entry that blocks `word` (one token of letters), or None."""
        return self._judge(_norm(word))

    def _judge(self, word: str) -> str | None:
        if word in self._allow_exact or word.startswith(self._allow_stems):
            return None
        hit = self.forms.get(word)
        if hit is not None:
            return hit
        if self._stems is not None and (m := self._stems.match(word)) is not None:
            return self._stem_entries[m.group("stem") or m.group("pstem")]
        if word[:3] in self._lemma_heads:
            for lemma in normal_forms(word):
                hit = self.lemmas.get(lemma)
                if hit is not None:
                    return hit
        return None

    def first_hit(self, text: str) -> tuple[str, str] | None:
        """(word, entry) of the first blocked word in `text`, or None.

        Verdicts are cached per whitespace-separated token as it appears («слева,»), so clean text that
        has been seen before costs one `split` and a dict lookup per token.
        """
        cache = self._cache
        for token in text.split():
            verdict = cache.get(token, _MISS)
            if verdict is _MISS:
                verdict = self._judge_token(token)
                if len(cache) >= 100_000:  # an endless stream of new words must not grow memory unbounded
                    cache.clear()
                cache[token] = verdict
            if verdict is not None:
                return verdict  # type: ignore[return-value]
        return None

    def _judge_token(self, token: str) -> tuple[str, str] | None:
        for word in _WORD.findall(token):
            entry = self.match(word)
            if entry is not None:
                return word, entry
        return None


_MISS = object()


def _lemma_heads(lemmas: Iterable[str]) -> frozenset[str]:
    """First three letters of every dictionary form of the lemmas: pymorphy is asked only about words that
    start like one of them (a new word otherwise costs ~50-100 µs of analysis for nothing)."""
    lemmas = list(lemmas)
    if not lemmas:
        return frozenset()
    from nuanu_tui.core.grammar import get_morph

    morph = get_morph()
    heads = {lemma[:3] for lemma in lemmas}
    for lemma in lemmas:
        for parse in morph.parse(lemma):
            if parse.normal_form.replace("ё", "е") == lemma:
                heads.update(form.word.replace("ё", "е")[:3] for form in parse.lexeme)
    return frozenset(heads)


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _stem_regex(stems: dict[str, str], prefixed: dict[str, str]) -> re.Pattern[str] | None:
    parts = []
    if stems:
        parts.append(f"(?P<stem>{_alternation(stems)})")
    if prefixed:
        parts.append(f"(?:{_alternation(RU_PREFIXES)}){{0,2}}(?P<pstem>{_alternation(prefixed)})")
    if not parts:
        return None
    return re.compile("|".join(parts))


def _read_entries(path: Path | str) -> list[str]:
    if isinstance(path, str) and path in DEFAULT_BLOCKLISTS:
        return read_asset(f"blocklists/{path}").splitlines()
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise NuanuError("config", f"cannot read blocklist {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise NuanuError("config", f"blocklist {path} is not UTF-8 text") from None


def load_blocklist(paths: Sequence[Path | str] = DEFAULT_BLOCKLISTS, extra: Sequence[str] = ()) -> Blocklist:
    """Compile blocklist files (a name from DEFAULT_BLOCKLISTS means the shipped file) plus extra entries.

    Cached: every filter with the same configuration shares one compiled list and one verdict cache.
    """
    return _load(tuple(paths), tuple(extra))


@lru_cache(maxsize=16)
def _load(paths: tuple[Path | str, ...], extra: tuple[str, ...]) -> Blocklist:
    entries: list[str] = []
    for path in paths:
        entries.extend(_read_entries(path))
    entries.extend(extra)
    return Blocklist(entries)


# -- the filter ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class FilterConfig:
    """What the filter blocks and how long a remark may be."""

    blocklist_paths: list[Path] | None = None  # None: the shipped Russian and English lists
    extra_words: list[str] = field(default_factory=list)  # same syntax as a blocklist line
    max_chars: int = 300  # spoken characters per utterance
    safe_phrase_ru: str = SAFE_PHRASE_RU
    safe_phrase_en: str = SAFE_PHRASE_EN


@dataclass(frozen=True, slots=True)
class ChunkVerdict:
    """What to send to the TTS for one chunk. `text` is "" (send nothing) or ends with exactly one space."""

    text: str
    blocked: bool = False
    truncated: bool = False
    reason: str | None = None
    stripped: bool = False  # markup, emoji or asides were removed from this chunk (the rubric's `markup`)


class OutputFilter:
    """Per-utterance state around one shared blocklist. Call `reset()` before each new utterance."""

    def __init__(self, config: FilterConfig | None = None, lang: str = "ru") -> None:
        self.config = config or FilterConfig()
        paths: Sequence[Path | str] = (
            DEFAULT_BLOCKLISTS if self.config.blocklist_paths is None else self.config.blocklist_paths
        )
        self.blocklist = load_blocklist(paths, self.config.extra_words)
        phrase = self.config.safe_phrase_en if lang == "en" else self.config.safe_phrase_ru
        self.safe_phrase = " ".join(phrase.split())
        self.lang = lang
        self.reset()

    def reset(self) -> None:
        """A new utterance: nothing spoken yet, nothing blocked or cut."""
        self.spoken = 0  # characters handed to the TTS in this utterance (without the trailing spaces)
        self.blocked = False
        self.truncated = False
        self.reason: str | None = None

    def warm(self) -> None:
        """Load pymorphy and prime the caches off the hot path (call at start-up)."""
        self.blocklist.match("прогрев")

    def clean_chunk(self, chunk: str) -> ChunkVerdict:
        """The text to send for one chunk (right before it goes to the TTS)."""
        if self.blocked:
            return ChunkVerdict("", blocked=True, truncated=self.truncated, reason=self.reason)
        if self.truncated:
            return ChunkVerdict("", truncated=True, reason=self.reason)
        text, censored, stripped = _clean(chunk)
        if censored is not None:
            return self._block(f"self-censored word {censored!r}")
        if not text:
            return ChunkVerdict("", reason="nothing speakable" if chunk.strip() else None, stripped=stripped)
        found = self.blocklist.first_hit(text)
        if found is not None:
            return self._block(f"blocked word {found[0]!r} (entry {found[1]!r})")
        budget = self.config.max_chars - self.spoken
        if len(text) > budget:
            text = _cut(text, budget)
            self.truncated = True
            self.reason = f"max_chars {self.config.max_chars} reached"
            if not text:
                return ChunkVerdict("", truncated=True, reason=self.reason)
        self.spoken += len(text) + 1
        return ChunkVerdict(text + " ", truncated=self.truncated, reason=self.reason, stripped=stripped)

    def _block(self, reason: str) -> ChunkVerdict:
        """The first blocked chunk becomes the safe phrase; the rest of the utterance is silent."""
        self.blocked = True
        self.reason = reason
        return ChunkVerdict(self.safe_phrase + " ", blocked=True, truncated=self.truncated, reason=reason)


def _cut(text: str, budget: int) -> str:
    """`text` cut to at most `budget` characters at a word boundary, without a dangling comma or dash."""
    if budget <= 0:
        return ""
    if budget < len(text) and not text[budget].isspace():
        space = text.rfind(" ", 0, budget + 1)
        budget = max(space, 0)
    return _TRAILING_PAUSE.sub("", text[:budget])
