import sys

from nuanu_tui.cli import main

sys.exit(main())
