"""The messages of one LLM request: the chosen prompt file's text as the system message, the trigger as quoted
data in the user message (never an instruction)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from nuanu_tui.core.llm.prompt_files import default_system

MAX_TRIGGER_CHARS = 500

# One short line after the trigger: the character has already reacted aloud, so the remark goes straight on.
SAID_NOTE = {
    "ru": " Ты уже сказал вслух {said} — не повторяй это и не начинай с междометия.",
    "en": " You already said {said} aloud: do not repeat it or open with another interjection.",
}
USER_PREFIX = {"ru": "Сообщение камеры (данные): ", "en": "Camera report (data): "}
RECENT_PREFIX = {
    "ru": "Ты недавно уже сказал (не повторяй эти шутки): ",
    "en": "You said these recently (do not repeat these jokes): ",
}
RECENT_CHARS = 120  # each remembered remark, briefly: the prompt stays short, so TTFT stays low

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def clean_trigger(trigger: str) -> tuple[str, bool]:
    """Strip control characters and collapse whitespace; cut to MAX_TRIGGER_CHARS. Returns (text, was_cut)."""
    text = " ".join(_CONTROL.sub(" ", trigger).split())
    if len(text) > MAX_TRIGGER_CHARS:
        cut = text[:MAX_TRIGGER_CHARS].rsplit(" ", 1)[0] or text[:MAX_TRIGGER_CHARS]
        return cut, True
    return text, False


def build_messages(
    trigger: str,
    lang: str,
    recent: Sequence[str] = (),
    interjection: str | None = None,
    system: str | None = None,
) -> list[dict[str, str]]:
    """The trigger is JSON-quoted so quotes or newlines inside it cannot break out of the data role.
    `system` is the chosen prompt file's text, sent verbatim (None: the shipped default for `lang`).
    `recent` remarks (a ride's last few) are quoted data too, cut short, in the system message. The
    `interjection` already said goes after the trigger (one short line)."""
    lang = lang if lang in USER_PREFIX else "ru"
    quoted = json.dumps(trigger, ensure_ascii=False)
    if system is None:
        system = default_system(lang)
    if recent:
        said = "; ".join(json.dumps(clean_trigger(r)[0][:RECENT_CHARS], ensure_ascii=False) for r in recent)
        system = f"{system} {RECENT_PREFIX[lang]}{said}"
    note = SAID_NOTE[lang].format(said=json.dumps(interjection, ensure_ascii=False)) if interjection else ""
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": USER_PREFIX[lang] + quoted + note},  # after the trigger: the system
        # prompt stays byte-identical, so providers' prompt caches still hit
    ]
