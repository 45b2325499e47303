"""Where the TopstepX username and API key come from.

The username lives in the config file (or env ``PROJECTX_USERNAME``). The API key is never
written to the config: it comes from env ``PROJECTX_API_KEY`` (headless and CI use) or else the
OS keyring, stored under service ``RiskManager`` with the username as the key.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import keyring
import keyring.errors

from core.gateway.rest import GatewayRest

KEYRING_SERVICE = "RiskManager"
ENV_USERNAME = "PROJECTX_USERNAME"
ENV_API_KEY = "PROJECTX_API_KEY"


class CredentialsError(Exception):
    """No usable username or API key; the message says what to set."""


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    api_key: str = field(repr=False)  # a repr lands in logs and tracebacks


def _clean(value: str | None) -> str:
    return value.strip() if value else ""


def resolve_username(configured: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The config's username when set, else ``PROJECTX_USERNAME``."""
    environ = os.environ if env is None else env
    username = _clean(configured) or _clean(environ.get(ENV_USERNAME))
    if not username:
        raise CredentialsError(
            f"no TopstepX username: set [gateway] username in the config file or {ENV_USERNAME}"
        )
    return username


def load_api_key(username: str, env: Mapping[str, str] | None = None) -> str:
    """``PROJECTX_API_KEY`` when set, else the keyring entry for ``username``."""
    environ = os.environ if env is None else env
    from_env = _clean(environ.get(ENV_API_KEY))
    if from_env:
        return from_env
    try:
        stored = keyring.get_password(KEYRING_SERVICE, username)
    except keyring.errors.KeyringError as exc:
        # Typical on a headless Linux box with no secret service: say how to get around it.
        raise CredentialsError(
            f"no API key in {ENV_API_KEY} and the OS keyring is unavailable "
            f"({type(exc).__name__}: {exc}); set {ENV_API_KEY}"
        ) from None
    key = _clean(stored)
    if not key:
        raise CredentialsError(
            f"no API key for {username!r}: set {ENV_API_KEY} or save the key in the setup "
            f"window (OS keyring service {KEYRING_SERVICE!r})"
        )
    return key


def load_credentials(
    configured_username: str | None = None, env: Mapping[str, str] | None = None
) -> Credentials:
    username = resolve_username(configured_username, env)
    return Credentials(username=username, api_key=load_api_key(username, env))


def store_api_key(username: str, api_key: str) -> None:
    """Save the key in the OS keyring under ``RiskManager`` / ``username``."""
    username, api_key = _clean(username), _clean(api_key)
    if not username:
        raise CredentialsError("cannot store an API key without a username")
    if not api_key:
        raise CredentialsError("cannot store an empty API key")
    try:
        keyring.set_password(KEYRING_SERVICE, username, api_key)
    except keyring.errors.KeyringError as exc:
        raise CredentialsError(
            f"could not save the API key in the OS keyring ({type(exc).__name__}: {exc}); "
            f"set {ENV_API_KEY} instead"
        ) from None


def delete_api_key(username: str) -> bool:
    """Forget the stored key; False when there was none."""
    try:
        keyring.delete_password(KEYRING_SERVICE, _clean(username))
    except keyring.errors.PasswordDeleteError:
        return False
    except keyring.errors.KeyringError as exc:
        raise CredentialsError(
            f"could not remove the API key from the OS keyring ({type(exc).__name__}: {exc})"
        ) from None
    return True


def gateway_login_tester(api_url: str) -> Callable[[str, str], Awaitable[None]]:
    """The real check for the setup window: one login against the gateway's REST API, then the
    session is closed. The returned coroutine raises when the gateway refuses the key."""

    async def test_login(username: str, api_key: str) -> None:
        rest = GatewayRest(api_url, username, api_key)
        try:
            await rest.login()
        finally:
            await rest.aclose()

    return test_login
