""""Start with the computer" on the settings window's General page: applies at once, no config."""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyle, QStyleOptionButton
from pytestqt.qtbot import QtBot

from core.app import autostart
from core.app.autostart import XdgAutostart
from core.app.config_manager import ConfigManager
from core.domain.clock import ManualClock
from gui.autostart_setting import CHECKBOX_TEXT
from gui.settings import SettingsWindow
from tests.builders import T0, default_config


class BrokenBackend:
    """A login entry that cannot be written (a read-only autostart folder, a locked registry)."""

    def __init__(self) -> None:
        self.enabled = False

    def enable(self, command: list[str]) -> None:
        raise PermissionError("access denied")

    def disable(self) -> None:
        raise PermissionError("access denied")

    def is_enabled(self) -> bool:
        return self.enabled


def open_window(qtbot: QtBot, tmp_path: Path,
                backend: object | None = None) -> tuple[SettingsWindow, ConfigManager]:
    manager = ConfigManager(tmp_path / "config.toml", clock=ManualClock(T0),
                            config=default_config())
    window = SettingsWindow(manager, autostart=backend)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    window.show()
    return window, manager


def entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def click(qtbot: QtBot, window: SettingsWindow) -> None:
    """As the trader does: scroll the General page to the box, then click it."""
    checkbox = window.autostart.checkbox
    window.pages["general"].ensureWidgetVisible(checkbox)
    # On the box itself: a QCheckBox only reacts to clicks on its box and text, not its full width.
    option = QStyleOptionButton()
    checkbox.initStyleOption(option)
    box = checkbox.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, checkbox)
    qtbot.mouseClick(checkbox, Qt.MouseButton.LeftButton, pos=box.center())


def test_the_checkbox_sits_on_the_general_page(qtbot: QtBot, tmp_path: Path) -> None:
    window, _ = open_window(qtbot, tmp_path, XdgAutostart(tmp_path / "autostart"))
    assert window.autostart.checkbox.text() == CHECKBOX_TEXT
    assert window.pages["general"].isAncestorOf(window.autostart.checkbox)
    assert window.stack.currentWidget() is window.pages["general"]
    assert window.autostart.checkbox.isVisible()
    assert not window.autostart.checkbox.isChecked()


def test_ticking_writes_the_login_entry_at_once_and_unticking_removes_it(
    qtbot: QtBot, tmp_path: Path
) -> None:
    backend = XdgAutostart(tmp_path / "autostart")
    window, manager = open_window(qtbot, tmp_path, backend)

    click(qtbot, window)
    assert window.autostart.checkbox.isChecked()
    assert backend.is_enabled()
    assert entry(backend.path)["Exec"].endswith("main.py")  # python main.py, not frozen here
    # Not a config change: nothing to apply, nothing saved, no password asked.
    assert not window.apply_button.isEnabled()
    assert not manager.path.exists()
    assert window.password_row.isHidden()

    click(qtbot, window)
    assert not window.autostart.checkbox.isChecked()
    assert not backend.path.exists()


def test_reopening_shows_an_entry_made_elsewhere(qtbot: QtBot, tmp_path: Path) -> None:
    backend = XdgAutostart(tmp_path / "autostart")
    window, _ = open_window(qtbot, tmp_path, backend)
    window.close()
    backend.enable(["/opt/RiskManager/RiskManager"])  # e.g. the installer's task
    window.show()
    assert window.autostart.checkbox.isChecked()


def test_a_failure_leaves_the_box_as_it_was_and_says_why(qtbot: QtBot, tmp_path: Path) -> None:
    window, _ = open_window(qtbot, tmp_path, BrokenBackend())
    click(qtbot, window)
    assert not window.autostart.checkbox.isChecked()
    error = window.autostart.error_label
    assert error.isVisible()
    assert "Could not turn on" in error.text() and "access denied" in error.text()


@pytest.mark.skipif(sys.platform != "linux", reason="the default backend here is XDG")
def test_the_default_backend_is_the_platform_one(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    window, _ = open_window(qtbot, tmp_path)
    click(qtbot, window)
    assert (tmp_path / "xdg" / "autostart" / autostart.DESKTOP_FILE_NAME).exists()
    assert autostart.is_enabled()
