"""Start the risk manager when the user logs in: one per-user entry per platform, Qt-free.

* Windows: a value in ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`` (the same value
  the installer's "start at login" task writes, so the app and the installer agree).
* Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/riskmanager.desktop``.
* macOS: a LaunchAgent, ``~/Library/LaunchAgents/<label>.plist``, run at load.

Nothing here needs administrator rights, and nothing is started now: each entry takes effect at
the next login. The command is the bundle's own executable when frozen (PyInstaller sets
``sys.frozen``), else this interpreter running main.py.

Turning it off loosens protection (protection that does not start with the computer is none),
so with the config in force kept in a vault it waits for the next daily reset like any other
loosening: :class:`GuardedAutostart` keeps the entry until then, and puts back an entry removed
while the app was stopped (until that reset). :func:`install_guard` makes :func:`backend` hand
out the guard, so the settings window's checkbox goes through it.
"""

from __future__ import annotations

import importlib
import logging
import os
import plistlib
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

APP_NAME = "RiskManager"
DISPLAY_NAME = "Risk Manager"
CLI_SUFFIX = "-cli"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
# Task Manager's "Startup apps" toggle: a value named like ours whose first byte is odd means
# the user switched the entry off there, though the Run value still exists.
STARTUP_APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
RUN_VALUE = APP_NAME
DESKTOP_FILE_NAME = "riskmanager.desktop"
ICON_NAME = "riskmanager"
LAUNCH_AGENT_LABEL = "com.riskmanager.RiskManager"  # also CFBundleIdentifier (Info.plist)
MAIN_SCRIPT = Path(__file__).resolve().parents[2] / "main.py"


class Backend(Protocol):
    def enable(self, command: list[str]) -> None: ...
    def disable(self) -> None: ...
    def is_enabled(self) -> bool: ...


def launch_command() -> list[str]:
    """What the login session should run: the tray app, with no arguments."""
    exe = Path(sys.executable)
    if getattr(sys, "frozen", False):
        # The console twin (RiskManager-cli) may be the one running: log in to the tray app.
        if exe.stem.endswith(CLI_SUFFIX):
            sibling = exe.with_name(exe.stem[: -len(CLI_SUFFIX)] + exe.suffix)
            if sibling.exists():
                exe = sibling
        return [str(exe)]
    if sys.platform == "win32":
        # pythonw.exe: no console window pops up at every login.
        windowed = exe.with_name("pythonw.exe")
        if windowed.exists():
            exe = windowed
    return [str(exe), str(MAIN_SCRIPT)]


def _write_atomically(path: Path, data: bytes) -> None:
    """A half-written entry must never be what the session reads at login."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- Linux / XDG ------------------------------------------------------------------------------

_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def exec_arg(arg: str) -> str:
    """One argument of a desktop entry's Exec key (Desktop Entry Specification, "Exec")."""
    arg = arg.replace("%", "%%")  # field codes start with %; a literal one is doubled
    if arg and not _EXEC_RESERVED.intersection(arg):
        return arg
    quoted = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    # The value as a whole is also a desktop-entry string, whose own escape for \ is \\.
    return '"' + quoted.replace("\\", "\\\\") + '"'


def desktop_entry(command: list[str]) -> str:
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        f"Name={DISPLAY_NAME}",
        "Comment=Enforces your futures risk rules on TopstepX accounts",
        "Exec=" + " ".join(exec_arg(arg) for arg in command),
        f"Icon={ICON_NAME}",
        "Terminal=false",
        "X-GNOME-Autostart-enabled=true",
        "",
    ])


def xdg_config_home() -> Path:
    value = os.environ.get("XDG_CONFIG_HOME", "")
    # The spec says a relative value is invalid and must be ignored.
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".config"


class XdgAutostart:
    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or xdg_config_home() / "autostart") / DESKTOP_FILE_NAME

    def enable(self, command: list[str]) -> None:
        _write_atomically(self.path, desktop_entry(command).encode("utf-8"))

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        # Desktops switch an entry off with these keys rather than deleting the file.
        keys = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        return (keys.get("Hidden", "").strip().lower() != "true"
                and keys.get("X-GNOME-Autostart-enabled", "").strip().lower() != "false")


# --- macOS ------------------------------------------------------------------------------------

class LaunchAgent:
    def __init__(self, directory: Path | None = None) -> None:
        directory = directory or Path.home() / "Library" / "LaunchAgents"
        self.path = directory / f"{LAUNCH_AGENT_LABEL}.plist"

    def enable(self, command: list[str]) -> None:
        agent = {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": command,
            "RunAtLoad": True,
            # A GUI app in the user's session: launchd must not throttle it as a daemon.
            "ProcessType": "Interactive",
        }
        _write_atomically(self.path, plistlib.dumps(agent))

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_enabled(self) -> bool:
        try:
            agent = plistlib.loads(self.path.read_bytes())
        except FileNotFoundError:
            return False
        except (plistlib.InvalidFileException, ValueError):
            return False  # unreadable: launchd will not run it either
        return isinstance(agent, dict) and not agent.get("Disabled", False)


# --- Windows ----------------------------------------------------------------------------------

