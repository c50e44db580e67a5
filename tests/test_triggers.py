"""Trigger sets: built-ins, text and JSONL files, and one-line config errors naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.triggers import SEED_TRIGGERS, load_triggers


def test_seed_is_exactly_the_five() -> None:
    assert load_triggers("seed") == [
        "камера, две собаки слева на обочине",
        "впереди группа туристов, фотографируют храм",
        "справа скутер обгоняет",
        "проезжаем рисовые поля, красиво",
        "перекрёсток, слева грузовик с кокосами",
    ]
    assert list(SEED_TRIGGERS) == load_triggers("seed")


def test_ride_set_is_large_russian_and_clean() -> None:
    ride = load_triggers("ride")
    assert len(ride) >= 40
    assert len(set(ride)) == len(ride)
    for trigger in ride:
        assert trigger == trigger.strip() and not trigger.startswith("#")
        assert any("а" <= ch.lower() <= "я" or ch in "ёЁ" for ch in trigger), trigger
        assert len(trigger) <= 80
    joined = " ".join(ride)
    for topic in ("рисов", "храм", "скутер", "собак", "кокос", "дожд", "рынок", "обезьян", "сёрфер", "канан"):
        assert topic in joined, topic


def test_text_file_skips_blanks_and_comments(tmp_path: Path) -> None:
    f = tmp_path / "my.txt"
    f.write_text("# header\n\nслева слон\n   \n  справа жираф  \n# end\n", encoding="utf-8")
    assert load_triggers(str(f)) == ["слева слон", "справа жираф"]


def test_jsonl_detected_by_content_and_extension(tmp_path: Path) -> None:
    body = '{"trigger": "слева слон", "id": 1}\n\n{"trigger": "справа  жираф"}\n'
    by_content = tmp_path / "events.log"
    by_content.write_text(body, encoding="utf-8")
    by_ext = tmp_path / "events.jsonl"
    by_ext.write_text("# comment\n" + body, encoding="utf-8")
    assert load_triggers(str(by_content)) == ["слева слон", "справа жираф"]
    assert load_triggers(str(by_ext)) == ["слева слон", "справа жираф"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.jsonl", '{"trigger": "ok"}\n{"trigger": \n', "bad.jsonl:2"),
        ("bad2.jsonl", '{"trigger": "ok"}\n\n{"text": "no trigger"}\n', "bad2.jsonl:3"),
        ("bad3.jsonl", '["trigger"]\n', "bad3.jsonl:1"),
        ("empty.txt", "# only comments\n\n", "empty.txt"),
    ],
)
def test_bad_files_raise_config_errors_naming_file_and_line(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    with pytest.raises(NuanuError) as info:
        load_triggers(str(f))
    assert info.value.kind == "config"
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NuanuError) as info:
        load_triggers(str(tmp_path / "nope.txt"))
    assert info.value.kind == "config"
    assert "nope.txt" in str(info.value) and "not found" in str(info.value)


def test_non_utf8_file(tmp_path: Path) -> None:
    f = tmp_path / "cp1251.txt"
    f.write_bytes("слева слон".encode("cp1251"))
    with pytest.raises(NuanuError, match="UTF-8"):
        load_triggers(str(f))
