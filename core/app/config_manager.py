"""The config in force, the one waiting for the reset, and the files behind them.

What tightens applies at once; what loosens waits for the next reset and needs the admin
password when one is set (SPEC section 3). Which is which is :mod:`core.config.changes`.
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import tomli_w

from core.app.admin_password import AdminPassword
from core.config.changes import Change, classify, split
from core.config.io import dump_config, load_config, parse_config, save_config, write_text_atomic
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


@dataclass(frozen=True, slots=True)
class ProposalResult:
    status: ProposalStatus
    message: str
    applied: tuple[Change, ...] = ()  # in force now (or would be, given the password)
    waiting: tuple[Change, ...] = ()  # wait for the reset (or need the password)
    applies_at: datetime | None = None  # when the waiting ones take effect


@dataclass(frozen=True, slots=True)
class _Pending:
    config: AppConfig
    proposed_at: datetime
    applies_at: datetime
    base: str  # digest of the config in force when it was proposed


def _digest(config: AppConfig) -> str:
    return hashlib.sha256(dump_config(config).encode("utf-8")).hexdigest()


class ConfigManager:
    """Owns the config file, the config in force and the one waiting for the reset.

    The waiting config is kept in ``<name>.pending.toml`` beside the config, so a restart
    keeps the deferral; it applies only at or after the reset following its proposal. Call
    :meth:`apply_pending_if_due` at startup and on every clock tick (cheap until due).
    """

    def __init__(self, path: Path, *, clock: Clock | None = None,
                 admin: AdminPassword | None = None, config: AppConfig | None = None) -> None:
        self.path = path
        self.pending_path = path.with_name(f"{path.stem}.pending.toml")
        self.clock = clock or SystemClock()
        # By default the password file beside the config: forgetting to wire it cannot skip it.
        self.admin = admin if admin is not None else AdminPassword.beside(path)
        self.config = config if config is not None else load_config(path)
        self._listeners: list[Callable[[AppConfig], None]] = []
        self._pending = self._load_pending()

    @property
    def pending(self) -> AppConfig | None:
        return self._pending.config if self._pending else None

    @property
    def pending_applies_at(self) -> datetime | None:
        return self._pending.applies_at if self._pending else None

    def editable(self) -> AppConfig:
        """Where the settings window starts: the latest wish, waiting or not."""
        return self._pending.config if self._pending else self.config

    def add_listener(self, listener: Callable[[AppConfig], None]) -> None:
        """``listener(config)`` runs each time a new config is in force."""
        self._listeners.append(listener)

    def propose(self, new: AppConfig, password: str | None = None) -> ProposalResult:
        """``new`` is the whole desired config; it replaces anything already waiting."""
        changes = classify(self.config, new)
        if not changes:
            text = "the waiting changes were withdrawn" if self._pending else "nothing changed"
            self.cancel_pending()
            return ProposalResult(ProposalStatus.NO_CHANGE, text)
        at = self.clock.now()
        now_part = tuple(c for c in changes if not c.waits)
        waiting = tuple(c for c in changes if c.waits)
        applies_at = self._calendar().next_reset(at) if waiting else None
        if waiting and self.admin.is_set() and not self._approved(waiting):
            status, text = (
                (ProposalStatus.PASSWORD_REQUIRED, "loosening a rule needs the admin password")
                if password is None
                else (ProposalStatus.WRONG_PASSWORD, "wrong admin password: nothing was changed")
            )
            if password is None or not self.admin.verify(password):
                return ProposalResult(status, text, now_part, waiting, applies_at)
        apply_now, pending = split(self.config, new)
        if pending is None or applies_at is None:
            self._put_in_force(new)
            self.cancel_pending()
            return ProposalResult(ProposalStatus.APPLIED, "applied now", now_part)
        if apply_now is self.config:
            now_part, waiting = (), tuple(changes)  # nothing could apply alone: all of it waits
        self._put_in_force(apply_now)
        self._pending = _Pending(pending, at, applies_at, _digest(self.config))
        write_text_atomic(self.pending_path, tomli_w.dumps({
            "pending": {"proposed_at": at, "applies_at": applies_at, "base_sha256": self._pending.base},
            "config": pending.model_dump(mode="json", exclude_none=True),
        }))
        return ProposalResult(
            ProposalStatus.DEFERRED,
            f"{len(waiting)} change(s) loosen protection: they take effect at the next reset",
            now_part, waiting, applies_at,
        )

    def cancel_pending(self) -> None:
        """Forget the waiting changes (keeping the stricter config needs no password)."""
        self._pending = None
        self.pending_path.unlink(missing_ok=True)

    def apply_pending_if_due(self, now: datetime, calendar: TradingCalendar) -> AppConfig | None:
        """At or after the reset, put the waiting config in force and return it (for
        ``engine.apply_config``); None otherwise. It must have waited for a reset under both
        the engine's ``calendar`` and the clock it was proposed under."""
        pending = self._pending
        if pending is None or now < pending.applies_at or now < calendar.next_reset(pending.proposed_at):
            return None
        if pending.base != _digest(self.config):  # approved against another config: never apply
            log.warning("the config changed since the waiting changes were proposed: dropped")
            self.cancel_pending()
            return None
        self._put_in_force(pending.config)
        self.cancel_pending()
        return pending.config

    # --- internals ----------------------------------------------------------------------------

    def _calendar(self) -> TradingCalendar:
        return TradingCalendar(self.config.general.reset_time, self.config.general.timezone)

    def _approved(self, waiting: tuple[Change, ...]) -> bool:
        """The same waiting values were accepted with the password already: don't ask again."""
        if self._pending is None:
            return False
        accepted = {(c.key, repr(c.new)) for c in classify(self.config, self._pending.config)}
        return all((c.key, repr(c.new)) in accepted for c in waiting)

    def _put_in_force(self, config: AppConfig) -> None:
        if config == self.config:
            return
        save_config(config, self.path)  # durable first: a crash must not undo what we reported
        self.config = config
        for listener in list(self._listeners):
            try:
                listener(config)
            except Exception:  # one broken listener must not leave the others uninformed
                log.exception("a config listener failed")

    def _load_pending(self) -> _Pending | None:
        if not self.pending_path.exists():
            return None
        try:
            data = tomllib.loads(self.pending_path.read_text(encoding="utf-8"))
            meta = data["pending"]
            pending = _Pending(parse_config(data["config"], self.pending_path),
                               meta["proposed_at"], meta["applies_at"], meta["base_sha256"])
            if not (isinstance(pending.applies_at, datetime) and pending.applies_at.tzinfo
                    and isinstance(pending.proposed_at, datetime) and pending.proposed_at.tzinfo):
                raise ValueError("its times have no timezone")
        except (OSError, ValueError, KeyError, TypeError) as exc:  # ConfigError is a ValueError
            log.warning("ignoring the unreadable waiting config %s: %s", self.pending_path, exc)
            return None  # never applied; the next proposal replaces the file
        if pending.base != _digest(self.config):
            # The config was edited while we were stopped: the approval was for another one.
            log.warning("the config changed since %s was proposed: dropped", self.pending_path)
            self.pending_path.unlink(missing_ok=True)
            return None
        return pending
