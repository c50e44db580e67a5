"""Flush policy: where chunks are cut, and after which delta (latency: no needless waiting)."""

from __future__ import annotations

import random
import re

import pytest

from nuanu_tui.core.chunker import Chunker, ChunkerConfig

FINISH = -1  # "emitted by finish()" in the `at` column


def run(deltas: list[str], config: ChunkerConfig | None = None) -> tuple[list[str], list[int]]:
    """Feed deltas one by one; return the chunks and, for each, the index of the delta that released it."""
    chunker = Chunker(config)
    chunks: list[str] = []
    at: list[int] = []
    for index, delta in enumerate(deltas):
        for chunk in chunker.feed(delta):
            chunks.append(chunk)
            at.append(index)
    for chunk in chunker.finish():
        chunks.append(chunk)
        at.append(FINISH)
    return chunks, at


def norm(text: str) -> str:
    return " ".join(text.split())


# id, deltas, expected chunks, delta index releasing each chunk (None: not checked), config overrides
CASES = [
    (
        "elephant-first-clause",
        ["Вот", " это", " да", ",", " слон", " на", " мопеде", "!", " А", " за", " ним", " ещё", " два", "."],
        ["Вот это да, ", "слон на мопеде! ", "А за ним ещё два. "],
        [3, 7, 13],
        {},
    ),
    (
        "too-few-words-before-first-comma",
        ["Ого", ",", " смотри", ",", " слон", " едет", "!", " Ура", "."],
        ["Ого, смотри, слон едет! ", "Ура. "],
        [6, 8],
        {},
    ),
    (
        "too-few-words-before-first-sentence-end",
        ["Ого", "!", " Это", " слон", ",", " правда"],
        ["Ого! Это слон, ", "правда "],
        [4, FINISH],
        {},
    ),
    (
        "first-min-words-1",
        ["Ого", ",", " слон", "!"],
        ["Ого, ", "слон! "],
        [1, 3],
        {"first_min_words": 1},
    ),
    (
        "later-chunks-ignore-commas",
        ["Вот", " это", " да", ",", " слон", ",", " мопед", ",", " жираф", "."],
        ["Вот это да, ", "слон, мопед, жираф. "],
        [3, 9],
        {},
    ),
    (
        "later-chunk-needs-no-min-words",
        ["Вот", " это", " да", ",", " ого", "!", " Ну", "!"],
        ["Вот это да, ", "ого! ", "Ну! "],
        [3, 5, 7],
        {},
    ),
    (
        "abbrev-te-split-by-char",
        ["Это", " т", ".", "е", ".", " почти", " слон", ".", " Да", "."],
        ["Это т.е. почти слон. ", "Да. "],
        [7, 9],
        {},
    ),
    (
        "abbrev-te-spaced",
        ["Это", " т", ".", " е", ".", " слон", ".", " Да", "."],
        ["Это т. е. слон. ", "Да. "],
        [6, 8],
        {},
    ),
    (
        "abbrev-td-ends-sentence-waits-for-capital",
        ["Кошки", ",", " собаки", " и", " т", ".", "д", ".", " Потом", " слон", "."],
        ["Кошки, собаки и т.д. ", "Потом слон. "],
        [8, 10],
        {},
    ),
    (
        "abbrev-td-spaced-ends-sentence",
        ["Кошки", " и", " т", ".", " д", ".", " Потом", " слон", "."],
        ["Кошки и т. д. ", "Потом слон. "],
        [6, 8],
        {},
    ),
    (
        "abbrev-td-mid-sentence",
        ["Слоны", " и", " т", ".", "д", ".", " были", " тут", "."],
        ["Слоны и т.д. были тут. "],
        [8],
        {},
    ),
    (
        "abbrev-year-g",
        ["В", " 2024", " г", ".", " Слон", " приехал", "."],
        ["В 2024 г. Слон приехал. "],
        [6],
        {},
    ),
    (
        "initials",
        ["Это", " А", ".", " С", ".", " Пушкин", " на", " мопеде", "!"],
        ["Это А. С. Пушкин на мопеде! "],
        [8],
        {},
    ),
    (
        "abbrev-street-imeni",
        ["Едем", " по", " ул", ".", " им", ".", " Ленина", ",", " быстро", "."],
        ["Едем по ул. им. Ленина, ", "быстро. "],
        [7, 9],
        {},
    ),
    (
        "abbrev-thousand-roubles",
        ["Билет", " стоит", " 5", " тыс", ".", " руб", ".", " Дорого", "!"],
        ["Билет стоит 5 тыс. руб. ", "Дорого! "],
        [7, 8],
        {},
    ),
    (
        "abbrev-en-mr-dr-etc",
        ["Mr", ".", " Smith", " met", " Dr", ".", " Brown", " etc", ".", " Then", " left", "."],
        ["Mr. Smith met Dr. Brown etc. ", "Then left. "],
        [9, 11],
        {},
    ),
    (
        "abbrev-en-vs-ie",
        ["Cats", " vs", ".", " dogs", ",", " i", ".", "e", ".", " war", "."],
        ["Cats vs. dogs, ", "i.e. war. "],
        [4, 10],
        {},
    ),
    (
        "abbrev-en-eg-st",
        ["We", " live", " on", " St", ".", " Mark", " road", ",", " e", ".", "g", ".", " here", "."],
        ["We live on St. Mark road, ", "e.g. here. "],
        [7, 13],
        {},
    ),
    (
        "decimal-dot-split",
        ["Скорость", " 3", ".", "5", " метра", " в", " секунду", "."],
        ["Скорость 3.5 метра в секунду. "],
        [7],
        {},
    ),
    (
        "decimal-dot-in-later-chunk",
        ["Вот", " это", " да", ",", " слон", " весит", " 3", ".", "5", " тонны", "."],
        ["Вот это да, ", "слон весит 3.5 тонны. "],
        [3, 10],
        {},
    ),
    (
        "decimal-comma-split",
        ["Там", " 3", ",", "5", " слона", ",", " не", " больше", "."],
        ["Там 3,5 слона, ", "не больше. "],
        [5, 8],
        {},
    ),
    (
        "number-ends-sentence-waits-one-delta",
        ["Слонов", " было", " ровно", " 5", ".", " Потом", " 6", "."],
        ["Слонов было ровно 5. ", "Потом 6. "],
        [5, FINISH],
        {},
    ),
    (
        "time-colon",
        ["В", " 10", ":", "30", " приехал", " слон", ":", " огромный", "."],
        ["В 10:30 приехал слон: ", "огромный. "],
        [6, 8],
        {},
    ),
    (
        "km-per-hour",
        ["Он", " едет", " 60", " км", "/", "ч", ",", " а", " мы", " 40", " км", "/", "ч", "."],
        ["Он едет 60 км/ч, ", "а мы 40 км/ч. "],
        [6, FINISH],
        {},
    ),
    (
        "km-per-hour-ends-sentence",
        ["Едем", " 60", " км", "/", "ч", ".", " Дальше", " тоже", "."],
        ["Едем 60 км/ч. ", "Дальше тоже. "],
        [6, 8],
        {},
    ),
    (
        "em-dash-cut-on-arrival",
        ["Это", " мой", " слон", " —", " он", " быстрый", "."],
        ["Это мой слон — ", "он быстрый. "],
        [3, 6],
        {},
    ),
    (
        "en-dash",
        ["Вот", " это", " слон", " –", " красавец", "!"],
        ["Вот это слон – ", "красавец! "],
        [3, 5],
        {},
    ),
    (
        "dash-between-numbers-is-not-a-boundary",
        ["Было", " это", " в", " 1941", "–", "1945", ",", " давно", "."],
        ["Было это в 1941–1945, ", "давно. "],
        [7, 8],  # "1945," may still become "1945,5": one delta of waiting is the honest price
        {},
    ),
    (
        "spaced-hyphen",
        ["Вот", " это", " слон", " -", " красавец", "!"],
        ["Вот это слон - ", "красавец! "],
        [4, 5],
        {},
    ),
    (
        "hyphen-inside-word",
        ["Там", " кто", "-", "то", " едет", " на", " слоне", ",", " ура", "!"],
        ["Там кто-то едет на слоне, ", "ура! "],
        [7, 9],
        {},
    ),
    (
        "suspended-hyphen-is-not-a-dash",
        ["Это", " были", " до", "-", " и", " послевоенные", " годы", ",", " да", "."],
        ["Это были до- и послевоенные годы, ", "да. "],
        [7, 9],
        {},
    ),
    (
        "ellipsis-dots",
        ["Вот", " это", " да", "...", " Слон", " на", " мопеде", "."],
        ["Вот это да... ", "Слон на мопеде. "],
        [4, 7],
        {},
    ),
    (
        "ellipsis-char",
        ["Вот", " это", " да", "…", " слон", " на", " мопеде", "."],
        ["Вот это да… ", "слон на мопеде. "],
        [4, 7],
        {},
    ),
    (
        "ellipsis-dot-by-dot-after-single-letter",
        ["Ну", " что", " ж", ".", ".", ".", " ладно", "."],
        ["Ну что ж... ", "ладно. "],
        [6, 7],
        {},
    ),
    (
        "interrobang",
        ["Ты", " видел", " это", "?!", " Слон", "!"],
        ["Ты видел это?! ", "Слон! "],
        [3, 5],
        {},
    ),
    (
        "interrobang-in-one-delta",
        ["Вот", " это", " да", ",", " видел", "?!", " Слон", "?!", " Да", "."],
        ["Вот это да, ", "видел?! ", "Слон?! ", "Да. "],
        [3, 5, 7, 9],
        {},
    ),
    (
        # Deciding without look-ahead has a price: a cluster split across deltas leaves its tail to the
        # next chunk. Nothing is lost and no word is split.
        "split-cluster-tail-goes-to-next-chunk",
        ["Вот", " это", " да", ",", " ты", " видел", "?", "!", " Слон", "."],
        ["Вот это да, ", "ты видел? ", "! Слон. "],
        [3, 6, 9],
        {},
    ),
    (
        "closing-guillemet-after-sentence-end",
        ["Он", " крикнул", ":", " «", "Слон", "!", "»", " И", " убежал", "."],
        ["Он крикнул: «Слон!» ", "И убежал. "],
        [6, 9],
        {},
    ),
    (
        "closing-guillemet-in-same-delta",
        ["«", "Слон", " на", " мопеде", "!»", " Ура", "."],
        ["«Слон на мопеде!» ", "Ура. "],
        [4, 6],
        {},
    ),
    (
        "reply-wrapped-in-guillemets-keeps-final-closer",
        ["«", "Вот", " это", " да", ",", " слон", "!", "»"],
        ["«Вот это да, ", "слон!» "],
        [4, 7],
        {},
    ),
    (
        "quoted-then-comma",
        ["«", "Вот", " это", " да", "»", ",", " —", " сказал", " он", "."],
        ["«Вот это да», ", "— сказал он. "],
        [5, 9],
        {},
    ),
    (
        "english-straight-quotes",
        ["He", " said", ' "', "wow", '!"', " Then", " he", " left", "."],
        ['He said "wow!" ', "Then he left. "],
        [4, 8],
        {},
    ),
    (
        "english-comma-inside-open-quote-waits-for-it",
        ['"', "Hello", " there", " friend", ",", '"', " he", " said", "."],
        ['"Hello there friend," ', "he said. "],
        [5, 8],
        {},
    ),
    (
        "english-sentences",
        ["Hello", " there", ",", " friend", ".", " How", " are", " you", "?", " Fine", "."],
        ["Hello there, friend. ", "How are you? ", "Fine. "],
        [4, 8, 10],
        {},
    ),
    (
        "english-first-comma",
        ["Well", " look", " at", " that", ",", " an", " elephant", "!"],
        ["Well look at that, ", "an elephant! "],
        [4, 7],
        {},
    ),
    (
        "semicolon",
        ["Слон", " устал", " сильно", ";", " он", " спит", "."],
        ["Слон устал сильно; ", "он спит. "],
        [3, 6],
        {},
    ),
    (
        "colon",
        ["Смотрите", " все", " сюда", ":", " слон", "!"],
        ["Смотрите все сюда: ", "слон! "],
        [3, 5],
        {},
    ),
    (
        "no-punctuation-all-at-finish",
        ["Слон", " едет", " на", " мопеде"],
        ["Слон едет на мопеде "],
        [FINISH],
        {},
    ),
    (
        "whitespace-only-deltas",
        [" ", "\n", "Вот", " ", "это", " да", ",", "  ", "\t", "слон", " ", "едет", ".", "  ", "\n"],
        ["Вот это да, ", "слон едет. "],
        [6, 12],
        {},
    ),
    (
        "newlines",
        ["Вот", " это", " да", ",\n", "слон", " на", " мопеде", ".\n\n", "А", " за", " ним", "."],
        ["Вот это да, ", "слон на мопеде. ", "А за ним. "],
        [3, 7, 11],
        {},
    ),
    (
        "newline-inside-chunk-kept",
        ["Слон", "\n", "едет", " быстро", "."],
        ["Слон\nедет быстро. "],
        [4],
        {},
    ),
    (
        "punctuation-glued-to-letters-is-not-a-boundary",
        ["Слон", " a", ",", "b", " едет", " быстро", ".", "Да", " ну", "."],
        ["Слон a,b едет быстро. ", "Да ну. "],
        [6, 9],
        {},
    ),
    (
        "dot-inside-a-token-is-not-a-boundary",
        ["Зайдите", " на", " nuanu.com", " сегодня", ".", " Ждём", "!"],
        ["Зайдите на nuanu.com сегодня. ", "Ждём! "],
        [4, 6],
        {},
    ),
    (
        "valve-cuts-at-word-boundaries",
        ["Слоны", " едут", " по", " длинной", " дороге", " без", " остановок", " вообще"],
        ["Слоны едут по ", "длинной дороге без ", "остановок вообще "],
        [3, 6, FINISH],
        {"max_chunk_chars": 20},
    ),
    (
        "valve-never-splits-a-long-word",
        ["Превысоко", "многорассмотри", "тельствующий", " слон", " едет"],
        ["Превысокомногорассмотрительствующий ", "слон едет "],
        [3, FINISH],
        {"max_chunk_chars": 10},
    ),
    ("empty-stream", [], [], [], {}),
    ("empty-and-blank-deltas", ["", " ", "\n\n", ""], [], [], {}),
]


