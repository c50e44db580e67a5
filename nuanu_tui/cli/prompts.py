"""`nuanu-tui prompts`: every prompt file a remark can be asked with, and which one is in use."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nuanu_tui.core.config import Settings


def run(settings: Settings) -> int:
    from nuanu_tui.core.llm.prompt_files import PromptError, choose_prompt
    from nuanu_tui.core.providers import prompts_for

    prompts = prompts_for(settings)  # a file that does not parse: its one line (file and line), exit 2
    try:
        current = choose_prompt(prompts, settings.prompt, settings.lang).name
        unknown = None
    except PromptError as exc:  # NUANU_PROMPT names none of them: list them anyway, then say so
        current, unknown = "", exc
    rows = [("", "name", "version", "~tokens", "source")]
    for prompt in prompts.values():
        source = prompt.source + (f" (overrides {prompt.overrides})" if prompt.overrides else "")
        mark = "*" if prompt.name == current else ""
        rows.append((mark, prompt.name, str(prompt.version), str(prompt.approx_tokens), source))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print(
            f"{row[0]:<{widths[0]}} {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}  {row[4]}"
        )
    default = choose_prompt(prompts, None, settings.lang).name
    how = (
        "chosen by NUANU_PROMPT or --prompt"
        if settings.prompt
        else f"the default for NUANU_LANG={settings.lang}"
    )
    if unknown is not None:
        print(f"! none in use: {unknown.message} (default: {default})")
        return 2
    print(f"* in use: {current} ({how}; default: {default})")
    return 0
