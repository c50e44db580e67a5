"""UI test fixtures: no developer keys, no cursor blink (snapshots must not depend on timing)."""

from __future__ import annotations

import pytest
from textual.widgets import Input


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer .env or keys leak into UI tests; the input cursor does not blink."""
    for var in (
        "GROQ_API_KEY",
        "OPENAI_API_KEY",
        "ELEVENLABS_API_KEY",
        "NUANU_LLM",
        "NUANU_TTS",
        "NUANU_INTERRUPT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
