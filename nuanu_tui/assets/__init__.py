"""Package data: trigger sets and other small files shipped with nuanu-tui."""
