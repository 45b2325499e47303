"""The admin password when the config in force lives in the vault.

Removing the password loosens, so it waits for the next reset like any loosening
(:class:`VaultRemoval` records when) and happens there (:func:`remove_password_if_due`, run by
:meth:`core.app.config_manager.ConfigManager.apply_pending_if_due`). The
``admin_password.json`` earlier versions kept beside the config moves into the vault once
(:func:`take_over_password_file`); after that, deleting that file removes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.app.admin_password import FILE_NAME as PASSWORD_FILE
from core.app.admin_password import AdminPassword
from core.app.config_vault import ConfigVault

if TYPE_CHECKING:
    from core.app.config_manager import ConfigManager

# The config manager's log: these lines belong with its other lines about the config in force.
log = logging.getLogger("core.app.config_manager")


class VaultRemoval:
    """Removing the admin password waits for the next reset (it loosens)."""

    def __init__(self, manager: ConfigManager, vault: ConfigVault) -> None:
        self._manager, self._vault = manager, vault

    def removal_at(self) -> datetime | None:
        return self._vault.removal_at()

    def request_removal(self) -> datetime:
        at = self._vault.removal_at() or self._manager.next_reset()
        self._vault.save_removal(at)
        log.warning("removing the admin password was asked for: it stays in force until the "
                    "next reset (%s)", self._manager.local(at))
        return at

    def withdraw_removal(self) -> None:
        self._vault.save_removal(None)


def remove_password_if_due(vault: ConfigVault, admin: AdminPassword, now: datetime) -> None:
    at = vault.removal_at()
    if at is not None and now >= at:
        admin.remove_now()
        log.warning("the admin password was removed (asked for before the reset)")


def take_over_password_file(config_path: Path, vault: ConfigVault) -> None:
    """An ``admin_password.json`` beside the config (kept there by earlier versions) moves
    into the vault once; after that, deleting that file removes nothing."""
    legacy = config_path.parent / PASSWORD_FILE
    try:
        text = legacy.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except OSError as exc:
        log.error("the admin password file %s cannot be read (%s)", legacy, exc.strerror)
        return
    if vault.read() is None:
        vault.write(text)
        log.info("the admin password moved from %s to the config in force", legacy)
        legacy.unlink(missing_ok=True)
    else:
        log.warning("%s is ignored: the admin password in force is kept with the config in "
                    "force", legacy)
