"""Where the protection in force is kept: the config in force (with when it came into force and
the trading day that was), the change waiting for the reset, the admin password's hash and the
autostart in force.

They live in the state database (``app_state``), beside the locks they decide, and a second
copy of what loosening would undo (config, password, autostart) lives in the anchor
(:mod:`core.app.anchor`). The config file is only a request: the config manager compares it
with the config in force at every start.

Opening the vault finds the state file through the anchor, not through the file's
``data_dir``: a ``data_dir`` pointed at an empty folder is a loosening like any other, and
when it does come into force (at a reset) the state is carried to the new folder at the next
start, never left behind.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from core.app.anchor import Anchor, AnchorRecord, default_data_dir
from core.config.io import ConfigError, dump_config, parse_config
from core.config.models import AppConfig
from core.domain.trading_day import TradingCalendar
from core.persistence.app_state import AppState
from core.persistence.database import Database
from core.persistence.files import copy_database, set_aside

log = logging.getLogger(__name__)

IN_FORCE = "config.in_force"
PENDING = "config.pending"
ADMIN = "admin.password"
ADMIN_REMOVAL = "admin.removal"
AUTOSTART = "autostart"
LOST = "state.lost"  # the state file was damaged or missing: rebuilt from the trade history


def resolve_data_dir(config: AppConfig) -> Path:
    return Path(config.general.data_dir) if config.general.data_dir else default_data_dir()


def digest(config: AppConfig) -> str:
    return hashlib.sha256(dump_config(config).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Waiting:
    """A change that loosens, waiting for the reset (and, from the file with a password set,
    for the password)."""

    config: AppConfig
    proposed_at: datetime
    applies_at: datetime
    base: str  # digest of the config in force when it was proposed
    approved: bool = True  # False: asked for by the file; needs the admin password first
    source: str = "settings"  # "settings" or "file"


@dataclass(frozen=True, slots=True)
class StateLoss:
    """Why the state file had to start again: "damaged" (kept aside as ``kept_as``) or
    "missing" (it was there before, by the anchor, and is gone)."""

    why: str
    kept_as: str | None
    detail: str
    at: str


class ConfigVault:
    def __init__(self, db: Database, anchor: Anchor, record: AnchorRecord | None,
                 owns_db: bool = True) -> None:
        self.db = db
        self.state = AppState(db)
        self.anchor = anchor
        self.data_dir = db.path.parent
        self._record = record
        self._owns_db = owns_db
        self.restored_from_anchor = False
        self.first_run = False
        self.in_force: AppConfig
        self.since: datetime

    # --- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, request: AppConfig, now: datetime, *, anchor: Anchor | None = None) -> ConfigVault:
        """Find the state in force (through the anchor), check it, and read what it holds.
        ``request`` (the config file) only decides where the state lives on the very first run,
        and becomes the config in force only then."""
        anchor = anchor or Anchor()
        record = anchor.read()
        data_dir = record.data_dir if record is not None else _without_anchor(request, anchor)
        path = data_dir / "state.db"
        if record is not None and record.carry_from is not None and record.carry_from != data_dir:
            _carry(record.carry_from / "state.db", path)
            record = replace(record, carry_from=None)
        db = Database(path)
        vault = cls(db, anchor, record)
        vault._read(request, now)
        return vault

    def _read(self, request: AppConfig, now: datetime) -> None:
        record = self._record
        if self.db.set_aside is not None:
            self._note_loss("damaged", str(self.db.set_aside), self.db.damage, now)
        elif self.db.created and record is not None:
            self._note_loss("missing", None, "", now)
            log.critical(
                "the state file %s is missing (this computer ran the risk manager from it "
                "before): today's P&L and locks are rebuilt from the gateway's trade history",
                self.db.path,
            )
        stored = self._config_of(self.state.get(IN_FORCE), "the state file")
        if stored is None and record is not None and record.config is not None:
            stored = self._config_of({"config": record.config, "since": record.since}, "the anchor")
            if stored is not None:
                self.restored_from_anchor = True
                log.warning("the config in force was restored from the anchor %s", self.anchor.path)
        if stored is None:
            self.first_run = record is None
            stored = (request, now)
            log.info("no config in force was kept: the config file comes into force as it is")
        self.in_force, self.since = stored
        if self.restored_from_anchor or self.state.get(IN_FORCE) is None:
            self._put_in_force()
        if self.state.get(ADMIN) is None and record is not None and record.admin_password:
            self.state.put(ADMIN, record.admin_password)
            log.warning("the admin password was restored from the anchor")
        if self.state.get(AUTOSTART) is None and record is not None and record.autostart:
            self.state.put(AUTOSTART, record.autostart)
        self.write_anchor()

    def _config_of(self, value: Any, where: str) -> tuple[AppConfig, datetime] | None:
        if value is None:
            return None
        try:
            config = parse_config(value["config"])
            since = datetime.fromisoformat(value["since"])
        except (ConfigError, KeyError, TypeError, ValueError) as exc:
            log.critical("the config in force kept in %s cannot be read (%s)", where, exc)
            return None
        return config, since

    def _note_loss(self, why: str, kept_as: str | None, detail: str, now: datetime) -> None:
        self.state.put(LOST, {"why": why, "kept_as": kept_as, "detail": detail, "at": now.isoformat()})

    # --- what the service reads ------------------------------------------------------------------

    def lost(self) -> StateLoss | None:
        """The state file was started again and the trade history has not been read back yet."""
        value = self.state.get(LOST)
        if not isinstance(value, dict):
            return None
        return StateLoss(str(value.get("why", "")), value.get("kept_as"), str(value.get("detail", "")),
                         str(value.get("at", "")))

    def rebuilt(self) -> None:
        """Every account's trade history has been read back: the loss is made good."""
        self.state.delete(LOST)

    # --- the config ------------------------------------------------------------------------------

    def save_in_force(self, config: AppConfig, since: datetime) -> None:
        self.in_force, self.since = config, since
        self._put_in_force()
        self.write_anchor()

    def _put_in_force(self) -> None:
        general = self.in_force.general
        day = TradingCalendar(general.reset_time, general.timezone).trading_day(self.since)
        self.state.put(IN_FORCE, {"config": self.in_force.model_dump(mode="json", exclude_none=True),
                                  "since": self.since.isoformat(), "trading_day": day.isoformat()})

    def pending(self) -> Waiting | None:
        value = self.state.get(PENDING)
        if value is None:
            return None
        try:
            waiting = Waiting(
                parse_config(value["config"]),
                datetime.fromisoformat(value["proposed_at"]),
                datetime.fromisoformat(value["applies_at"]),
                str(value["base"]),
                bool(value.get("approved", True)),
                str(value.get("source", "settings")),
            )
            if waiting.applies_at.tzinfo is None or waiting.proposed_at.tzinfo is None:
                raise ValueError("its times have no timezone")
        except (ConfigError, KeyError, TypeError, ValueError) as exc:
            log.warning("ignoring the unreadable waiting change (%s)", exc)
            return None  # never applied; the next proposal replaces it
        return waiting

    def save_pending(self, waiting: Waiting | None) -> None:
        if waiting is None:
            self.state.delete(PENDING)
            return
        self.state.put(PENDING, {
            "config": waiting.config.model_dump(mode="json", exclude_none=True),
            "proposed_at": waiting.proposed_at.isoformat(),
            "applies_at": waiting.applies_at.isoformat(),
            "base": waiting.base,
            "approved": waiting.approved,
            "source": waiting.source,
        })

    # --- the admin password (core.app.admin_password.HashStore) -----------------------------------

    @property
    def where(self) -> str:
        return f"the admin password kept with the config in force ({self.db.path})"

    def read(self) -> str | None:
        value = self.state.get(ADMIN)
        return None if value is None else str(value.get("record")) if isinstance(value, dict) else None

    def write(self, text: str) -> None:
        self.state.put(ADMIN, {"record": text})
        self.write_anchor()

    def delete(self) -> None:
        self.state.delete(ADMIN)
        self.state.delete(ADMIN_REMOVAL)
        self.write_anchor()

    def removal_at(self) -> datetime | None:
        value = self.state.get(ADMIN_REMOVAL)
        try:
            return datetime.fromisoformat(value["at"]) if isinstance(value, dict) else None
        except (KeyError, TypeError, ValueError):
            return None

    def save_removal(self, at: datetime | None) -> None:
        if at is None:
            self.state.delete(ADMIN_REMOVAL)
        else:
            self.state.put(ADMIN_REMOVAL, {"at": at.isoformat()})

    # --- autostart ---------------------------------------------------------------------------------

    def autostart(self) -> dict[str, Any] | None:
        value = self.state.get(AUTOSTART)
        return value if isinstance(value, dict) else None

    def save_autostart(self, value: dict[str, Any]) -> None:
        self.state.put(AUTOSTART, value)
        self.write_anchor()

    # --- the anchor ----------------------------------------------------------------------------------

    def write_anchor(self) -> None:
        """Record where the state lives and a copy of what must survive it. A new data_dir in
        force moves the state at the next start (this run keeps writing the file it has open)."""
        wanted = resolve_data_dir(self.in_force)
        carry = self.data_dir if wanted.resolve() != self.data_dir.resolve() else None
        admin = self.state.get(ADMIN)
        record = AnchorRecord(
            data_dir=wanted if carry is not None else self.data_dir,
            carry_from=carry,
            config=self.in_force.model_dump(mode="json", exclude_none=True),
            since=self.since.isoformat(),
            admin_password=admin if isinstance(admin, dict) else None,
            autostart=self.autostart(),
        )
        try:
            self.anchor.write(record)
        except OSError as exc:
            log.error("the anchor %s cannot be written (%s): the state file keeps the only copy",
                      self.anchor.path, exc.strerror)
            return
        if carry is not None and (self._record is None or self._record.carry_from != carry):
            log.warning("the data folder %s is in force: the state moves there from %s at the next "
                        "start", wanted, self.data_dir)
        self._record = record

    def close(self) -> None:
        if self._owns_db:
            self.db.dispose()


def _without_anchor(request: AppConfig, anchor: Anchor) -> Path:
    """No anchor (a first run, an upgrade from a version without one, or an anchor deleted):
    the file's data folder if it holds a state file, else the app's own folder beside the
    anchor if that does, else the file's. Deleting the anchor and pointing ``data_dir`` at an
    empty folder still finds the state in force."""
    asked = resolve_data_dir(request)
    if (asked / "state.db").exists():
        return asked
    own = anchor.path.parent
    if own != asked and (own / "state.db").exists():
        log.warning("no anchor: the state in force is the one in %s, not the empty %s", own, asked)
        return own
    return asked


def _carry(source: Path, target: Path) -> None:
    """Move the state in force into the data folder that has come into force."""
    if not source.exists():
        log.error("the state to carry to %s is not at %s any more", target.parent, source)
        return
    if target.exists():
        kept = set_aside(target, "replaced")
        log.warning("%s held another state file: kept as %s", target, kept)
    copy_database(source, target)
    log.warning("the state file was carried from %s to %s (the data folder in force)", source, target)
