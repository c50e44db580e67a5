"""Flush policy: decides when streamed LLM text is handed to the TTS.

The first chunk is what the listener waits for, so it is cut at the first clause boundary (comma, semicolon,
colon, dash, sentence end) once it holds a few words; later chunks are cut at sentence ends only, and the
rest is flushed when the LLM ends. Words, abbreviations (``т.е.``, ``г.``, ``e.g.``, initials) and numbers
(``3.5``, ``3,5``, ``10:30``, ``км/ч``) are never split.

Latency rule: a boundary is decided the moment its punctuation arrives when nothing can change the verdict
(punctuation after a letter that is not an abbreviation). The chunker waits for more text only when the
verdict is genuinely open: a digit before ``.``/``,``/``:``, an abbreviation that may also end a sentence
(``т.д.``, ``etc.``, ``км.``), an ellipsis, a spaced hyphen, a dash glued to a word, or a quote still open
(its closing mark may follow). The price of deciding without look-ahead: if a token boundary falls inside
a punctuation cluster (``"?"`` then ``"!"``), the tail starts the next chunk; nothing is lost.

Existing libraries (razdel, pysbd) segment finished text; none decides on a growing prefix, which is the
whole point here, so the scanner is ours. Cost: each character is scanned once, except a pending position
that is re-examined when more text arrives; the buffer stays short because chunks leave it.
Inner whitespace is left as the model produced it; only the edges of a chunk are trimmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Chunker", "ChunkerConfig"]


@dataclass
class ChunkerConfig:
    """Knobs of the flush policy."""

    first_min_words: int = 3  # "a few words" before the first clause-boundary flush
    max_chunk_chars: int = 160  # safety valve: without a boundary, flush at a word boundary near this


# Punctuation that may end a chunk. Later chunks only look at sentence ends.
_CAND_FIRST = re.compile(r"[.!?…,;:—–-]")
_CAND_LATER = re.compile(r"[.!?…]")
# A "word": a whitespace-separated token holding at least one letter or digit (counted from its first one).
_WORD = re.compile(r"[^\W_]\S*")
_WS = re.compile(r"\s")

_SENT_END = ".!?…"
_CLOSERS = "»\"')]}”“’"  # may follow a sentence end and belong to it («Стой!», "Wow!", (да.))
_DASHES = "—–"
_QUOTE_MARKS = '"„“”«»()'
_WS_CHARS = (" ", "\n", "\t", "\r", "\u00a0")

# Abbreviations that never end a sentence (the dot is never a boundary). Lower case, inner dots kept.
_ABBREV_INNER = frozenset(
    {
        # Russian
        "т.е", "т.к", "т.н", "т.ч", "и.о", "г", "ул", "им", "пр", "просп", "пер", "обл", "пос", "напр",
        "ср", "акад", "проф", "доц", "стр", "рис", "гл", "табл", "англ", "рус", "лат", "нем", "франц",
        "св", "тел", "ред", "изд", "вып", "прим", "род",
        # English
        "e.g", "i.e", "mr", "mrs", "ms", "dr", "prof", "st", "vs", "jr", "sr", "approx", "dept", "fig",
        "mt", "lt", "gen", "col", "sgt", "rev", "hon",
    }
)  # fmt: skip
# Abbreviations that often end a sentence too: a boundary only when the next word starts in upper case.
_ABBREV_FINAL = frozenset(
    {
        "т.д", "т.п", "др", "гг", "вв", "руб", "коп", "тыс", "млн", "млрд", "трлн", "км", "кг", "см", "мм",
        "мин", "сек", "шт", "чел", "ед", "etc", "inc", "ltd", "co", "corp", "min", "sec", "hrs", "km", "kg",
    }
)  # fmt: skip

_INNER, _FINAL, _PLAIN = 0, 1, 2  # what the dot after a word means
_CUT, _SKIP, _WAIT = 0, 1, 2  # verdict on one candidate


class Chunker:
    """Streaming splitter for one utterance: `feed` deltas, then `finish` once.

    Invariants: every chunk is non-empty, has no leading whitespace and ends with exactly one space; the
    chunks joined hold every non-space character of the input, in order, exactly once.
    """

    def __init__(self, config: ChunkerConfig | None = None) -> None:
        self._cfg = config or ChunkerConfig()
        self._buf = ""  # text not yet flushed, never starting with whitespace
        self._pos = 0  # scan resumes here; everything before is decided "no boundary"
        self._no_ws_until = 0  # the valve found no whitespace in buf[max_chunk_chars + 1 : this]
        self._quotes = dict.fromkeys(_QUOTE_MARKS, 0)  # quote marks in the chunks already returned
        self._flushed_any = False

    @property
    def flushed_any(self) -> bool:
        """True once a chunk has been returned: later chunks are cut at sentence ends only."""
        return self._flushed_any

    def feed(self, delta: str) -> list[str]:
        """Add one LLM delta; return the chunks that are ready to send now (often none)."""
        if self._buf:
            self._buf += delta
        else:
            delta = delta.lstrip()  # the previous chunk already ends with a space
            if not delta:
                return []
            self._buf = delta
        out: list[str] = []
        self._drain(out)
        return out

    def finish(self) -> list[str]:
        """The LLM ended: whatever is left becomes the last chunk (0 or 1 chunk)."""
        rest = self._buf.rstrip()
        self._buf = ""
        self._pos = self._no_ws_until = 0
        if not rest:
            return []
        self._flushed_any = True
        return [rest + " "]

    # -- internals ---------------------------------------------------------------------------------------

    def _drain(self, out: list[str]) -> None:
        limit = self._cfg.max_chunk_chars
        while self._buf:
            end = self._scan()
            if end is None:
                if len(self._buf) > limit and (cut := self._valve(len(self._buf))) is not None:
                    self._emit(out, cut)
                    continue
                return
            if end > limit and (cut := self._valve(end)) is not None:
                end = cut
            self._emit(out, end)

    def _emit(self, out: list[str], end: int) -> None:
        chunk = self._buf[:end].rstrip()
        for mark in self._quotes:
            self._quotes[mark] += chunk.count(mark)
        out.append(chunk + " ")
        self._buf = self._buf[end:].lstrip()
        self._pos = self._no_ws_until = 0
        self._flushed_any = True

    def _valve(self, end: int) -> int | None:
        """Where to cut buf[:end] when no boundary came in time: a whitespace, never inside a word.

        Prefers the last whitespace that keeps the chunk within the limit, else the first one after it.
        """
        buf, limit = self._buf, self._cfg.max_chunk_chars
        hi = min(limit, end - 1)
        best = max(buf.rfind(ch, 1, hi + 1) for ch in _WS_CHARS)
        if best > 0:
            return best
        m = _WS.search(buf, max(limit + 1, self._no_ws_until, 1), end)
        if m is None:
            self._no_ws_until = end
            return None
        return m.start()

    def _scan(self) -> int | None:
        """Find the next cut in the buffer; None if there is none yet (scan state kept for next time)."""
        buf = self._buf
        first = not self._flushed_any
        cand = _CAND_FIRST if first else _CAND_LATER
        pos = self._pos
        while (m := cand.search(buf, pos)) is not None:
            i = m.start()
            verdict, at = self._judge(buf, i, first)
            if verdict == _CUT:
                return at
            if verdict == _WAIT:
                self._pos = i
                return None
            pos = at
        self._pos = len(buf)
        return None

    def _judge(self, buf: str, i: int, first: bool) -> tuple[int, int]:
        """Verdict on the punctuation at buf[i]: (_CUT, chunk end) | (_SKIP, resume at) | (_WAIT, i)."""
        c = buf[i]
        n = len(buf)
        if c in _SENT_END:
            return self._judge_sentence_end(buf, i, n, first)
        prev = buf[i - 1] if i else ""
        j = i + 1
        if c in ",;:":
            if c != ";" and prev.isdigit():  # 3,5 / 10:30
                if j == n:
                    return _WAIT, i
                if buf[j].isdigit():
                    return _SKIP, j
            end = _skip_closers(buf, j, n)
            if end == n and _quote_open(self._quotes, buf, end, double_only=True):  # "Hello," he said
                return _WAIT, i
        elif c in _DASHES:
            end = j
            if end == n and prev and not prev.isspace():  # "Москва—Петербург", "1941–1945"
                return _WAIT, i
        else:  # hyphen: a dash only when spaced (" - "), never inside a word ("кто-то")
            while j < n and buf[j] == "-":
                j += 1
            if prev and not prev.isspace():
                return _SKIP, j
            if j == n:
                return _WAIT, i
            end = j
        if end < n and not buf[end].isspace():
            return _SKIP, end
        return self._accept(buf, i, end, first)

    def _judge_sentence_end(self, buf: str, i: int, n: int, first: bool) -> tuple[int, int]:
        start = i  # the run may have begun earlier (e.g. "ж." judged before the rest of "ж...")
        while start > 0 and buf[start - 1] in _SENT_END:
            start -= 1
        j = i + 1
        while j < n and buf[j] in _SENT_END:
            j += 1
        run = buf[start:j]
        prev = buf[start - 1] if start else ""
        if run == ".":
            if prev.isdigit():  # 3.5 vs "ровно 5. Потом"
                if j == n:
                    return _WAIT, i
                if not buf[j].isspace():
                    return _SKIP, j
            elif prev.isalpha():
                kind = _abbrev_kind(buf, start)
                if kind == _INNER:
                    return _SKIP, j
                if kind == _FINAL:  # "и т.д. Потом" ends a sentence, "5 тыс. руб." does not
                    k = j
                    while k < n and buf[k].isspace():
                        k += 1
                    if k == n:
                        return _WAIT, i
                    if k == j or not buf[k].isupper():
                        return _SKIP, j
                    return self._accept(buf, start, j, first)
        end = _skip_closers(buf, j, n)
        if end == n:
            if end == j and (run[-1] == "…" or run.endswith("..")):  # the ellipsis may go on
                return _WAIT, i
            if _quote_open(self._quotes, buf, end, double_only=False):  # «Стой! → the » may follow
                return _WAIT, i
            return self._accept(buf, start, end, first)
        if not buf[end].isspace():  # "a.b", "Стой!Да" — not a boundary
            return _SKIP, end
        return self._accept(buf, start, end, first)

    def _accept(self, buf: str, start: int, end: int, first: bool) -> tuple[int, int]:
        """A real boundary: cut if the chunk before it holds enough words."""
        need = self._cfg.first_min_words if first else 1
        for count, _ in enumerate(_WORD.finditer(buf, 0, start), 1):
            if count >= need:
                return _CUT, end
        return _SKIP, end


def _skip_closers(buf: str, j: int, n: int) -> int:
    while j < n and buf[j] in _CLOSERS:
        j += 1
    return j


def _quote_open(counts: dict[str, int], buf: str, end: int, *, double_only: bool) -> bool:
    """Is a quote (or bracket) opened earlier in the reply still unclosed? Then its closing mark may follow.

    `counts` holds the marks already flushed, so a reply wrapped in «…» still keeps its final ».
    """

    def n(ch: str) -> int:
        return counts[ch] + buf.count(ch, 0, end)

    if n('"') % 2:
        return True
    if n("„"):  # Russian „…“
        if n("„") > n("“"):
            return True
    elif n("“") > n("”"):  # English “…”
        return True
    if double_only:
        return False
    return n("«") > n("»") or n("(") > n(")")


def _abbrev_kind(buf: str, dot: int) -> int:
    """What the dot at buf[dot] (after a letter) means: inside an abbreviation, maybe final, or plain."""
    k = dot
    while True:  # walk back over "letters" and "letters." chains: т.е / e.g / км
        while k > 0 and buf[k - 1].isalpha():
            k -= 1
        if k >= 2 and buf[k - 1] == "." and buf[k - 2].isalpha():
            k -= 1
            continue
        break
    token = buf[k:dot].lower()
    if k > 0 and buf[k - 1] == "/":  # км/ч.
        return _FINAL
    if token in _ABBREV_FINAL:
        return _FINAL
    if token in _ABBREV_INNER:
        return _INNER
    last = token.rsplit(".", 1)[-1]
    if len(last) == 1:  # initials "А. С.", single letters, spaced "т. е."; but "и т. д." may end a sentence
        if last in "дп" and (buf.endswith("т.", 0, k) or buf.endswith("т. ", 0, k)):
            return _FINAL
        return _INNER
    if "." in token:  # U.S.A.
        return _INNER
    return _PLAIN
