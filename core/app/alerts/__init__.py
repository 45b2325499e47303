"""Off-PC alerts: Discord, Telegram, ntfy and a generic JSON webhook.

:func:`start_alerts` wires them (and the end-of-day summary) to a RiskService;
:meth:`AlertDispatcher.send_test` is the settings page's Test button
(:mod:`core.app.alerts.trial`); the secret store interface is in
:mod:`core.app.alerts.secrets`; the app's one store (the OS keyring, or with the trader's
consent a file only they can read), used by the tray app and headless alike, is
:class:`core.app.secret_store.AppSecretStore`.
"""

from core.app.alerts.dispatcher import AlertDispatcher
from core.app.alerts.secrets import (
    SECRET_FIELDS,
    KeyringSecretStore,
    MemorySecretStore,
    SecretField,
    SecretStore,
    SecretStoreError,
    save_secret,
)
from core.app.alerts.trial import TestResult
from core.app.alerts.wiring import RunningAlerts, start_alerts

__all__ = [
    "SECRET_FIELDS",
    "AlertDispatcher",
    "KeyringSecretStore",
    "MemorySecretStore",
    "RunningAlerts",
    "SecretField",
    "SecretStore",
    "SecretStoreError",
    "TestResult",
    "save_secret",
    "start_alerts",
]
