"""The rubric, flag by flag, with Russian remarks and the thresholds' boundaries on both sides."""

from __future__ import annotations

import pytest

from nuanu_tui.core.quality import (
    FLAGS,
    SESSION_REMARKS,
    Quality,
    Remark,
    RemarkSession,
    Thresholds,
    content_lemmas,
    rate,
)

DOGS = "камера, две собаки слева"
LIMITS = Thresholds()
# Twelve Russian words to build remarks of an exact length (no Latin, no markup, ends a sentence).
FILLER = [
    "шаттл",
    "едет",
    "медленно",
    "мимо",
    "зелёных",
    "рисовых",
    "полей",
    "и",
    "пассажиры",
    "машут",
    "местным",
    "жителям",
]


def words(n: int) -> str:
    """A remark of exactly `n` words that mentions the dogs and ends a sentence."""
    body = ["Собаки", *(FILLER * 10)][:n]
    return " ".join(body) + "."


def flags(text: str, trigger: str = DOGS, **kw: object) -> list[str]:
    quality = rate(Remark(text, trigger, **kw))  # type: ignore[arg-type]
    assert quality is not None
    assert set(quality.flags) <= set(FLAGS)
    return quality.flags


def test_the_defaults_are_what_the_readme_says() -> None:
    assert (LIMITS.max_words, LIMITS.min_words, LIMITS.max_seconds, LIMITS.min_seconds) == (35, 4, 14.0, 1.0)
    assert (LIMITS.latin_share, LIMITS.repeat, SESSION_REMARKS) == (0.15, 0.5, 10)


def test_the_quality_object_has_the_interface_shape() -> None:
    quality = rate(Remark("Две собаки слева! Машут хвостами, встречают шаттл.", DOGS, "u1", seconds=3.456))
    assert quality is not None
    assert quality.to_json() == {
        "words": 7,
        "sentences": 2,
        "seconds": 3.46,
        "latin_words": 0,
        "on_topic": True,
        "complete": True,
        "repeats": None,
        "flags": [],
    }
    assert Quality.from_json(quality.to_json()) == quality
    assert rate(Remark("   ", DOGS)) is None  # no remark, nothing to judge


# -- too_long / too_short: words and audio seconds ------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "seconds", "expected"),
    [
        (35, None, []),  # at the word limit
        (36, None, ["too_long"]),
        (20, 14.0, []),  # at the seconds limit
        (20, 14.01, ["too_long"]),
        (4, None, []),  # at the lower word limit
        (3, None, ["too_short"]),
        (8, 1.0, []),  # at the lower seconds limit
        (8, 0.99, ["too_short"]),
        (40, 0.5, ["too_long", "too_short"]),  # many words read impossibly fast: both are wrong
    ],
)
def test_length_flags(n: int, seconds: float | None, expected: list[str]) -> None:
    assert flags(words(n), seconds=seconds) == expected


def test_length_thresholds_come_from_settings() -> None:
    from nuanu_tui.core.config import Settings

    limits = Thresholds.from_settings(Settings(NUANU_QUALITY_MAX_WORDS="10", NUANU_QUALITY_MIN_SECONDS="2"))
    assert rate(Remark(words(11), DOGS), thresholds=limits).flags == ["too_long"]  # type: ignore[union-attr]
    assert rate(Remark(words(10), DOGS, seconds=1.5), thresholds=limits).flags == ["too_short"]  # type: ignore[union-attr]


# -- not_russian: Latin-script words beyond a small share, allowed names aside --------------------------
@pytest.mark.parametrize(
    ("text", "latin", "flagged"),
    [
        ("Собаки слева встречают шаттл NUANU на Бали.", 0, False),  # allowed name
        ("Собаки слева, как на открытке из Canggu и Ubud.", 0, False),  # allowed places
        ("Собаки слева просто chill, шаттл едет дальше.", 1, False),  # 1 of 7 = 0.14
        ("Собаки слева chill, шаттл едет, пассажиры машут, все very рады солнцу.", 2, True),  # 2 of 12
        # exactly at the share: 3 of 20 = 0.15 is still within it
        (
            "Собаки слева chill and relax, шаттл едет медленно мимо зелёных рисовых полей, "
            "и пассажиры машут местным жителям весело и дружно.",
            3,
            False,
        ),
        ("Wow, две собаки!", 1, True),  # 1 of 3
        ("Look at these dogs, so cute!", 6, True),
    ],
)
def test_not_russian(text: str, latin: int, flagged: bool) -> None:
    quality = rate(Remark(text, DOGS))
    assert quality is not None and quality.latin_words == latin
    assert ("not_russian" in quality.flags) is flagged


