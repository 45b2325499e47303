"""Where the TopstepX username and API key come from.

The username lives in the config file (or env ``PROJECTX_USERNAME``). The API key is never
written to the config: it comes from env ``PROJECTX_API_KEY`` (headless and CI use), else the
OS keyring (service ``RiskManager``, the username as the key), else, on a desktop with no
keyring and only with the trader's consent, a key file readable only by the user
(``api-key.json`` in the user's config folder: mode 0600 on Linux and macOS, the user's own
profile folder on Windows).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import keyring
import keyring.errors
from platformdirs import user_config_dir

from core.config.io import APP_DIR_NAME
from core.gateway.errors import AuthError, GatewayError, GatewayHttpError
from core.gateway.rest import GatewayRest

KEYRING_SERVICE = "RiskManager"
ENV_USERNAME = "PROJECTX_USERNAME"
ENV_API_KEY = "PROJECTX_API_KEY"
KEY_FILE_NAME = "api-key.json"


class CredentialsError(Exception):
    """No usable username or API key; the message says what to set."""


class KeyringUnavailable(CredentialsError):
    """The OS keyring cannot store the key (no secret service): a key file is the way out."""


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


def default_key_file() -> Path:
    """Where the key file lives when the trader chose one: beside the default config."""
    return Path(user_config_dir(APP_DIR_NAME, appauthor=False)) / KEY_FILE_NAME


def keyring_available() -> bool:
    """False on a desktop with no secret service (keyring's "fail" backend is all it has)."""
    try:
        backend = keyring.get_keyring()
    except Exception:
        return False
    return type(backend).__module__ != "keyring.backends.fail" and getattr(backend, "priority", 1) > 0


def env_api_key(env: Mapping[str, str] | None = None) -> str:
    """``PROJECTX_API_KEY`` when set (stripped), else ""."""
    environ = os.environ if env is None else env
    return _clean(environ.get(ENV_API_KEY))


def load_api_key(
    username: str, env: Mapping[str, str] | None = None, key_file: Path | None = None
) -> str:
    """``PROJECTX_API_KEY`` when set, else the keyring entry for ``username``, else the key
    file (``key_file``, by default :func:`default_key_file`)."""
    from_env = env_api_key(env)
    if from_env:
        return from_env
    keyring_problem = ""
    try:
        key = _clean(keyring.get_password(KEYRING_SERVICE, username))
    except keyring.errors.KeyringError as exc:
        # Typical on a Linux box with no secret service: fall back to the key file, if any.
        key = ""
        keyring_problem = f"the OS keyring is unavailable ({type(exc).__name__})"
    if key:
        return key
    key = read_key_file(username, key_file)
    if key:
        return key
    where = keyring_problem or f"nothing in the OS keyring (service {KEYRING_SERVICE!r})"
    raise CredentialsError(
        f"no API key for {username!r}: {where} and no key file; set {ENV_API_KEY} or enter "
        f"the key in the setup window"
    )


def read_key_file(username: str, key_file: Path | None = None) -> str:
    """The key saved for ``username`` in the key file, or "" (no file, another user's key)."""
    path = key_file or default_key_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if not isinstance(data, dict) or _clean(str(data.get("username", ""))) != _clean(username):
        return ""
    return _clean(str(data.get("api_key", "")))


def store_api_key_file(username: str, api_key: str, key_file: Path | None = None) -> Path:
    """Save the key in a file only this user can read (mode 0600), with the trader's consent.

    Anyone who can log in as this user (or read their backups) can read it: the setup
    window says so before offering it."""
    username, api_key = _clean(username), _clean(api_key)
    if not username or not api_key:
        raise CredentialsError("a username and an API key are both needed")
    path = key_file or default_key_file()
    try:
        write_private_json(path, {"username": username, "api_key": api_key})
    except OSError as exc:
        raise CredentialsError(f"could not write the key file {path}: {exc.strerror}") from None
    return path


def write_private_json(path: Path, data: Mapping[str, str]) -> None:
    """Write ``data`` as JSON to a file only this user can read (mode 0600 on Linux and macOS;
    on Windows the user's own profile folder), replacing it whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if sys.platform != "win32":
                os.fchmod(handle.fileno(), 0o600)  # an old file's wider mode is not kept
            json.dump(dict(data), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def delete_key_file(key_file: Path | None = None) -> bool:
    path = key_file or default_key_file()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def load_credentials(
    configured_username: str | None = None,
    env: Mapping[str, str] | None = None,
    key_file: Path | None = None,
) -> Credentials:
    username = resolve_username(configured_username, env)
    return Credentials(username=username, api_key=load_api_key(username, env, key_file))


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
        raise KeyringUnavailable(
            f"this computer has no keyring to keep the API key in ({type(exc).__name__}); "
            f"save it in a key file instead, or set {ENV_API_KEY}"
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


# What a refused login means, as the setup window says it (the gateway's code name follows in
# brackets, for support).
_LOGIN_WORDS = {
    "UserNotFound": "there is no TopstepX user with this username",
    "PasswordVerificationFailed": "the gateway refused this username and API key: check both",
    "InvalidCredentials": "the gateway refused this username and API key: check both",
    "AppNotFound": "the gateway refused this username and API key: check both",
    "AppVerificationFailed": "the gateway refused this username and API key: check both",
    "InvalidDevice": "the gateway does not accept logins from this device",
    "AgreementsNotSigned": "sign the API agreements on TopstepX first, then try again",
    "ApiSubscriptionNotFound": "this user has no TopstepX API subscription (TopstepX: "
    "Settings → API)",
    "ApiKeyAuthenticationDisabled": "API key login is switched off for this user on TopstepX",
}


def login_problem(exc: BaseException) -> str:
    """A failed login in plain words: refused (which part), or the gateway not reachable."""
    if isinstance(exc, AuthError | GatewayError):
        words = _LOGIN_WORDS.get(exc.name, f"the gateway refused the login ({exc.message or exc})")
        return f"{words[:1].upper()}{words[1:]} ({exc.name})."
    if isinstance(exc, GatewayHttpError | OSError | TimeoutError):
        detail = str(exc) or type(exc).__name__
        return (f"Cannot reach the TopstepX gateway: check your internet connection and try "
                f"again ({detail}).")
    return f"The login did not work: {exc or type(exc).__name__}."
