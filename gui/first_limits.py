"""The setup's last page: the limits that will apply, shown to confirm or change.

A new trader must not be protected by defaults they never saw. The three limits that matter
most on day one (daily loss, max contracts, open loss) are shown with their values from the
config, each with its own switch; every other rule keeps its configured state and can be
changed later in Settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.config.models import AppConfig
from gui.settings_fields import ERROR_STYLE


@dataclass(frozen=True, slots=True)
class FirstLimits:
    """None switches the limit off."""

    daily_loss: float | None = 500.0
    max_contracts: int | None = 5
    open_loss: float | None = 300.0


def limits_of(config: AppConfig) -> FirstLimits:
    rules = config.rules
    return FirstLimits(
        rules.daily_realized_loss.limit if rules.daily_realized_loss.enabled else None,
        rules.max_contracts.limit if rules.max_contracts.enabled else None,
        rules.daily_unrealized_loss.limit if rules.daily_unrealized_loss.enabled else None,
    )


def with_limits(config: AppConfig, limits: FirstLimits) -> AppConfig:
    data = config.model_dump(mode="json")
    rules = data["rules"]
    for table, key, value in (("daily_realized_loss", "limit", limits.daily_loss),
                              ("max_contracts", "limit", limits.max_contracts),
                              ("daily_unrealized_loss", "limit", limits.open_loss)):
        rules[table]["enabled"] = value is not None
        if value is not None:
            rules[table][key] = value
    return AppConfig.model_validate(data)


class LimitsPage(QWidget):
    def __init__(self, limits: FirstLimits, on_done: Callable[[FirstLimits], None]) -> None:
        super().__init__()
        self._on_done = on_done
        heading = QLabel("<b>The limits that will apply</b>")
        intro = QLabel(
            "Risk Manager enforces these from the moment it starts: a breach closes positions "
            "and, for the daily loss, locks you out until the daily reset. Change them now if "
            "they do not fit; every rule can be changed later in Settings (loosening one waits "
            "for the next reset).")
        intro.setWordWrap(True)
        self.daily_loss_on, self.daily_loss = QCheckBox("Daily loss limit"), QDoubleSpinBox()
        self.contracts_on, self.contracts = QCheckBox("Max contracts"), QSpinBox()
        self.open_loss_on, self.open_loss = QCheckBox("Open loss per position"), QDoubleSpinBox()
        for spin in (self.daily_loss, self.open_loss):
            spin.setRange(1.0, 1_000_000.0)
            spin.setDecimals(2)
            spin.setPrefix("$")
            spin.setSingleStep(50.0)
        self.contracts.setRange(0, 10_000)
        self.contracts.setSuffix(" contracts")
        help_texts = (
            "Stop for the day at this net realized loss: flatten and lock until the reset.",
            "More contracts than this open at once are closed back to the limit.",
            "A position losing this much is closed.",
        )
        grid = QGridLayout()
        rows = ((self.daily_loss_on, self.daily_loss, limits.daily_loss),
                (self.contracts_on, self.contracts, limits.max_contracts),
                (self.open_loss_on, self.open_loss, limits.open_loss))
        for row, ((switch, spin, value), text) in enumerate(zip(rows, help_texts, strict=True)):
            switch.setChecked(value is not None)
            if value is not None:
                spin.setValue(value)  # type: ignore[arg-type]
            spin.setEnabled(value is not None)
            switch.toggled.connect(spin.setEnabled)
            note = QLabel(text)
            note.setWordWrap(True)
            note.setStyleSheet("color: palette(placeholder-text);")
            grid.addWidget(switch, row * 2, 0)
            grid.addWidget(spin, row * 2, 1)
            grid.addWidget(note, row * 2 + 1, 0, 1, 2)
        self.warning = QLabel("")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #8a5a00;")
        self.error = QLabel("")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        for switch in (self.daily_loss_on, self.contracts_on, self.open_loss_on):
            switch.toggled.connect(self._check)
        self.start_button = QPushButton("Start protection")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.confirm)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        layout = QVBoxLayout(self)
        for widget in (heading, intro):
            layout.addWidget(widget)
        layout.addLayout(grid)
        layout.addWidget(self.warning)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self._check()

    def chosen(self) -> FirstLimits:
        return FirstLimits(
            self.daily_loss.value() if self.daily_loss_on.isChecked() else None,
            self.contracts.value() if self.contracts_on.isChecked() else None,
            self.open_loss.value() if self.open_loss_on.isChecked() else None,
        )

    def _check(self) -> None:
        off = not any(s.isChecked() for s in (self.daily_loss_on, self.contracts_on,
                                               self.open_loss_on))
        self.warning.setText("With all three off, only the other rules you enabled in Settings "
                             "protect you; with none enabled, nothing does." if off else "")
        self.warning.setVisible(off)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def confirm(self) -> None:
        self._on_done(self.chosen())