def test_latin_allow_list_takes_extra_names_and_english_remarks_are_not_flagged() -> None:
    text = "Собаки слева, как на открытке Pererenan и Kedungu, и ещё Berawa."
    assert rate(Remark(text, DOGS)).latin_words == 1  # type: ignore[union-attr]
    more = Thresholds(latin_ok=frozenset({"berawa"}))
    assert rate(Remark(text, DOGS), thresholds=more).latin_words == 0  # type: ignore[union-attr]
    assert "not_russian" not in flags("Two dogs on the left, say hello!", lang="en")


# -- off_topic: the trigger's subject as a lemma or a word of its kind ---------------------------------
@pytest.mark.parametrize(
    ("trigger", "text", "on_topic"),
    [
        (DOGS, "Смотрите, сколько собак вокруг шаттла!", True),  # «собак» is собака
        (DOGS, "Две собачки слева машут хвостами!", True),  # a diminutive of the same kind
        (DOGS, "Пёс слева явно ждёт автобус.", True),  # a synonym the phrasebook knows
        (DOGS, "Щенок слева охраняет дорогу.", True),
        (DOGS, "Кошка слева смотрит на шаттл свысока.", False),
        (DOGS, "Какой прекрасный день на Бали!", False),
        ("two dogs on the left", "Собаки слева встречают нас!", True),  # an English trigger
        ("камера, три буйвола справа", "Буйволы справа идут на водопой.", True),
        ("камера, кентавр слева", "Кентавра не каждый день увидишь!", True),  # a noun the phrasebook lacks
        ("камера, кентавр слева", "Вот это поворот!", False),
        ("камера, жарко", "На Бали жара, пьём воду!", None),  # no subject to look for: no flag
        ("", "Всем привет от шаттла!", None),
    ],
)
def test_off_topic(trigger: str, text: str, on_topic: bool | None) -> None:
    quality = rate(Remark(text, trigger))
    assert quality is not None and quality.on_topic is on_topic
    assert ("off_topic" in quality.flags) is (on_topic is False)


# -- cut_off: stopped on the token limit, or not ending a sentence -------------------------------------
@pytest.mark.parametrize(
    ("text", "finish", "cut"),
    [
        ("Собаки слева машут хвостами!", "stop", False),
        ("Собаки слева машут хвостами.", None, False),
        ("Собаки слева машут хвостами?", None, False),
        ("Собаки слева машут хвостами…", None, False),
        ("Собаки слева кричат: «Привет!»", None, False),  # a closing quote after the sentence end
        ("Собаки слева машут хвостами и", None, True),
        ("Собаки слева машут хвостами,", None, True),
        ("Собаки слева машут хвостами!", "length", True),  # the provider says it hit max_tokens
    ],
)
def test_cut_off(text: str, finish: str | None, cut: bool) -> None:
    quality = rate(Remark(text, DOGS, finish_reason=finish))
    assert quality is not None and quality.complete is not cut
    assert ("cut_off" in quality.flags) is cut


# -- repeats: content-lemma overlap with the session's last ten remarks ---------------------------------
def test_repeats_catches_the_phrasebook_story() -> None:
    """The issue's report: one template for two dogs, then three buffaloes, then two cows."""
    session = RemarkSession()
    line = "Вижу {}! Пассажиры, без паники: это их остров, а мы тут в гостях."
    first = rate(Remark(line.format("двух собак"), DOGS, "u1"), session)
    second = rate(Remark(line.format("трёх буйволов"), "три буйвола справа", "u2"), session)
    third = rate(Remark(line.format("двух коров"), "две коровы", "u3"), session)
    assert first is not None and first.repeats is None and "repeats" not in first.flags
    assert second is not None and second.repeats == "u1" and "repeats" in second.flags
    assert third is not None and third.repeats == "u2"  # equally close to both: the newest


