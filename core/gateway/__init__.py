"""The ProjectX Gateway client: REST (httpx) and the two SignalR hubs (signalrcore).

Owns authentication and token refresh, rate budgets, typed endpoints, error classes, log
redaction of secrets, and every signalrcore workaround. It turns wire payloads into the
domain's events and may import only ``core.domain``, ``core.config`` and ``core.modules``
(for the contract record): never the engine, enforcement or the app.
"""

from core.gateway.errors import (
    AmbiguousResult,
    AuthError,
    GatewayError,
    GatewayHttpError,
    GatewayRestError,
    MalformedResponse,
    error_name,
    is_already_done,
    is_already_flat,
    is_order_gone,
)
from core.gateway.ratelimit import Priority, RateLimiter, RetryPolicy, priority_for
from core.gateway.redact import RedactingFilter, install_redaction, redact_text
from core.gateway.rest import GatewayRest, iso_utc

__all__ = [
    "AmbiguousResult",
    "AuthError",
    "GatewayError",
    "GatewayHttpError",
    "GatewayRest",
    "GatewayRestError",
    "MalformedResponse",
    "Priority",
    "RateLimiter",
    "RedactingFilter",
    "RetryPolicy",
    "error_name",
    "install_redaction",
    "is_already_done",
    "is_already_flat",
    "is_order_gone",
    "iso_utc",
    "priority_for",
    "redact_text",
]
