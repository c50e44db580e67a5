"""The engine's process entry point: the composition root for `core.host` (it installs `--demo`)."""

from __future__ import annotations

import sys

from nuanu_tui.demo import install

if __name__ == "__main__":
    install()
    from nuanu_tui.core.host import main

    sys.exit(main())
