"""Keep gateway tokens and the API key out of every log line.

A ProjectX JWT grants full trading access to the account, and signalrcore logs the hub URL (with
``?access_token=``) and its headers at DEBUG. Redaction therefore works on the final text of a
record (message with its arguments merged, exception and stack text), by pattern (any JWT,
``access_token=``, ``Bearer``, token/key fields) and by value (the secrets we currently hold).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

SecretsProvider = Callable[[], Iterable[str | None]]

REDACTED = "[REDACTED]"

# Short values would redact ordinary words; real keys and tokens are far longer.
_MIN_SECRET_LENGTH = 6

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Any JWT-looking string: base64url JSON header ("eyJ") with at least one more segment.
    (re.compile(r"eyJ[A-Za-z0-9_\-]{4,}(?:\.[A-Za-z0-9_\-]*){1,2}"), REDACTED),
    (re.compile(r"(?i)(access_token=)[^&\s'\"<>]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(bearer\s+)[^\s'\",}\]]+"), r"\1" + REDACTED),
    # Key/value forms in JSON, dict reprs and query strings: "token": "...", apiKey=...
    (
        re.compile(
            r"(?i)([\"']?\b(?:token|newToken|apiKey|api_key|password|secret)[\"']?\s*[:=]\s*[\"']?)"
            r"(?!\[REDACTED\])[^\s'\",&}\]]+"
        ),
        r"\1" + REDACTED,
    ),
)


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret value and every token-shaped substring replaced."""
    for secret in secrets:
        if not secret or len(secret) < _MIN_SECRET_LENGTH:
            continue
        for variant in {secret, quote(secret, safe=""), quote_plus(secret)}:
            if variant in text:
                text = text.replace(variant, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites records in place so that no handler after it can see a secret."""

    def __init__(self, secrets_provider: SecretsProvider | None = None) -> None:
        super().__init__()
        self.secrets_provider = secrets_provider
        self._formatter = logging.Formatter()

    def _secrets(self) -> list[str | None]:
        if self.secrets_provider is None:
            return []
        try:
            return list(self.secrets_provider())
        except Exception:
            # A broken provider must not cost the log line; the patterns still apply.
            return []

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        secrets = self._secrets()
        try:
            message = record.getMessage()
        except Exception:
            # A bad format string: keep what can be shown rather than lose the record.
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact_text(message, secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is only rendered redacted.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, secrets)
        record._redacted = True
        return True


# Loggers known to print tokens through their own handlers instead of propagating to the root.
_SECRET_LEAKING_LOGGERS = ("SignalRCoreClient",)

_filter: RedactingFilter | None = None
_guarded: list[logging.Handler] = []


def _handlers_to_guard(extra_loggers: Iterable[str]) -> list[logging.Handler]:
    handlers = list(logging.getLogger().handlers)
    for name in (*_SECRET_LEAKING_LOGGERS, *extra_loggers):
        handlers.extend(logging.getLogger(name).handlers)
    return handlers


def install_redaction(
    secrets_provider: SecretsProvider, extra_loggers: Iterable[str] = ()
) -> RedactingFilter:
    """Put one redacting filter on every root handler (and known token-logging loggers).

    Call it after logging is configured, and again after adding handlers: it is idempotent and
    the latest ``secrets_provider`` wins. The returned filter can be added to handlers created
    elsewhere; :func:`uninstall_redaction` removes it.
    """
    global _filter
    if _filter is None:
        _filter = RedactingFilter()
    _filter.secrets_provider = secrets_provider
    for handler in _handlers_to_guard(extra_loggers):
        if not any(handler is done for done in _guarded):
            handler.addFilter(_filter)
            _guarded.append(handler)
    return _filter


def uninstall_redaction() -> None:
    global _filter
    if _filter is not None:
        for handler in _guarded:
            handler.removeFilter(_filter)
    _guarded.clear()
    _filter = None
