"""Off-PC alerts: Discord, Telegram, ntfy and a generic JSON webhook.

:func:`start_alerts` wires them (and the end-of-day summary) to a RiskService;
:meth:`AlertDispatcher.send_test` is the settings page's Test button; the secret store
interface is in :mod:`core.app.alerts.secrets`; the app's store (the OS keyring, or with the
trader's consent a file only they can read) in :mod:`core.app.alerts.key_file_store`.
"""

from core.app.alerts.dispatcher import AlertDispatcher, TestResult
from core.app.alerts.key_file_store import KeyringOrFileSecretStore
from core.app.alerts.secrets import (
    SECRET_FIELDS,
    KeyringSecretStore,
    MemorySecretStore,
    SecretField,
    SecretStore,
    SecretStoreError,
    save_secret,
)
from core.app.alerts.wiring import RunningAlerts, start_alerts

__all__ = [
    "SECRET_FIELDS",
    "AlertDispatcher",
    "KeyringOrFileSecretStore",
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
