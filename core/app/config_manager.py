"""The config in force, the one waiting for the reset, and the config file as a request.

What tightens applies at once; what loosens waits for the next reset and needs the admin
password when one is set (SPEC section 3). Which is which is :mod:`core.config.changes`.

With a :class:`core.app.config_vault.ConfigVault` (the app, in every mode) the config in force
and the waiting change live in the state database, beside the locks they decide, and the config
file is only a **request**: at start (:meth:`ConfigManager.take_request`) it is compared with
the config in force exactly as a change from the settings window would be. Editing the file
while the app is stopped, passing another ``--config`` or pointing ``data_dir`` at an empty
folder loosens nothing before the next reset. The file then holds the latest wish (the
settings window writes it there too), and a file set back to the config in force withdraws
what was waiting.

A file edit carries no password. With an admin password set, a loosening asked for by the
file waits for it: it is kept as a waiting change that does not come into force at any reset
until someone confirms it in the settings window with the password (then it waits for the next
reset like any other). Otherwise whoever can edit the file could loosen a rule the password
guards just by waiting for the reset. The password itself, kept in the vault, is
:mod:`core.app.vault_password`.

Without a vault (tests, tools) the file is the config in force and ``<name>.pending.toml``
beside it holds the waiting change, as before.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

import tomli_w

from core.app.admin_password import AdminPassword
from core.app.anchor import Anchor
from core.app.autostart import Backend, GuardedAutostart, platform_backend
from core.app.config_vault import ConfigVault, Waiting, digest
from core.app.vault_password import VaultRemoval, remove_password_if_due, take_over_password_file
from core.config.changes import Change, classify, split
from core.config.io import load_config, parse_config, save_config, write_text_atomic
from core.config.models import AppConfig
from core.domain.clock import Clock, SystemClock
from core.domain.trading_day import TradingCalendar

log = logging.getLogger(__name__)


class ProposalStatus(StrEnum):
    NO_CHANGE = "no_change"
    APPLIED = "applied"  # all in force now
    DEFERRED = "deferred"  # what tightens is in force; what loosens waits for the reset
    PASSWORD_REQUIRED = "password_required"  # nothing was changed
    WRONG_PASSWORD = "wrong_password"  # nothing was changed
    # From the file with a password set: what tightens is in force; what loosens waits for
    # the password in the settings window, then for the reset.
    AWAITING_PASSWORD = "awaiting_password"


@dataclass(frozen=True, slots=True)
class ProposalResult:
    status: ProposalStatus
    message: str
    applied: tuple[Change, ...] = ()  # in force now (or would be, given the password)
    waiting: tuple[Change, ...] = ()  # wait for the reset (or need the password)
    applies_at: datetime | None = None  # when the waiting ones take effect


class ConfigManager:
    """Owns the config in force, the change waiting for the reset and the config file.

    Call :meth:`apply_pending_if_due` on every clock tick (cheap until due). With a vault,
    call :meth:`take_request` once the clock knows the time (the service does, at start).
    """

    def __init__(self, path: Path, *, clock: Clock | None = None,
                 admin: AdminPassword | None = None, config: AppConfig | None = None,
                 vault: ConfigVault | None = None) -> None:
        self.path = path
        self.pending_path = path.with_name(f"{path.stem}.pending.toml")
        self.clock = clock or SystemClock()
        self.vault = vault
        self.autostart: GuardedAutostart | None = None
        self._listeners: list[Callable[[AppConfig], None]] = []
        self._pending: Waiting | None
        if vault is None:
            # By default the password file beside the config: forgetting to wire it cannot skip it.
            self.admin = admin if admin is not None else AdminPassword.beside(path)
            self.config = config if config is not None else load_config(path)
            self._pending = self._load_pending_file()
            self._request: AppConfig | None = None
        else:
            self.admin = admin if admin is not None else AdminPassword(
                store=vault, removal=VaultRemoval(self, vault))
            self.config = vault.in_force
            self._pending = self._still_based(vault.pending())
            take_over_password_file(path, vault)
            self._request = config if config is not None else load_config(path)

    # --- what the windows read ----------------------------------------------------------------

    @property
    def pending(self) -> AppConfig | None:
        return self._pending.config if self._pending else None

    @property
    def pending_applies_at(self) -> datetime | None:
        """When the waiting change comes into force; None while it waits for the password."""
        return self._pending.applies_at if self._pending and self._pending.approved else None

    @property
    def pending_needs_password(self) -> bool:
        """The waiting change came from the file and waits for the admin password first."""
        return self._pending is not None and not self._pending.approved

    def editable(self) -> AppConfig:
        """Where the settings window starts: the latest wish, waiting or not."""
        return self._pending.config if self._pending else self.config

    def add_listener(self, listener: Callable[[AppConfig], None]) -> None:
        """``listener(config)`` runs each time a new config is in force."""
        self._listeners.append(listener)

    def next_reset(self) -> datetime:
        return self._calendar().next_reset(self.clock.now())

    def local(self, at: datetime) -> str:
        """``at`` in the trading day's zone, as a log line says it: "Wed 2026-08-19 17:00 CDT"."""
        return f"{at.astimezone(ZoneInfo(self.config.general.timezone)):%a %Y-%m-%d %H:%M %Z}"

    # --- the file as a request ----------------------------------------------------------------

    def take_request(self, not_before: datetime | None = None) -> ProposalResult | None:
        """Compare the config file with the config in force (once, at start): what tightens
        comes into force now, what loosens waits, as from the settings window. ``not_before``:
        the earliest the time can be (when the gateway has not confirmed it yet, the latest
        time the app knew, so a clock moved back cannot bring a reset closer)."""
        request, self._request = self._request, None
        if request is None:
            return None
        if request == self.config and self._pending is None:
            return None
        if self._pending is not None and request == self._pending.config:
            self._log_waiting("still waiting")
            return None
        if request == self.config:
            log.info("the config file is back to the config in force: the waiting change is withdrawn")
            self._set_pending(None)
            return None
        result = self.propose(request, source="file", at=not_before)
        self._log_request(result)
        return result

    def _log_request(self, result: ProposalResult) -> None:
        for change in result.applied:
            log.info("config file: %s: in force now", change.describe())
        for change in result.waiting:
            if result.status is ProposalStatus.AWAITING_PASSWORD:
                log.warning(
                    "config file: %s: an admin password is set and a file edit carries none, so "
                    "this waits until it is confirmed with the password in Settings, then for "
                    "the next reset", change.describe())
            else:
                log.warning("config file: %s: waits for the next reset (%s)", change.describe(),
                            self.local(result.applies_at) if result.applies_at else "the next reset")

    def _log_waiting(self, what: str) -> None:
        pending = self._pending
        if pending is None:
            return
        for change in classify(self.config, pending.config):
            if change.waits:
                tail = ("needs the admin password in Settings, then the next reset"
                        if not pending.approved else f"applies at {self.local(pending.applies_at)}")
                log.warning("%s: %s: %s", what, change.describe(), tail)

    # --- changes ------------------------------------------------------------------------------

    def propose(self, new: AppConfig, password: str | None = None, *, source: str = "settings",
                at: datetime | None = None) -> ProposalResult:
        """``new`` is the whole desired config; it replaces anything already waiting.

        ``source``: "settings" (the window: without the password a loosening is refused) or
        "file" (a request: a loosening with a password set waits for it instead)."""
        changes = classify(self.config, new)
        if not changes:
            text = "the waiting changes were withdrawn" if self._pending else "nothing changed"
            if source == "settings":
                self._write_wish(new)
            self._set_pending(None)
            return ProposalResult(ProposalStatus.NO_CHANGE, text)
        now = self.clock.now() if at is None else max(at, self.clock.now())
        now_part = tuple(c for c in changes if not c.waits)
        waiting = tuple(c for c in changes if c.waits)
        same = self._pending if self._pending is not None and new == self._pending.config else None
        applies_at = self._calendar().next_reset(now) if waiting else None
        approved = True
        if waiting and self.admin.is_set() and not self._approved(waiting):
            if password is not None and self.admin.verify(password):
                same = None  # approved now: it waits for the reset from now
            elif source == "file":
                approved = False
            else:
                status, text = (
                    (ProposalStatus.PASSWORD_REQUIRED, "loosening a rule needs the admin password")
                    if password is None
                    else (ProposalStatus.WRONG_PASSWORD, "wrong admin password: nothing was changed")
                )
                return ProposalResult(status, text, now_part, waiting, applies_at)
        apply_now, pending = split(self.config, new)
        if source == "settings":
            self._write_wish(new)  # first: a file that cannot be written changes nothing
        if pending is None or applies_at is None:
            self._put_in_force(new)
            self._set_pending(None)
            return ProposalResult(ProposalStatus.APPLIED, "applied now", now_part)
        if apply_now is self.config:
            now_part, waiting = (), tuple(changes)  # nothing could apply alone: all of it waits
        self._put_in_force(apply_now)
        if same is not None and same.approved == approved:
            # Asked for again (a restart with the same file): it keeps its place in the queue.
            applies_at = same.applies_at
            self._set_pending(replace(same, base=digest(self.config)))
        else:
            self._set_pending(Waiting(pending, now, applies_at, digest(self.config), approved, source))
        if not approved:
            return ProposalResult(
                ProposalStatus.AWAITING_PASSWORD,
                f"{len(waiting)} change(s) loosen protection: they wait for the admin password "
                "in Settings, then for the next reset",
                now_part, waiting, None,
            )
        return ProposalResult(
            ProposalStatus.DEFERRED,
            f"{len(waiting)} change(s) loosen protection: they take effect at the next reset",
            now_part, waiting, applies_at,
        )

    def cancel_pending(self) -> None:
        """Forget the waiting changes (keeping the stricter config needs no password)."""
        self._set_pending(None)
        if self.vault is not None:
            self._write_wish(self.config)  # the file must not ask for them again at the next start

    def apply_pending_if_due(self, now: datetime, calendar: TradingCalendar) -> AppConfig | None:
        """At or after the reset, put the waiting config in force and return it (for
        ``engine.apply_config``); None otherwise. It must have waited for a reset under both
        the engine's ``calendar`` and the clock it was proposed under. A password removal and
        autostart switched off that waited for the reset happen here too."""
        if self.vault is not None:
            remove_password_if_due(self.vault, self.admin, now)
        if self.autostart is not None:
            self.autostart.apply_if_due(now)
        pending = self._pending
        if (pending is None or not pending.approved or now < pending.applies_at
                or now < calendar.next_reset(pending.proposed_at)):
            return None
        if pending.base != digest(self.config):  # approved against another config: never apply
            log.warning("the config changed since the waiting changes were proposed: dropped")
            self._set_pending(None)
            return None
        for change in classify(self.config, pending.config):
            log.warning("the waiting change comes into force at the reset: %s", change.describe())
        self._put_in_force(pending.config)
        self._set_pending(None)
        return pending.config

    # --- internals ----------------------------------------------------------------------------

    def _calendar(self) -> TradingCalendar:
        return TradingCalendar(self.config.general.reset_time, self.config.general.timezone)

    def _approved(self, waiting: tuple[Change, ...]) -> bool:
        """The same waiting values were accepted with the password already: don't ask again."""
        if self._pending is None or not self._pending.approved:
            return False
        accepted = {(c.key, repr(c.new)) for c in classify(self.config, self._pending.config)}
        return all((c.key, repr(c.new)) in accepted for c in waiting)

    def _put_in_force(self, config: AppConfig) -> None:
        if config == self.config:
            return
        # Durable first: a crash must not undo what we reported.
        if self.vault is not None:
            self.vault.save_in_force(config, self.clock.now())
        else:
            save_config(config, self.path)
        self.config = config
        for listener in list(self._listeners):
            try:
                listener(config)
            except Exception:  # one broken listener must not leave the others uninformed
                log.exception("a config listener failed")

    def _set_pending(self, pending: Waiting | None) -> None:
        self._pending = pending
        if self.vault is not None:
            self.vault.save_pending(pending)
        elif pending is None:
            self.pending_path.unlink(missing_ok=True)
        else:
            write_text_atomic(self.pending_path, tomli_w.dumps({
                "pending": {"proposed_at": pending.proposed_at, "applies_at": pending.applies_at,
                            "base_sha256": pending.base},
                "config": pending.config.model_dump(mode="json", exclude_none=True),
            }))

    def _write_wish(self, config: AppConfig) -> None:
        """With a vault the file holds the latest wish (the settings window's or the trader's)."""
        if self.vault is not None:
            save_config(config, self.path)

    def _still_based(self, pending: Waiting | None) -> Waiting | None:
        if pending is not None and pending.base != digest(self.config):
            log.warning("the config in force changed since the waiting change was proposed: dropped")
            self._pending = None
            if self.vault is not None:
                self.vault.save_pending(None)
            return None
        return pending

    def _load_pending_file(self) -> Waiting | None:
        if not self.pending_path.exists():
            return None
        try:
            data = tomllib.loads(self.pending_path.read_text(encoding="utf-8"))
            meta = data["pending"]
            pending = Waiting(parse_config(data["config"], self.pending_path),
                              meta["proposed_at"], meta["applies_at"], meta["base_sha256"])
            if not (isinstance(pending.applies_at, datetime) and pending.applies_at.tzinfo
                    and isinstance(pending.proposed_at, datetime) and pending.proposed_at.tzinfo):
                raise ValueError("its times have no timezone")
        except (OSError, ValueError, KeyError, TypeError) as exc:  # ConfigError is a ValueError
            log.warning("ignoring the unreadable waiting config %s: %s", self.pending_path, exc)
            return None  # never applied; the next proposal replaces the file
        if pending.base != digest(self.config):
            # The config was edited while we were stopped: the approval was for another one.
            log.warning("the config changed since %s was proposed: dropped", self.pending_path)
            self.pending_path.unlink(missing_ok=True)
            return None
        return pending


def open_config_manager(
    path: Path, request: AppConfig, *, clock: Clock, anchor: Anchor | None = None,
    autostart_backend: Backend | None = None,
) -> ConfigManager:
    """The app's config manager: the config in force from the vault (found through the anchor),
    the file at ``path`` as a request (taken by the service at start), and starting with the
    computer guarded the same way. Raises OSError or ``SchemaError`` when the state cannot be
    opened at all."""
    vault = ConfigVault.open(request, clock.now(), anchor=anchor)
    manager = ConfigManager(path, clock=clock, config=request, vault=vault)
    guard = GuardedAutostart(autostart_backend or platform_backend(), vault, manager.next_reset)
    manager.autostart = guard
    guard.check_at_start()
    return manager
