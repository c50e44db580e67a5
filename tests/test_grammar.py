"""Russian agreement helpers: numerals with nouns in every case, the человек quirk, speakable text."""

from __future__ import annotations

import pytest

from nuanu_tui.core.grammar import (
    NounPhrase,
    agree,
    clean_text,
    en_phrase,
    fix_prepositions,
    number_value,
    spell_digits,
    strip_unspeakable,
)


@pytest.mark.parametrize(
    ("noun", "n", "expected"),
    [
        ("собака", 1, "одна собака"),
        ("собака", 2, "две собаки"),
        ("собака", 5, "пять собак"),
        ("собака", 11, "одиннадцать собак"),
        ("собака", 21, "двадцать одна собака"),
        ("собака", 22, "двадцать две собаки"),
        ("корова", 1, "одна корова"),
        ("корова", 2, "две коровы"),
        ("корова", 21, "двадцать одна корова"),
        ("турист", 1, "один турист"),
        ("турист", 2, "два туриста"),
        ("турист", 5, "пять туристов"),
        ("турист", 11, "одиннадцать туристов"),
        ("турист", 21, "двадцать один турист"),
        ("турист", 22, "двадцать два туриста"),
        ("скутер", 2, "два скутера"),
        ("скутер", 5, "пять скутеров"),
        ("скутер", 21, "двадцать один скутер"),
        ("грузовик", 11, "одиннадцать грузовиков"),
        ("грузовик", 22, "двадцать два грузовика"),
        ("человек", 1, "один человек"),
        ("человек", 2, "два человека"),
        ("человек", 5, "пять человек"),  # pymorphy alone says «людей»
        ("человек", 11, "одиннадцать человек"),
        ("человек", 21, "двадцать один человек"),
        ("поле", 1, "одно поле"),
    ],
)
def test_agree_nominative(noun: str, n: int, expected: str) -> None:
    assert agree(noun, n) == expected


@pytest.mark.parametrize(
    ("noun", "n", "expected"),
    [
        ("собака", 21, "21 собака"),
        ("собака", 5, "5 собак"),
        ("турист", 22, "22 туриста"),
        ("человек", 5, "5 человек"),
    ],
)
def test_agree_digits_mode(noun: str, n: int, expected: str) -> None:
    assert agree(noun, n, digits=True) == expected


@pytest.mark.parametrize(
    ("noun", "n", "case", "expected"),
    [
        ("собака", 2, "accs", "двух собак"),  # animate: genitive-like accusative
        ("собака", 1, "accs", "одну собаку"),
        ("собака", 21, "accs", "двадцать одну собаку"),
        ("собака", 22, "accs", "двадцать две собаки"),  # compound numerals ignore animacy
        ("турист", 1, "accs", "одного туриста"),
        ("турист", 3, "accs", "трёх туристов"),
        ("скутер", 2, "accs", "два скутера"),  # inanimate: like the nominative
        ("скутер", 1, "accs", "один скутер"),
        ("собака", 2, "gent", "двух собак"),
        ("собака", 21, "gent", "двадцати одной собаки"),
        ("собака", 5, "ablt", "пятью собаками"),
        ("собака", 21, "ablt", "двадцатью одной собакой"),
        ("скутер", 22, "ablt", "двадцатью двумя скутерами"),
        ("корова", 2, "datv", "двум коровам"),
        ("грузовик", 11, "loct", "одиннадцати грузовиках"),
        ("человек", 5, "gent", "пяти человек"),
        ("человек", 2, "accs", "двух человек"),
    ],
)
def test_agree_cases(noun: str, n: int, case: str, expected: str) -> None:
    assert agree(noun, n, case) == expected


def test_adjectives_agree_with_number_and_gender() -> None:
    assert NounPhrase("собака", 2, adjectives=["рыжий"]).render() == "две рыжие собаки"
    assert NounPhrase("скутер", 3, adjectives=["красный"]).render() == "три красных скутера"
    assert NounPhrase("турист", 3, adjectives=["весёлый"]).render("accs") == "трёх весёлых туристов"
    assert NounPhrase("поле", plural=True, adjectives=["рисовый"]).render("ablt") == "рисовыми полями"
    assert NounPhrase("собака", 21, adjectives=["рыжий"]).render("ablt") == "двадцатью одной рыжей собакой"


def test_subject_verb_agreement() -> None:
    assert NounPhrase("собака", 21).verb_form(["стоит", "стоят"]) == "стоит"
    assert NounPhrase("собака", 2).verb_form(["стоит", "стоят"]) == "стоят"
    assert NounPhrase("собака", 11).verb_form(["стоит", "стоят"]) == "стоят"
    four = ["пришёл", "пришла", "пришло", "пришли"]
    assert NounPhrase("собака").verb_form(four) == "пришла"
    assert NounPhrase("турист").verb_form(four) == "пришёл"
    assert NounPhrase("поле").verb_form(four) == "пришло"
    assert NounPhrase("турист", plural=True).verb_form(four) == "пришли"


def test_render_rejects_unknown_case() -> None:
    with pytest.raises(ValueError, match="unknown case"):
        NounPhrase("собака").render("vocative")


def test_number_words_parse() -> None:
    assert number_value(["двадцать", "один"]) == 21
    assert number_value(["сто", "пять"]) == 105
    assert number_value(["две", "тысяча"]) == 2000
    assert number_value(["два", "тысячи", "три"]) == 2003
    assert number_value(["twenty", "two"], "en") == 22
    assert number_value(["собака"]) is None


def test_strip_unspeakable_removes_controls_and_emoji() -> None:
    assert strip_unspeakable("собака\x00\x07 🐶🐕‍🦺 слева\u200b!") == "собака слева!"
    assert strip_unspeakable("\t\n  ") == ""


def test_spell_digits_agrees_with_following_noun() -> None:
    assert spell_digits("21 собака") == "двадцать одна собака"
    assert spell_digits("2 коровы и 1 скутер") == "две коровы и один скутер"
    assert spell_digits("3.5 км") == "три целых пять десятых км"
    assert spell_digits("7", "en") == "seven"


def test_clean_text_has_no_digits_or_controls() -> None:
    out = clean_text("\x07 42 туриста 🚌 ,ура\x7f\x00")
    assert out == "сорок два туриста,ура"
    assert not any(ch.isdigit() for ch in clean_text("\x1b[31m 7 собак, 100500 и 3,5"))
    assert all(ch.isprintable() for ch in out)


def test_fix_prepositions() -> None:
    assert fix_prepositions("рядом с скутером и с шаттлом") == "рядом со скутером и с шаттлом"
    assert fix_prepositions("мечтаю о обезьянах, о дожде") == "мечтаю об обезьянах, о дожде"


def test_english_phrases() -> None:
    assert en_phrase("dog", 21) == "twenty-one dogs"
    assert en_phrase("dog", 1) == "one dog"
    assert en_phrase("elephant") == "an elephant"
    assert en_phrase("person", 5) == "five people"
    assert en_phrase("rain") == "rain"
    assert en_phrase("bus", plural=True) == "buses"
