"""The LLM seam: every provider streams content deltas for one trigger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class LLMRequest:
    trigger: str
    lang: str = "ru"  # "ru" | "en"
    max_tokens: int = 80
    temperature: float = 0.9
    seed: int | None = None
    recent: tuple[str, ...] = ()  # on a ride: the last remarks, so the character does not repeat itself
    interjection: str | None = None  # already said aloud: the remark must not repeat it or open with another
    system: str | None = None  # the chosen prompt file's text, verbatim (None: the shipped default for lang)
    prompt: str | None = None  # its "NAME@VERSION", recorded with the utterance


@dataclass(slots=True)
class LLMStats:
    """Filled in by a provider while it streams; read by the pipeline after the stream ends."""

    tokens: int = 0  # content deltas received
    provider_timings: dict[str, Any] = field(default_factory=dict)  # e.g. Groq x_groq.usage
    connection_reused: bool | None = None
    served_by: str | None = None  # set by failover: the provider that really answered
    served_offline: bool | None = None  # set by failover: whether that provider runs offline
    failover_reasons: list[str] = field(default_factory=list)  # why earlier providers in the chain did not
    fault: Any = None  # a NuanuError that ended the answer early (what was said stays said)
    finish_reason: str | None = None  # as the provider said it ("stop", "length"); None when it did not


class LLMProvider(Protocol):
    spec: str  # "groq/llama-3.1-8b-instant"
    offline: bool  # True for built-in providers that need no network

    async def warm(self) -> None:
        """Open and keep the HTTP connection so the first utterance pays no TCP/TLS set-up."""
        ...

    def stream(self, request: LLMRequest, stats: LLMStats) -> AsyncIterator[str]:
        """Yield non-empty content deltas. Raises NuanuError on any fault."""
        ...

    async def list_models(self) -> list[str]: ...

    async def aclose(self) -> None: ...
