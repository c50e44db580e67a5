"""`python -m nuanu_tui.cli`: the same as `nuanu-tui`."""

import os

from nuanu_tui.cli.entry import main

os._exit(main())
