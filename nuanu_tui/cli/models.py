"""`nuanu-tui models`: what a provider's /models endpoint offers, one name a line."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nuanu_tui.core.config import Settings


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from nuanu_tui.core.providers import make_llm

    model = {"groq": settings.groq_model, "openai": settings.openai_model}.get(args.provider, "any")
    provider = make_llm(f"{args.provider}/{model}", settings)
    try:
        names = await provider.list_models()
    finally:
        await provider.aclose()
    for name in names:
        print(name)
    return 0
