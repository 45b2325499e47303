"""core.app.autostart: the login entry on each platform, in tmp dirs (Windows through a fake winreg)."""

from __future__ import annotations

import configparser
import plistlib
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from core.app import autostart
from core.app.autostart import LaunchAgent, RunKey, XdgAutostart, desktop_entry, exec_arg

TRICKY = ["/opt/Risk Manager/RiskManager", 'say "hi"', "$HOME", "back\\slash", "100%", "plain"]


def parse_exec(value: str) -> list[str]:
    """An Exec value read back the way a desktop does (Desktop Entry Specification)."""
    # First the string-value escapes of the file format, then the Exec quoting rules.
    value = value.replace("\\\\", "\\")
    args, current, quoted, i, any_arg = [], "", False, 0, False
    while i < len(value):
        char = value[i]
        if quoted and char == "\\" and i + 1 < len(value):
            current, i = current + value[i + 1], i + 2
            continue
        if char == '"':
            quoted, any_arg = not quoted, True
        elif char == " " and not quoted:
            if current or any_arg:
                args.append(current)
            current, any_arg = "", False
        else:
            current += char
        i += 1
    if current or any_arg:
        args.append(current)
    return [arg.replace("%%", "%") for arg in args]


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


# --- the command --------------------------------------------------------------------------

def test_from_source_the_entry_runs_this_python_on_main_py() -> None:
    command = autostart.launch_command()
    assert command[0] == sys.executable
    assert command[1:] == [str(autostart.MAIN_SCRIPT)]
    assert Path(command[1]).is_file()


def test_frozen_the_entry_runs_the_tray_exe_even_from_the_cli_twin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "RiskManager").touch()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "RiskManager-cli"))
    assert autostart.launch_command() == [str(tmp_path / "RiskManager")]
    monkeypatch.setattr(sys, "executable", str(tmp_path / "RiskManager"))
    assert autostart.launch_command() == [str(tmp_path / "RiskManager")]


# --- Linux / XDG --------------------------------------------------------------------------

def test_xdg_entry_lives_in_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert XdgAutostart().path == tmp_path / "cfg" / "autostart" / "riskmanager.desktop"
    # A relative XDG_CONFIG_HOME is invalid by the spec: ~/.config is used instead.
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert XdgAutostart().path == tmp_path / "home" / ".config" / "autostart" / "riskmanager.desktop"


def test_xdg_enable_disable_round_trip(tmp_path: Path) -> None:
    backend = XdgAutostart(tmp_path / "autostart")
    assert not backend.is_enabled()
    backend.enable(["/opt/RiskManager/RiskManager"])
    assert backend.is_enabled()
    entry = read_entry(backend.path)
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "/opt/RiskManager/RiskManager"
    assert entry["Name"] and entry["Icon"] == autostart.ICON_NAME
    assert list(backend.path.parent.iterdir()) == [backend.path]  # no temp file left behind
    backend.disable()
    assert not backend.is_enabled() and not backend.path.exists()
    backend.disable()  # already off: still fine


def test_exec_quoting_survives_spaces_quotes_dollars_backslashes_and_percent() -> None:
    assert exec_arg("plain") == "plain"
    line = desktop_entry(TRICKY)
    value = next(x for x in line.splitlines() if x.startswith("Exec=")).removeprefix("Exec=")
    assert parse_exec(value) == TRICKY


@pytest.mark.parametrize("line", ["Hidden=true", "X-GNOME-Autostart-enabled=false"])
def test_an_entry_switched_off_by_the_desktop_counts_as_off(tmp_path: Path, line: str) -> None:
    backend = XdgAutostart(tmp_path)
    backend.enable(["/x"])
    with backend.path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    assert not backend.is_enabled()
    backend.enable(["/x"])  # ticking the box again rewrites it switched on
    assert backend.is_enabled()


def test_module_functions_use_the_current_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    autostart.enable()
    assert autostart.is_enabled()
    assert parse_exec(read_entry(tmp_path / "autostart" / "riskmanager.desktop")["Exec"]) == (
        autostart.launch_command())
    autostart.disable()
    assert not autostart.is_enabled()


def test_backend_per_platform() -> None:
    assert isinstance(autostart.backend("linux"), XdgAutostart)
    assert isinstance(autostart.backend("freebsd14"), XdgAutostart)
    assert isinstance(autostart.backend("darwin"), LaunchAgent)
    assert isinstance(autostart.backend("win32"), RunKey)


# --- macOS --------------------------------------------------------------------------------

