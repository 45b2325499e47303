"""Where the alert services' secrets live: a small store interface, and the OS keyring behind it.

Webhook URLs, the Telegram bot token and the ntfy topic grant access to the trader's channels, so
they never go in the config file (see ``core.config.alerts``). They sit in the OS keyring beside
the API key, under the same service name, one entry per secret named
``alerts.<service>.<secret>`` (``alerts.discord.webhook_url``).

Keyring calls are synchronous and may wait on a desktop prompt or D-Bus: callers on the event
loop run them in a thread (the dispatcher does), never on the loop itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import keyring
import keyring.errors

from core.config.alerts import SECRET_KEYS, SERVICES

KEYRING_SERVICE = "RiskManager"  # the API key's service too: one place for the app's secrets


class SecretStoreError(Exception):
    """The store cannot be read or written; the message says what to do."""


class SecretStore(Protocol):
    """What the alerts need from a secret store. ``get`` returns None when nothing is stored
    and raises :class:`SecretStoreError` when the store itself cannot be used."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class SecretField:
    """One secret of a service, described for the settings page."""

    service: str
    key: str
    title: str
    description: str
    required: bool

    @property
    def name(self) -> str:
        return secret_name(self.service, self.key)


SECRET_FIELDS: dict[str, tuple[SecretField, ...]] = {
    "discord": (
        SecretField("discord", "webhook_url", "Webhook URL",
                    "Discord: channel settings, Integrations, Webhooks, New Webhook, Copy Webhook URL.",
                    True),
    ),
    "telegram": (
        SecretField("telegram", "bot_token", "Bot token",
                    "The token @BotFather gave you for your bot (123456:ABC…).", True),
    ),
    "ntfy": (
        SecretField("ntfy", "topic", "Topic",
                    "A long, hard-to-guess name: anyone who knows it can read your alerts.", True),
        SecretField("ntfy", "access_token", "Access token",
                    "Only for a protected topic on your own server (tk_…); else leave empty.",
                    False),
    ),
    "webhook": (
        SecretField("webhook", "url", "URL", "Where the JSON is POSTed (https://…).", True),
        SecretField("webhook", "token", "Bearer token",
                    "Sent as 'Authorization: Bearer …' when set; else leave empty.", False),
    ),
}


def secret_name(service: str, key: str) -> str:
    if key not in SECRET_KEYS.get(service, ()):
        raise KeyError(f"{service}.{key}")
    return f"alerts.{service}.{key}"


_NTFY_TOPIC = re.compile(r"[-_A-Za-z0-9]{1,64}")


def check_secret(service: str, key: str, value: str) -> str:
    """``value`` cleaned up, or ValueError saying in plain words what is wrong with it."""
    text = value.strip()
    if not text:
        return ""
    if key in ("webhook_url", "url"):
        scheme, sep, rest = text.partition("://")
        if not sep or scheme.lower() not in ("http", "https") or not rest or " " in text:
            raise ValueError("this is not a web address: it should start with https://")
    elif key == "topic":
        if not _NTFY_TOPIC.fullmatch(text):
            raise ValueError(
                "an ntfy topic is 1 to 64 letters, digits, - or _ (no spaces or slashes)"
            )
    elif key == "bot_token" and (":" not in text or " " in text):
        raise ValueError("a bot token looks like 123456789:AAE…: copy it whole from @BotFather")
    return text


def load_secrets(store: SecretStore, service: str) -> dict[str, str]:
    """The stored secrets of one service (absent ones left out). Blocking: run in a thread."""
    found: dict[str, str] = {}
    for field in SECRET_FIELDS[service]:
        value = store.get(field.name)
        if value and value.strip():
            found[field.key] = value.strip()
    return found


async def read_secrets(store: SecretStore, service: str) -> dict[str, str]:
    """:func:`load_secrets` in a daemon thread: the loop never waits on the keyring, and a
    keyring that never answers (a desktop unlock prompt nobody sees) cannot hold up the app's
    exit either, as a thread of the loop's default executor would."""
    return await _in_daemon_thread(lambda: load_secrets(store, service))


async def _in_daemon_thread(work: Callable[[], dict[str, str]]) -> dict[str, str]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[dict[str, str]] = loop.create_future()

    def settle(result: dict[str, str] | None, error: BaseException | None) -> None:
        if done.done():
            return  # the caller gave up waiting
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result or {})

    def run() -> None:
        try:
            result, error = work(), None
        except Exception as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="alerts-keyring", daemon=True).start()
    return await done


def load_all_secrets(store: SecretStore) -> dict[str, dict[str, str]]:
    return {service: load_secrets(store, service) for service in SERVICES}


def save_secret(store: SecretStore, service: str, key: str, value: str) -> None:
    """Check and store one secret; an empty value removes it. Blocking: run in a thread."""
    text = check_secret(service, key, value)
    name = secret_name(service, key)
    if text:
        store.set(name, text)
    else:
        store.delete(name)


class KeyringSecretStore:
    """The OS keyring (Windows Credential Manager, macOS Keychain, Secret Service)."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self.service = service

    def get(self, name: str) -> str | None:
        try:
            value: str | None = keyring.get_password(self.service, name)
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(
                f"the OS keyring cannot be read ({type(exc).__name__}); alerts need it for "
                "their webhook addresses and tokens"
            ) from None
        return value

    def set(self, name: str, value: str) -> None:
        try:
            keyring.set_password(self.service, name, value)
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(
                f"could not save in the OS keyring ({type(exc).__name__})"
            ) from None

    def delete(self, name: str) -> bool:
        try:
            keyring.delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(
                f"could not remove it from the OS keyring ({type(exc).__name__})"
            ) from None
        return True


class MemorySecretStore:
    """Secrets held in memory only: for tests, and for a run that must not touch the keyring."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def set(self, name: str, value: str) -> None:
        self._values[name] = value

    def delete(self, name: str) -> bool:
        return self._values.pop(name, None) is not None