def test_repeat_threshold_boundary() -> None:
    base = "Пассажиры любуются островом и пляжем."  # пассажир любоваться остров пляж
    half = "Пассажиры любуются островом, закатом и морем."  # 3 shared of 6: 0.5, at the threshold
    less = "Пассажиры любуются закатом, морем и пальмами."  # 2 shared of 7: below it
    assert content_lemmas(base) == {"пассажир", "любоваться", "остров", "пляж"}
    for text, repeats in ((half, "a"), (less, None)):
        session = RemarkSession()
        rate(Remark(base, "камера, вид", "a"), session)
        quality = rate(Remark(text, "камера, вид", "b"), session)
        assert quality is not None and quality.repeats == repeats
    session = RemarkSession()
    rate(Remark(base, "камера, вид", "a"), session)
    stricter = Thresholds(repeat=0.51)
    assert rate(Remark(half, "камера, вид", "b"), session, stricter).repeats is None  # type: ignore[union-attr]


def test_the_trigger_subject_alone_is_no_repeat_and_identical_short_remarks_are() -> None:
    session = RemarkSession()
    rate(Remark("Две собаки слева машут хвостами.", DOGS, "a"), session)
    other = rate(Remark("Собаки слева охраняют дорогу от туристов.", DOGS, "b"), session)
    assert other is not None and other.repeats is None  # sharing «собака», «слева» is the trigger's doing
    rate(Remark("Ого!", DOGS, "c"), session)
    again = rate(Remark("Ого…", DOGS, "d"), session)
    assert again is not None and again.repeats == "c"  # too few lemmas to compare, but the same words


def test_a_session_remembers_ten_remarks() -> None:
    line = "Вижу {}! Пассажиры, без паники: это их остров, а мы тут в гостях."
    others = [f"Случай номер {word}: шаттл видит {thing} и едет дальше." for word, thing in zip(
        ["один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять", "десять"],
        ["пальму", "море", "храм", "рынок", "вулкан", "пляж", "мост", "рис", "кофе", "закат"], strict=True)]  # fmt: skip
    for between, repeats in ((SESSION_REMARKS - 1, "first"), (SESSION_REMARKS, None)):
        session = RemarkSession()
        rate(Remark(line.format("собак"), DOGS, "first"), session)
        for i, text in enumerate(others[:between]):
            rate(Remark(text, "камера, что-то", f"o{i}"), session)
        quality = rate(Remark(line.format("коров"), "коровы", "last"), session)
        assert quality is not None and quality.repeats == repeats
    assert rate(Remark(line.format("собак"), DOGS, "x")).repeats is None  # type: ignore[union-attr]  # no session


# -- blocked and markup: what the safety filter had to do -----------------------------------------------
def test_blocked() -> None:
    assert "blocked" in flags("Ой, об этом я лучше промолчу. Давайте просто полюбуемся видом!", blocked=True)
    assert "blocked" not in flags("Собаки слева машут хвостами!")


@pytest.mark.parametrize(
    ("text", "stripped", "flagged"),
    [
        ("Собаки слева машут хвостами!", False, False),
        ("**Собаки** слева машут хвостами!", False, True),
        ("Собаки слева машут хвостами! 🐶", False, True),
        ("Собаки слева машут хвостами (смеётся).", False, True),
        ("Собаки слева машут хвостами :)", False, True),
        ("Собаки слева машут хвостами!", True, True),  # the filter stripped it before this text was kept
        ("Собаки слева — «местные жители»!", False, False),  # dashes and guillemets are not markup
    ],
)
def test_markup(text: str, stripped: bool, flagged: bool) -> None:
    assert ("markup" in flags(text, stripped=stripped)) is flagged


def test_a_clean_remark_has_no_flags_and_flags_keep_their_order() -> None:
    assert flags("Две собаки слева машут хвостами и встречают наш шаттл!", seconds=3.2) == []
    many = flags("Look, **cats** и", seconds=0.4, blocked=True)
    assert many == ["too_short", "not_russian", "off_topic", "cut_off", "blocked", "markup"]
    assert [f for f in FLAGS if f in many] == many


def test_the_demo_emulator_answers_about_the_trigger_not_the_message_prefix() -> None:
    """The rubric found it: --demo's phrasebook read «Сообщение камеры (данные): …» and spoke about «сообщение»."""
    from nuanu_tui.core.llm.prompts import build_messages
    from nuanu_tui.demo import _demo_content, _quoted_trigger

    trigger = "на дороге подношение канан сари, объезжаем"
    message = build_messages(trigger, "ru", interjection="Ого!")[1]["content"]
    assert _quoted_trigger(message) == trigger and _quoted_trigger("без кавычек") == "без кавычек"
    reply = _demo_content()["reply_fn"](message, "llama-3.1-8b-instant")  # type: ignore[operator]
    quality = rate(Remark(reply, trigger))
    assert quality is not None and quality.on_topic is True, reply