def test_launch_agent_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    backend = LaunchAgent()
    assert backend.path == (tmp_path / "Library" / "LaunchAgents"
                            / f"{autostart.LAUNCH_AGENT_LABEL}.plist")
    assert not backend.is_enabled()
    command = ["/Applications/RiskManager.app/Contents/MacOS/RiskManager"]
    backend.enable(command)
    agent = plistlib.loads(backend.path.read_bytes())
    assert agent["Label"] == autostart.LAUNCH_AGENT_LABEL
    assert agent["ProgramArguments"] == command
    assert agent["RunAtLoad"] is True
    assert backend.is_enabled()
    backend.disable()
    assert not backend.is_enabled()


def test_a_disabled_or_damaged_launch_agent_counts_as_off(tmp_path: Path) -> None:
    backend = LaunchAgent(tmp_path)
    backend.path.write_bytes(plistlib.dumps({"Label": "x", "Disabled": True}))
    assert not backend.is_enabled()
    backend.path.write_bytes(b"not a plist")
    assert not backend.is_enabled()


# --- Windows (fake winreg) ----------------------------------------------------------------

class FakeKey:
    def __init__(self, values: dict[str, tuple[Any, int]]) -> None:
        self.values = values

    def __enter__(self) -> FakeKey:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class FakeWinreg(types.ModuleType):
    """The slice of winreg that core.app.autostart uses, over a dict of HKCU subkeys."""

    HKEY_CURRENT_USER = 0x80000001
    KEY_READ, KEY_SET_VALUE = 0x20019, 0x0002
    REG_SZ, REG_BINARY = 1, 3

    def __init__(self) -> None:
        super().__init__("winreg")
        self.keys: dict[str, dict[str, tuple[Any, int]]] = {}

    def CreateKeyEx(self, root: int, sub: str, reserved: int = 0, access: int = 0) -> FakeKey:  # noqa: N802
        assert root == self.HKEY_CURRENT_USER  # per user: no admin rights needed
        return FakeKey(self.keys.setdefault(sub, {}))

    def OpenKey(self, root: int, sub: str, reserved: int = 0, access: int = 0) -> FakeKey:  # noqa: N802
        assert root == self.HKEY_CURRENT_USER
        if sub not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return FakeKey(self.keys[sub])

    def SetValueEx(self, key: FakeKey, name: str, reserved: int, kind: int, value: Any) -> None:  # noqa: N802
        key.values[name] = (value, kind)

    def QueryValueEx(self, key: FakeKey, name: str) -> tuple[Any, int]:  # noqa: N802
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return key.values[name]

    def DeleteValue(self, key: FakeKey, name: str) -> None:  # noqa: N802
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        del key.values[name]


@pytest.fixture
def winreg(monkeypatch: pytest.MonkeyPatch) -> FakeWinreg:
    fake = FakeWinreg()
    monkeypatch.setitem(sys.modules, "winreg", fake)
    return fake


def test_run_key_round_trip(winreg: FakeWinreg) -> None:
    backend = RunKey()
    assert not backend.is_enabled()
    command = [r"C:\Users\Trader\AppData\Local\Programs\RiskManager\RiskManager.exe"]
    backend.enable(command)
    value, kind = winreg.keys[autostart.RUN_KEY]["RiskManager"]
    assert (value, kind) == (subprocess.list2cmdline(command), winreg.REG_SZ)
    assert backend.is_enabled()
    backend.disable()
    assert "RiskManager" not in winreg.keys[autostart.RUN_KEY]
    assert not backend.is_enabled()
    backend.disable()  # already off: still fine


def test_run_key_quotes_a_path_with_spaces(winreg: FakeWinreg) -> None:
    RunKey().enable([r"C:\Program Files\RiskManager\RiskManager.exe"])
    value, _ = winreg.keys[autostart.RUN_KEY]["RiskManager"]
    assert value == r'"C:\Program Files\RiskManager\RiskManager.exe"'


def test_task_manager_switching_it_off_is_respected_and_ticking_clears_it(
    winreg: FakeWinreg,
) -> None:
    backend = RunKey()
    backend.enable([r"C:\RiskManager\RiskManager.exe"])
    approved = winreg.keys.setdefault(autostart.STARTUP_APPROVED_KEY, {})
    approved["RiskManager"] = (b"\x03" + bytes(11), winreg.REG_BINARY)  # "Disabled" in Task Manager
    assert not backend.is_enabled()
    approved["RiskManager"] = (b"\x02" + bytes(11), winreg.REG_BINARY)
    assert backend.is_enabled()
    approved["RiskManager"] = (b"\x03" + bytes(11), winreg.REG_BINARY)
    backend.enable([r"C:\RiskManager\RiskManager.exe"])
    assert "RiskManager" not in approved and backend.is_enabled()
