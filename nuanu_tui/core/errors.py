"""One error type for every fault the operator can see: a stable `kind` plus a one-line message."""

from __future__ import annotations


class NuanuError(Exception):
    """A fault with a machine-readable kind (for records and stats) and a one-line human message."""

    def __init__(self, kind: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = " ".join(str(message).split())  # always one line
        self.retry_after = retry_after  # seconds, when the service said when to come back (HTTP 429)

    def __str__(self) -> str:
        return self.message


class ConfigError(NuanuError):
    def __init__(self, message: str) -> None:
        super().__init__("config", message)
