import sys

try:
    from nuanu_tui.cli import main
except KeyboardInterrupt:  # Ctrl+C before main's own handler is in place: still one line and 130
    sys.stderr.write("nuanu-tui: error: interrupted (Ctrl+C)\n")
    sys.exit(130)

sys.exit(main())
