"""Output filter: blocklist on word stems (pymorphy normal forms, prefixes), markup stripping, length cap."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.safety import (
    SAFE_PHRASE_EN,
    SAFE_PHRASE_RU,
    ChunkVerdict,
    FilterConfig,
    OutputFilter,
    has_markup,
    load_blocklist,
    strip_markup,
)

SAFE_RU = SAFE_PHRASE_RU + " "


@pytest.fixture(scope="module")
def flt() -> OutputFilter:
    return OutputFilter()


def verdict(flt: OutputFilter, chunk: str) -> ChunkVerdict:
    flt.reset()
    return flt.clean_chunk(chunk)


# -- blocklist: inflected Russian forms ------------------------------------------------------------------

RU_BLOCKED = [
    # lemma entries: cases and numbers via pymorphy normal forms
    ("Смотри, сука бежит", "сука"),
    ("Не трогай суку", "сука"),
    ("Эти суки опять тут", "сука"),
    ("Сколько тут сук", "сука"),
    ("с какой-то сукой", "сука"),
    ("Какой урод припарковался", "урод"),
    ("Вон два урода", "урод"),
    ("Я тебя убью", "убить"),
    ("Его убили вчера", "убить"),
    ("Там лежит труп", "труп"),
    ("Нашли два трупа", "труп"),
    ("В автобусе бомба", "бомба"),
    ("Не трогайте бомбу", "бомба"),
    ("Эти твари кусаются", "тварь"),
    ("Какой идиот это сделал", "идиот*"),
    ("Одни идиоты кругом", "идиот*"),
    # stem entries: the root and its endings
    ("Какой пиздец тут", "~пизд*"),
    ("Пизда рулю", "~пизд*"),
    ("Хватит пиздеть", "~пизд*"),
    ("Ну и хуйня", "~хуй*"),
    ("хуёвая погода", "~хуе*"),
    ("Нахуя нам это", "~хуя*"),
    ("Иди нахуй", "~хуй*"),
    ("Мне похуй", "~хуй*"),
    ("Я охуел от цен", "~хуе*"),
    ("Ни хуя себе", "~хуя*"),
    ("Какой мудак", "~мудак*"),
    ("эти мудаки на скутерах", "~мудак*"),
    ("Блядь, опять пробка", "~бляд*"),
    ("Бля, пробка", "бля"),
    ("Выблядок какой", "~бляд*"),
    ("Эти пробки заебали", "~еб*"),
    ("Отъебись от меня", "~еб*"),
    ("Ёбаный скутер", "~еб*"),
    ("Он долбоёб", "долбоеб*"),
    ("Спиздили велосипед", "спизд*"),
    ("Этот пидорас подрезал", "~пидор*"),
    ("Вот жопа", "~жоп*"),
    ("Сидит на жопе ровно", "~жоп*"),
    ("Кругом говно", "~говн*"),
    ("Какое дерьмо", "~дерьм*"),
    ("Шлюхи на обочине", "шлюх*"),
    # mixed scripts and capitals
    ("Ну и XУЙНЯ", "~хуй*"),
    ("ПИЗДЕЦ", "~пизд*"),
]


@pytest.mark.parametrize(("chunk", "entry"), RU_BLOCKED)
def test_russian_inflections_blocked(flt: OutputFilter, chunk: str, entry: str) -> None:
    v = verdict(flt, chunk + " ")
    assert v.blocked is True
    assert v.text == SAFE_RU
    assert v.reason is not None and f"entry {entry!r}" in v.reason


EN_BLOCKED = [
    ("What the fuck", "fuck*"),
    ("They're fucking everywhere", "fuck*"),
    ("Fucked up traffic", "fuck*"),
    ("You motherfucker", "motherfuck*"),
    ("Holy shit", "shit*"),
    ("This is bullshit", "bullshit*"),
    ("Stupid bitches", "bitch*"),
    ("He got stabbed", "stab"),
    ("Stabbing is bad", "stab"),
    ("She was raped", "rape"),
    ("The rapist", "rapist"),
    ("They killed it", "kill"),
    ("kills everyone", "kill"),
    ("Three bombs", "bomb"),
    ("The bombing", "bomb"),
    ("Such assholes", "asshole*"),
    ("Stop pissing", "piss"),
    ("A bastard", "bastard"),
    ("Some bastards", "bastard"),
    ("Porn stars", "porn*"),
    ("Sexy dog", "sexy"),
]


@pytest.mark.parametrize(("chunk", "entry"), EN_BLOCKED)
def test_english_inflections_blocked(chunk: str, entry: str) -> None:
    flt = OutputFilter(lang="en")
    v = flt.clean_chunk(chunk + "! ")
    assert v.blocked is True
    assert v.text == SAFE_PHRASE_EN + " "
    assert v.reason is not None and f"entry {entry!r}" in v.reason


@pytest.mark.parametrize(
    "chunk",
    ["Ну и х*йня тут", "бл**ь, пробка", "what the f*** ", "sh*t happens", "п***ц какой"],
)
def test_self_censored_words_blocked(flt: OutputFilter, chunk: str) -> None:
    v = verdict(flt, chunk)
    assert v.blocked is True and v.text == SAFE_RU
    assert v.reason is not None and v.reason.startswith("self-censored")


# -- false-positive traps (Scunthorpe problem) -------------------------------------------------------------

CLEAN_TRAPS = [
    "Застрахуйте свой скутер, пожалуйста.",
    "Страхуйте друг друга на подъёме.",
    "Это не оскорбление, а комплимент.",
    "Хлебушек для уточек, хлеба много.",
    "Не стоит употреблять сладкое на жаре.",
    "С корабля на бал, без рубля в кармане.",
    "Самурай поднял саблю.",
    "Бляха на ремне блестит.",
    "Себя не жалко, небо синее, веб-камера смотрит.",
    "Мудрый мандарин в команде.",
    "Сукно на столе, сучок на дереве.",
    "Похудеть к лету, а выхухоль плывёт.",
    "Погреб, гребля и хлебать суп.",
    "Трахея и хачапури, педикюр и даунтаун.",
    "Жидкий бетон, кровать и гондола.",
    "Забег по набережной, обед в полдень.",
    "Херувим и Херсон на карте.",
    "Скипидар пахнет, а в Нигере жарко.",
    "Козёл, свинья и обезьяна гуляют рядом с коровой.",
    "Секстант и насилу успели.",
    "Пенистые волны, не стоит уподобляться чайкам.",
    "Давайте подебоширим немного, аблятив и дебют.",
    "The therapist from Scunthorpe fed a cockatoo.",
    "A classy bass player and the grass.",
    "Sussex and Essex, an analysis of a cucumber.",
    "The title of the Titanic document.",
    "Skill, kilogram, grape and scrape.",
    "Nigeria, Niger and a spicy spice.",
    "Shiitake, a shih tzu and a shitake stand.",
    "Bombay had a sextant in the button shop.",
    "Dickens wrote about a hunter.",
]


@pytest.mark.parametrize("text", CLEAN_TRAPS)
def test_false_positive_traps_pass(flt: OutputFilter, text: str) -> None:
    v = verdict(flt, text + " ")
    assert v == ChunkVerdict(text + " ")


# -- clean text is untouched ----------------------------------------------------------------------------

CLEAN = [
    "Вот это да, слон на мопеде! ",
    "Две собаки слева — настоящие хозяева дороги. ",
    "Ровно в 10:30, т.е. через 3.5 минуты, со скоростью 40 км/ч. ",
    "«Стоп!» — сказал гид. ",
    "Кто-то уже фотографирует, а кто-то спит… ",
    "Look, two dogs on the left! ",
    "It's 5 p.m., and the rice fields are gorgeous. ",
    "Ёжик и ёлка. ",
]


@pytest.mark.parametrize("text", CLEAN)
def test_clean_text_untouched_byte_for_byte(flt: OutputFilter, text: str) -> None:
    v = verdict(flt, text)
    assert v.text.encode() == text.encode()
    assert (v.blocked, v.truncated, v.reason) == (False, False, None)


@pytest.mark.parametrize(
    ("chunk", "expected"),
    [
        ("Слон идёт", "Слон идёт "),
        ("  Слон   идёт  ", "Слон идёт "),
        ("Слон\nидёт\t", "Слон идёт "),
        ("Слон идёт     ", "Слон идёт "),
    ],
)
def test_whitespace_collapsed_and_one_trailing_space(flt: OutputFilter, chunk: str, expected: str) -> None:
    assert verdict(flt, chunk).text == expected


# -- stripping --------------------------------------------------------------------------------------------

STRIP = [
    ("**Смотрите**, слон!", "Смотрите, слон!"),
    ("__Внимание__: слон", "Внимание: слон"),
    ("Это _очень_ красиво", "Это очень красиво"),
    ("# Слоны на дороге", "Слоны на дороге"),
    ("## Heading two", "Heading two"),
    ("- первая собака\n- вторая собака", "первая собака вторая собака"),
    ("* first dog\n* second dog", "first dog second dog"),
    ("1. один\n2. два", "один два"),
    ("Команда `stop` работает", "Команда stop работает"),
    ("Читайте [здесь](https://nuanu.com/page) подробнее", "Читайте здесь подробнее"),
    ("Смотрите https://nuanu.com/tours?id=5 там всё", "Смотрите там всё"),
    ("Сайт www.nuanu.com, заходите", "Сайт, заходите"),
    ("Слон 🐘 идёт 🎉🎉", "Слон идёт"),
    ("Флаг 🇮🇩 и семья 👨‍👩‍👧 рядом", "Флаг и семья рядом"),
    ("Сердечко ❤️ и звезда ⭐", "Сердечко и звезда"),
    ("Грустно :( но ладно :)", "Грустно но ладно"),
    ("Haha xD nice <3", "Haha nice"),
    ("(смеётся) Вот это да!", "Вот это да!"),
    ("Вот это да (смеётся), слон!", "Вот это да, слон!"),
    ("*вздыхает* Опять пробка.", "Опять пробка."),
    ("[laughs] Look at that!", "Look at that!"),
    ("Wow *giggles* a monkey!", "Wow a monkey!"),
    ("Картинка ![слон](http://x.ru/a.png) тут", "Картинка тут"),
    ("Жирный <b>текст</b>", "Жирный текст"),
    ("~~зачёркнуто~~ верно", "зачёркнуто верно"),
    ("> цитата из гида", "цитата из гида"),
]


@pytest.mark.parametrize(("chunk", "expected"), STRIP)
def test_markup_stripped(flt: OutputFilter, chunk: str, expected: str) -> None:
    assert strip_markup(chunk) == expected
    assert verdict(flt, chunk + " ").text == expected + " "


@pytest.mark.parametrize("chunk", ["(смеётся) ", "🐘🐘 ", "*вздыхает* ", "[laughs]", "https://nuanu.com "])
def test_chunk_with_nothing_speakable_sends_nothing(flt: OutputFilter, chunk: str) -> None:
    v = verdict(flt, chunk)
    assert v.text == "" and not v.blocked and not v.truncated


def test_empty_chunk(flt: OutputFilter) -> None:
    assert verdict(flt, "") == ChunkVerdict("")
    assert verdict(flt, "   ") == ChunkVerdict("")


# -- blocked chunk: safe phrase once per utterance ----------------------------------------------------------


def test_safe_phrase_once_then_silence_until_reset() -> None:
    flt = OutputFilter()
    assert flt.clean_chunk("Вот это да, ").text == "Вот это да, "
    first = flt.clean_chunk("какой пиздец тут. ")
    assert first.blocked and first.text == SAFE_RU
    later = [flt.clean_chunk(c) for c in ("Слон идёт. ", "И ещё хуйня. ")]
    assert [(v.text, v.blocked) for v in later] == [("", True), ("", True)]
    flt.reset()
    assert flt.clean_chunk("Слон идёт. ") == ChunkVerdict("Слон идёт. ")


def test_safe_phrase_by_language_and_custom() -> None:
    assert OutputFilter(lang="en").clean_chunk("holy shit ").text == SAFE_PHRASE_EN + " "
    config = FilterConfig(safe_phrase_ru="Едем дальше!", safe_phrase_en="Moving on!")
    assert OutputFilter(config).clean_chunk("ну и хуйня ").text == "Едем дальше! "
    assert OutputFilter(config, lang="en").clean_chunk("fuck ").text == "Moving on! "


def test_blocked_text_never_in_output() -> None:
    flt = OutputFilter()
    chunks = ["Смотрите, ", "**пиздец** какой! ", "А ещё мудак на скутере. "]
    sent = "".join(flt.clean_chunk(c).text for c in chunks)
    assert sent == "Смотрите, " + SAFE_RU
    assert "пизд" not in sent and "мудак" not in sent


# -- max length -------------------------------------------------------------------------------------------


def test_max_chars_cut_at_word_boundary_then_silence() -> None:
    flt = OutputFilter(FilterConfig(max_chars=30))
    a = flt.clean_chunk("Вот это да, слон! ")  # 17 chars + space
    assert a == ChunkVerdict("Вот это да, слон! ")
    b = flt.clean_chunk("Он едет на мопеде по рисовым полям. ")
    assert b.truncated is True and b.blocked is False
    assert b.text == "Он едет на "  # 18 + "Он едет на" (10) = 28 <= 30; "мопеде" would pass the limit
    spoken = (a.text + b.text).strip()
    assert len(spoken) <= 30
    assert flt.clean_chunk("Ещё фраза. ") == ChunkVerdict("", truncated=True, reason=b.reason)
    flt.reset()
    assert flt.clean_chunk("Ещё фраза. ").text == "Ещё фраза. "


@pytest.mark.parametrize(
    ("max_chars", "chunk", "expected"),
    [
        (10, "Слон идёт домой", "Слон идёт "),  # the limit falls right after a word: keep it
        (11, "Слон идёт, домой", "Слон идёт "),  # no dangling comma
        (3, "Слон идёт", ""),  # not even one word fits
        (15, "Слон идёт домой", "Слон идёт домой "),  # exactly at the limit: not truncated
    ],
)
def test_max_chars_boundaries(max_chars: int, chunk: str, expected: str) -> None:
    v = OutputFilter(FilterConfig(max_chars=max_chars)).clean_chunk(chunk)
    assert v.text == expected
    assert v.truncated is (expected != chunk + " ")


def test_max_chars_counts_spoken_text_not_markup() -> None:
    flt = OutputFilter(FilterConfig(max_chars=12))
    v = flt.clean_chunk("**Слон** 🐘🐘🐘 (смеётся) идёт")
    assert v == ChunkVerdict("Слон идёт ", stripped=True)  # stripped: the rubric's markup flag


@pytest.mark.parametrize(
    ("chunk", "stripped"),
    [
        ("Две  собаки слева, ", False),  # only re-spaced
        ("Две собаки\nслева, ", False),  # a line break takes the slow path, still nothing removed
        ("Две *собаки* слева, ", True),
        ("Две собаки слева 🐶 ", True),
        ("Две собаки слева :) ", True),
        ("Две собаки (смеётся) слева, ", True),
    ],
)
def test_stripped_says_whether_anything_but_whitespace_went(chunk: str, stripped: bool) -> None:
    assert OutputFilter().clean_chunk(chunk).stripped is stripped
    assert has_markup(chunk) is stripped


# -- configuration ----------------------------------------------------------------------------------------


def test_custom_blocklist_file_replaces_defaults(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("# project words\n\nбанан\nкокос*\n~ябл*\nbroccoli\n!кокосов*\n", encoding="utf-8")
    flt = OutputFilter(FilterConfig(blocklist_paths=[path]))
    cases = {
        "Вот бананы": True,  # lemma банан
        "Много бананов": True,
        "Кокосы падают": True,  # stem кокос*
        "Кокосовое молоко": False,  # exception !кокосов*
        "Наяблочились": True,  # ~ябл* after the prefix на-
        "Two broccolis": True,  # English inflection
        "Какой пиздец": False,  # defaults replaced
    }
    for chunk, blocked in cases.items():
        flt.reset()
        assert flt.clean_chunk(chunk).blocked is blocked, chunk


def test_extra_words_add_to_defaults() -> None:
    flt = OutputFilter(FilterConfig(extra_words=["скутерист", "durian*"]))
    for chunk in ("Эти скутеристы!", "Скутеристов много", "Durians smell", "Какой пиздец"):
        flt.reset()
        assert flt.clean_chunk(chunk).blocked is True, chunk
    flt.reset()
    assert flt.clean_chunk("Скутер едет").blocked is False


def test_missing_blocklist_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(NuanuError) as err:
        OutputFilter(FilterConfig(blocklist_paths=[tmp_path / "nope.txt"]))
    assert err.value.kind == "config" and "nope.txt" in err.value.message


def test_bad_entry_is_a_config_error() -> None:
    with pytest.raises(NuanuError) as err:
        OutputFilter(FilterConfig(extra_words=["two words"]))
    assert err.value.kind == "config"


def test_compiled_blocklist_is_shared() -> None:
    assert OutputFilter().blocklist is OutputFilter(lang="en").blocklist is load_blocklist()


def test_shipped_lists_load_and_have_entries() -> None:
    assert load_blocklist().size > 200
