"""The anchor: a small file in the platform's default user data folder that says where the
protection in force lives, so that no edit of the config file can start the app clean.

``data_dir`` in the config moves ``state.db``; pointed at an empty folder it would start with no
locks and no config in force. The anchor sits where ``data_dir`` cannot move it and records the
data folder in force (and, when a new ``data_dir`` has come into force, the folder to carry the
state from at the next start). It also keeps a second copy of the config in force, the admin
password's hash and the autostart in force: when ``state.db`` is damaged or deleted, the limits
today's losses are judged against, and the password that guards loosening them, are not lost
with it.

It is written atomically, readable by the user only, after each change to what it records.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from core.config.io import APP_DIR_NAME
from core.persistence.files import private_dir, private_file

log = logging.getLogger(__name__)

FILE_NAME = "anchor.json"
VERSION = 1


def default_data_dir() -> Path:
    """The platform's user data folder (``~/.local/share/RiskManager`` on Linux)."""
    return Path(user_data_dir(APP_DIR_NAME, appauthor=False))


def default_anchor_path() -> Path:
    return default_data_dir() / FILE_NAME


@dataclass(frozen=True, slots=True)
class AnchorRecord:
    data_dir: Path  # where state.db lives (in force)
    carry_from: Path | None = None  # a new data_dir came into force: the state is still here
    config: dict[str, Any] | None = None  # the config in force (JSON), a second copy
    since: str | None = None  # when that config came into force (ISO 8601)
    admin_password: dict[str, Any] | None = None  # the hash record, a second copy
    autostart: dict[str, Any] | None = None


class Anchor:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_anchor_path()

    def read(self) -> AnchorRecord | None:
        """The record, or None when there is none yet. A damaged file is logged and treated
        as absent (the state file's own copy is then the only one)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.error("the anchor %s cannot be read (%s)", self.path, exc.strerror)
            return None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("data_dir"), str):
                raise ValueError("no data_dir")
            carry = data.get("carry_from")
            return AnchorRecord(
                data_dir=Path(data["data_dir"]),
                carry_from=Path(carry) if isinstance(carry, str) and carry else None,
                config=_dict_or_none(data.get("config")),
                since=data.get("since") if isinstance(data.get("since"), str) else None,
                admin_password=_dict_or_none(data.get("admin_password")),
                autostart=_dict_or_none(data.get("autostart")),
            )
        except (ValueError, RecursionError) as exc:
            log.error("the anchor %s is damaged (%s): ignored", self.path, exc)
            return None

    def write(self, record: AnchorRecord) -> None:
        data = {
            "version": VERSION,
            "data_dir": str(record.data_dir),
            "carry_from": str(record.carry_from) if record.carry_from else None,
            "config": record.config,
            "since": record.since,
            "admin_password": record.admin_password,
            "autostart": record.autostart,
        }
        private_dir(self.path.parent, narrow=True)  # the app's own folder (an older one was 0755)
        fd, tmp = tempfile.mkstemp(prefix=".anchor-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)  # mkstemp made it 0600
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        private_file(self.path)  # narrows a mode an older file may have had


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None