class RunKey:
    """``winreg`` is looked up when used, so tests can put a fake one in ``sys.modules``."""

    def __init__(self, value_name: str = RUN_VALUE) -> None:
        self.value_name = value_name

    @staticmethod
    def _winreg() -> Any:
        return importlib.import_module("winreg")

    def enable(self, command: list[str]) -> None:
        reg = self._winreg()
        with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
            reg.SetValueEx(key, self.value_name, 0, reg.REG_SZ, subprocess.list2cmdline(command))
        # Turning it on here also clears an earlier "off" from Task Manager.
        self._delete(STARTUP_APPROVED_KEY)

    def disable(self) -> None:
        self._delete(RUN_KEY)
        self._delete(STARTUP_APPROVED_KEY)

    def is_enabled(self) -> bool:
        if self._query(RUN_KEY) is None:
            return False
        approved = self._query(STARTUP_APPROVED_KEY)
        if isinstance(approved, bytes | bytearray) and approved:
            return not approved[0] & 1
        return True

    def _query(self, subkey: str) -> object | None:
        reg = self._winreg()
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, subkey, 0, reg.KEY_READ) as key:
                value: object = reg.QueryValueEx(key, self.value_name)[0]
                return value
        except FileNotFoundError:
            return None

    def _delete(self, subkey: str) -> None:
        reg = self._winreg()
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, subkey, 0, reg.KEY_SET_VALUE) as key:
                reg.DeleteValue(key, self.value_name)
        except FileNotFoundError:
            pass  # nothing to remove is the state asked for


# --- the current platform ---------------------------------------------------------------------

_guard: Backend | None = None


def platform_backend(platform: str | None = None) -> Backend:
    platform = platform or sys.platform
    if platform == "win32":
        return RunKey()
    if platform == "darwin":
        return LaunchAgent()
    return XdgAutostart()


def backend(platform: str | None = None) -> Backend:
    """The entry for this platform; the installed guard when there is one."""
    if platform is None and _guard is not None:
        return _guard
    return platform_backend(platform)


def install_guard(guard: Backend | None) -> None:
    """Route :func:`backend` (and so the settings window's checkbox) through ``guard``;
    None removes it."""
    global _guard
    _guard = guard


def enable(command: list[str] | None = None) -> None:
    backend().enable(command or launch_command())


def disable() -> None:
    backend().disable()


def is_enabled() -> bool:
    return backend().is_enabled()


# --- turning it off waits for the reset ------------------------------------------------------

class AutostartRecord(Protocol):
    """Where the autostart in force is kept (:class:`core.app.config_vault.ConfigVault`)."""

    def autostart(self) -> dict[str, Any] | None: ...

    def save_autostart(self, value: dict[str, Any]) -> None: ...


class GuardedAutostart:
    """A :class:`Backend` whose ``disable`` waits for the next reset while the entry is on.

    The record holds ``{"on": bool, "off_at": ISO time or None}``: on while the app has seen
    the entry on; ``off_at`` when a switch-off waits for its reset.
    """

    def __init__(self, inner: Backend, record: AutostartRecord,
                 next_reset: Callable[[], datetime],
                 command: Callable[[], list[str]] = launch_command) -> None:
        self.inner = inner
        self.record = record
        self.next_reset = next_reset
        self.command = command

    @property
    def off_pending_at(self) -> datetime | None:
        value = (self.record.autostart() or {}).get("off_at")
        try:
            return datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None

    def _on(self) -> bool:
        return bool((self.record.autostart() or {}).get("on"))

    def _save(self, on: bool, off_at: datetime | None = None) -> None:
        self.record.save_autostart({"on": on, "off_at": off_at.isoformat() if off_at else None})

    def enable(self, command: list[str]) -> None:
        self.inner.enable(command)
        self._save(True)

    def disable(self) -> None:
        if not self._on():
            self.inner.disable()
            self._save(False)
            return
        at = self.off_pending_at or self.next_reset()
        self._save(True, at)
        log.warning("starting with the computer stays on until the next reset (%s): switching it "
                    "off loosens protection", at.isoformat())

    def is_enabled(self) -> bool:
        return self.inner.is_enabled()

    def check_at_start(self) -> None:
        """An entry seen on is in force; one removed while the app was stopped is put back
        until the next reset, when the removal takes effect."""
        try:
            entry = self.inner.is_enabled()
        except OSError as exc:
            log.warning("cannot read the start-with-the-computer entry: %s", exc)
            return
        if entry and not self._on():
            self._save(True)
        elif not entry and self._on():
            at = self.off_pending_at or self.next_reset()
            try:
                self.inner.enable(self.command())
            except OSError as exc:
                log.error("the start-with-the-computer entry was removed and cannot be put back: %s",
                          exc)
                return
            self._save(True, at)
            log.warning("the start-with-the-computer entry was removed while the risk manager was "
                        "stopped: it is back until the next reset (%s)", at.isoformat())

    def apply_if_due(self, now: datetime) -> None:
        at = self.off_pending_at
        if at is None or now < at:
            return
        try:
            self.inner.disable()
        except OSError as exc:
            log.error("switching off starting with the computer failed: %s", exc)
            return
        self._save(False)
        log.warning("starting with the computer is off (asked for before the reset)")
