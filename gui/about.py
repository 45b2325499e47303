"""About Risk Manager: the version, what it does, and an OK button (never a nested event loop)."""

from __future__ import annotations

import re
from functools import cache
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@cache
def app_version() -> str:
    """The installed package's version; from a source tree, pyproject.toml's."""
    try:
        return metadata.version("risk-manager")
    except metadata.PackageNotFoundError:
        pass
    try:
        found = re.search(r'^version\s*=\s*"([^"]+)"', PYPROJECT.read_text(encoding="utf-8"), re.M)
    except OSError:
        found = None
    return found.group(1) if found else "unknown"


def about_text() -> str:
    return (
        f"<b>Risk Manager {app_version()}</b><br><br>"
        "Enforces your own risk rules on TopstepX accounts: when a rule is breached it closes "
        "positions, cancels orders and locks the account.<br><br>"
        "Locks end only by their timer, the daily reset, or the gateway; there is no unlock "
        "button. Quitting stops protection."
    )


def about_box(parent: QWidget | None = None) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("About Risk Manager")
    box.setObjectName("about")
    box.setIcon(QMessageBox.Icon.Information)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_text())
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setWindowModality(Qt.WindowModality.NonModal)  # shown with show(), not exec()
    return box
