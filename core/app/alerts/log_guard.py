"""Keeps the alert secrets out of httpx's own log lines (see :class:`HttpxSecretFilter`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from core.gateway.redact import redact_text


class HttpxSecretFilter(logging.Filter):
    """httpx logs every request's full URL at INFO; a Discord or Telegram URL carries its
    token, an ntfy URL its topic. Rewrites those records before any handler sees them: a URL
    holding any of our secrets (however short) keeps only its scheme and host, and the text is
    then redacted by value. (Records are not marked as redacted, so the app-wide redaction of
    gateway tokens still runs too.)"""

    def __init__(self, secrets: Callable[[], list[str]]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets()
        if not secrets:
            return True
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                f"{a.scheme}://{a.host}/[REDACTED]"
                if isinstance(a, httpx.URL) and any(x in str(a) for x in secrets)
                else a
                for a in record.args
            )
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg!r}"
        cleaned = redact_text(message, secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


LEAKY_LOGGERS = ("httpx", "httpcore")  # the loggers the filter goes on