@pytest.mark.parametrize(
    ("deltas", "expected", "expected_at", "overrides"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_chunks_and_release_points(
    deltas: list[str], expected: list[str], expected_at: list[int] | None, overrides: dict[str, int]
) -> None:
    chunks, at = run(deltas, ChunkerConfig(**overrides))
    assert chunks == expected
    if expected_at is not None:
        assert at == expected_at
    assert norm("".join(chunks)).replace(" ", "") == norm("".join(deltas)).replace(" ", "")


def test_flushed_any_turns_true_with_the_first_chunk() -> None:
    chunker = Chunker()
    assert chunker.flushed_any is False
    assert chunker.feed("Вот это да") == []
    assert chunker.flushed_any is False
    assert chunker.feed(",") == ["Вот это да, "]
    assert chunker.flushed_any is True


def test_flushed_any_true_after_finish_only_stream() -> None:
    chunker = Chunker()
    chunker.feed("Слон")
    assert chunker.flushed_any is False
    assert chunker.finish() == ["Слон "]
    assert chunker.flushed_any is True


def test_finish_on_empty_stream_flushes_nothing() -> None:
    chunker = Chunker()
    assert chunker.finish() == []
    assert chunker.flushed_any is False


def test_default_config() -> None:
    config = ChunkerConfig()
    assert (config.first_min_words, config.max_chunk_chars) == (3, 160)


def test_one_big_delta_gives_several_chunks() -> None:
    chunks = Chunker().feed("Вот это да, слон на мопеде! А за ним ещё два. И третий")
    assert chunks == ["Вот это да, ", "слон на мопеде! ", "А за ним ещё два. "]


def test_valve_on_long_text_without_boundaries_keeps_words_whole() -> None:
    words = [
        random.Random(7).choice(["слон", "мопед", "жираф", "дорога", "превосходный"]) for _ in range(300)
    ]
    text = " ".join(words)
    chunks, _ = run([" " + w if i else w for i, w in enumerate(words)])
    assert len(chunks) > 5
    assert all(len(chunk) <= 160 + 1 for chunk in chunks)  # the core fits; plus the trailing space
    assert [w for chunk in chunks for w in chunk.split()] == words
    assert norm("".join(chunks)) == text


# -- property-style: many random splittings of realistic paragraphs --------------------------------------

PARAGRAPHS = [
    "Вот это да, слон на мопеде! А за ним ещё два. Скорость у них 3.5 км/ч, т.е. почти пешком... "
    "Кто-то машет рукой — наверное, А. С. Пушкин? Нет, это ул. им. Ленина, д. 5.",
    "Ого! Смотрите: «Слон!» — крикнул водитель. Билет стоит 5 тыс. руб. Дорого?! "
    "В 2024 г. тут было 3,5 слона, собаки и т.д. Потом приехали ещё двое.\n\nКонец.",
    "Look, Mr. Smith and Dr. Brown are here, e.g. at St. Mark square. It's 10:30 now; "
    'he said "wow!" and left. Cats vs. dogs - who wins? Nobody knows etc. The end',
    "Слон, жираф и бегемот едут на мопеде по длинной-длинной дороге без единой остановки и без "
    "каких-либо знаков препинания целых двести символов подряд чтобы проверить предохранительный клапан "
    "который режет только между словами а не внутри них и никогда не теряет ни одной буквы вообще",
]


def random_split(text: str, rng: random.Random) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(text)), k=rng.randint(0, min(len(text) - 1, len(text) // 2))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def token_split(text: str) -> list[str]:
    """Roughly how LLM tokenizers deliver text: a word with its leading space, punctuation clusters."""
    return re.findall(r"\s*[^\W_]+|\s*[^\w\s]+|\s+", text)


def assert_chunk_shape(chunks: list[str]) -> None:
    for chunk in chunks:
        assert chunk.strip(), chunk
        assert chunk == chunk.lstrip()
        assert chunk.endswith(" ") and not chunk.endswith("  ")
        assert not chunk[-2].isspace()


def assert_tiles(chunks: list[str], text: str, max_chars: int = 160) -> int:
    """The chunks, in order, tile the normalised text; joins fall on spaces or between non-word chars.

    Returns the number of joins that were not on a space (only possible when a delta ended inside a
    punctuation cluster).
    """
    target = norm(text)
    pos = 0
    glued = 0
    for chunk in chunks:
        core = norm(chunk)
        assert target.startswith(core, pos), (chunk, target[pos:])
        pos += len(core)
        if pos < len(target):
            if target[pos] == " ":
                pos += 1
            else:
                glued += 1
                assert not (target[pos - 1].isalnum() and target[pos].isalnum()), "word split"
    assert pos == len(target)
    return glued


@pytest.mark.parametrize("paragraph", PARAGRAPHS, ids=[f"p{i}" for i in range(len(PARAGRAPHS))])
def test_random_splittings_lose_nothing_and_split_no_word(paragraph: str) -> None:
    rng = random.Random(paragraph)
    for _ in range(300):
        deltas = random_split(paragraph, rng)
        chunks, _ = run(deltas)
        assert_chunk_shape(chunks)
        assert_tiles(chunks, paragraph)
        assert "".join(chunks).split() and re.sub(r"\s", "", "".join(chunks)) == re.sub(r"\s", "", paragraph)


@pytest.mark.parametrize("paragraph", PARAGRAPHS, ids=[f"p{i}" for i in range(len(PARAGRAPHS))])
def test_token_like_splitting_is_exact_and_matches_one_shot(paragraph: str) -> None:
    chunks, _ = run(token_split(paragraph))
    assert_chunk_shape(chunks)
    assert assert_tiles(chunks, paragraph) == 0
    assert norm("".join(chunks)) == norm(paragraph)
    one_shot, _ = run([paragraph])
    assert chunks == one_shot


@pytest.mark.parametrize(
    ("text", "forbidden"),
    [
        ("Это т.е. слон на мопеде, и т.д. и т.п. Конец.", ["т. ", "т.е. ", "т.д. "]),
        ("Едем 3.5 км/ч, а потом 3,5 км/ч. Всё.", ["3. ", "3, "]),
        ("Это А. С. Пушкин, а это Mr. Smith. Всё.", ["А. ", "С. ", "Mr. "]),
    ],
)
def test_no_chunk_ends_inside_abbreviation_or_number(text: str, forbidden: list[str]) -> None:
    rng = random.Random(text)
    for _ in range(200):
        chunks, _ = run(random_split(text, rng))
        for chunk in chunks[:-1]:
            assert not any(chunk.endswith(bad) for bad in forbidden), chunks
        assert_tiles(chunks, text)
