"""Keeping API keys out of every message, record and log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Shapes of the keys we handle, for text that mentions a key we were not told about (e.g. quoted by a proxy).
_KEY_SHAPES = re.compile(r"\b(?:gsk_|sk-|sk_|xi_)[-_A-Za-z0-9]{12,}")


def scrub(text: str | None, secrets: Iterable[str] = ()) -> str | None:
    """`text` with every known secret, and anything shaped like a provider key, replaced by ***."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _KEY_SHAPES.sub("***", text)


class RedactFilter(logging.Filter):
    """Rewrites a record's message before any handler sees it (websockets logs handshake headers at DEBUG)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def redacting_logger(name: str, secrets: Iterable[str]) -> logging.Logger:
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactFilter) for f in logger.filters):
        logger.addFilter(RedactFilter(secrets))
    else:
        for f in logger.filters:
            if isinstance(f, RedactFilter):
                f.secrets = sorted({*f.secrets, *(s for s in secrets if s)})
    return logger
