"""`nuanu-tui`: the TUI by default; `say`, `bench`, `ride`, `sim`, `models`, `doctor` for headless use.

One module per command; `entry` parses and dispatches, importing only the chosen command's module, and
`common` holds what several commands share (exit codes, `--json`'s contract, the offline line).
"""

from nuanu_tui.cli.entry import main

__all__ = ["main"]
