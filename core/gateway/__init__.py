"""The ProjectX Gateway REST client: authentication, rate limits, typed endpoints, secrets."""

from core.gateway.credentials import (
    Credentials,
    CredentialsError,
    load_api_key,
    load_credentials,
    resolve_username,
    store_api_key,
)
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
    "Credentials",
    "CredentialsError",
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
    "load_api_key",
    "load_credentials",
    "priority_for",
    "redact_text",
    "resolve_username",
    "store_api_key",
]
