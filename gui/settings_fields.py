"""Editors for config fields, chosen from the pydantic models' types: no field is placed by hand.

A new rule or key in ``core/config`` appears in the settings window by itself, with its title as
the label and its description as the help. Every editor reports its value in the form the TOML
file uses (``model_dump(mode="json")``); the window validates the whole candidate config with
pydantic after each edit, so the trader sees the same reasons the config loader would give.
Editors parse nothing beyond splitting lists and reading table cells. The choice of editor and
the page of a model are in :mod:`gui.model_page`; the table editor is in :mod:`gui.table_editor`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from datetime import time
from typing import Any

from pydantic.fields import FieldInfo
from PySide6.QtCore import QObject, Qt, QTime, Signal
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDoubleSpinBox,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

INT_MAX = 2**31 - 1  # QSpinBox holds a C int
FLOAT_MAX = 1e9
DECIMALS = 2  # money is in dollars and cents
ERROR_STYLE = "color: #c62828;"
HELP_STYLE = "color: palette(placeholder-text);"


class EditorError(ValueError):
    """An editor cannot turn its text into a value (an empty or repeated table key)."""


def typed(text: str) -> Any:
    """Text typed in a cell or a list, read as the config file would read it: ``2`` is a whole
    number, ``0.5`` a decimal, ``2026-12-24`` a date; anything else (a weekday, a symbol, a time
    such as 08:30) stays text. Config values are strictly typed, so "2" would not be a count."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def split_items(text: str) -> list[Any]:
    return [typed(item) for item in re.split(r"[,;\s]+", text) if item]


def humanize(name: str) -> str:
    return name.replace("_", " ").capitalize()


def show_value(value: Any) -> str:
    """A TOML value as the trader reads it: 500 not 500.0, lists without brackets."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {show_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        separator = "; " if any(isinstance(v, dict) for v in value) else ", "
        return separator.join(show_value(v) for v in value)
    return str(value)


class _NoStrayWheel:
    """Scrolling the page over a spin box must not quietly change a loss limit: the wheel only
    edits a widget the trader has clicked into, otherwise it scrolls the page."""

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt's name)
        if self.hasFocus():  # type: ignore[attr-defined]
            super().wheelEvent(event)  # type: ignore[misc]
        else:
            event.ignore()


# Qt widgets with the wheel guard (type() keeps the four one-liners out of the way).
_Spin: type[QSpinBox] = type("_Spin", (_NoStrayWheel, QSpinBox), {})
_DoubleSpin: type[QDoubleSpinBox] = type("_DoubleSpin", (_NoStrayWheel, QDoubleSpinBox), {})
_Combo: type[QComboBox] = type("_Combo", (_NoStrayWheel, QComboBox), {})
_TimeEdit: type[QTimeEdit] = type("_TimeEdit", (_NoStrayWheel, QTimeEdit), {})


def text_label(text: str = "", style: str = "", name: str = "") -> QLabel:
    """A wrapping label, hidden while empty so that it takes no room (see :func:`set_text`)."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(style)
    label.setObjectName(name)
    label.setText(text)
    if not text:  # never show() a parentless label here: it would pop up as its own window
        label.hide()
    return label


def set_text(label: QLabel, text: str | None) -> None:
    label.setText(text or "")
    label.setVisible(bool(text))


def button(text: str, slot: Callable[[], object]) -> QPushButton:
    push = QPushButton(text)
    push.clicked.connect(slot)
    return push


def boxed(layout: QBoxLayout, *items: QWidget | QLayout | int) -> QBoxLayout:
    """Fill a box layout: widgets, nested layouts, and ints as stretch."""
    for item in items:
        if isinstance(item, QWidget):
            layout.addWidget(item)
        elif isinstance(item, QLayout):
            layout.addLayout(item)
        else:
            layout.addStretch(item)
    return layout


class FieldEditor(QObject):
    """One config key: its widget, help text and inline error, under the key's dotted name."""

    changed = Signal()

    def __init__(self, key: str, title: str, description: str | None, widget: QWidget) -> None:
        super().__init__(widget)
        self.key, self.title, self.description, self.widget = key, title, description, widget
        self.row = QWidget()
        self.help_label = text_label(description or "", HELP_STYLE)
        self.error_label = text_label("", ERROR_STYLE, f"error:{key}")
        layout = boxed(QVBoxLayout(self.row), widget, self.help_label, self.error_label)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        if description:
            widget.setToolTip(description)
        widget.setObjectName(key)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def where(self, sub: Sequence[str | int]) -> str:
        """Names the part of this value a validation error points into (a row, an item)."""
        return ".".join(str(part) for part in sub)

    def show_error(self, text: str | None) -> None:
        set_text(self.error_label, text)

    @property
    def error(self) -> str:
        return self.error_label.text() if self.error_label.isVisibleTo(self.row) else ""


class CheckEditor(FieldEditor):
    def __init__(self, key: str, title: str, description: str | None) -> None:
        self.box = QCheckBox()
        super().__init__(key, title, description, self.box)
        self.box.toggled.connect(self.changed)

    def value(self) -> bool:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        self.box.setChecked(bool(value))


class NumberEditor(FieldEditor):
    """A spin box held to the model's bounds; an optional number shows "(none)" at its bottom."""

    def __init__(self, key: str, title: str, description: str | None, info: FieldInfo,
                 kind: type, optional: bool) -> None:
        self.is_int = kind is int
        self.spin: QSpinBox | QDoubleSpinBox = _Spin() if self.is_int else _DoubleSpin()
        super().__init__(key, title, description, self.spin)
        self.optional = optional
        step, limit = (1, INT_MAX) if self.is_int else (10**-DECIMALS, FLOAT_MAX)
        bound = {name: value for meta in info.metadata for name in ("ge", "gt", "le", "lt")
                 if (value := getattr(meta, name, None)) is not None}
        # gt/lt are strict: the spin box stops one step inside, so it cannot produce them.
        low = bound["ge"] if "ge" in bound else bound["gt"] + step if "gt" in bound else -limit
        high = bound["le"] if "le" in bound else bound["lt"] - step if "lt" in bound else limit
        if optional:
            low -= step  # the extra bottom step stands for "no value"
            self.spin.setSpecialValueText("(none)")
        if isinstance(self.spin, QDoubleSpinBox):
            self.spin.setDecimals(DECIMALS)  # before the range, which it would round
            self.spin.setRange(float(low), float(high))
        else:
            self.spin.setRange(int(low), int(high))
        self.spin.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.spin.valueChanged.connect(self.changed)

    def value(self) -> int | float | None:
        number = self.spin.value()
        if self.optional and number == self.spin.minimum():
            return None
        return int(number) if self.is_int else float(number)

    def set_value(self, value: Any) -> None:
        number = self.spin.minimum() if value is None else value
        if isinstance(self.spin, QDoubleSpinBox):
            self.spin.setValue(float(number))
        else:
            self.spin.setValue(int(number))


class ChoiceEditor(FieldEditor):
    def __init__(self, key: str, title: str, description: str | None,
                 choices: Sequence[Any]) -> None:
        self.combo = _Combo()
        super().__init__(key, title, description, self.combo)
        for choice in choices:
            self.combo.addItem(str(choice), choice)
        self.combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.combo.currentIndexChanged.connect(self.changed)

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        self.combo.setCurrentIndex(max(0, self.combo.findData(value)))


class TimeEditor(FieldEditor):
    def __init__(self, key: str, title: str, description: str | None) -> None:
        self.edit = _TimeEdit()
        super().__init__(key, title, description, self.edit)
        self.edit.setDisplayFormat("HH:mm")  # a 24-hour clock, as in the file
        self.edit.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.edit.timeChanged.connect(self.changed)

    def value(self) -> str:
        return self.edit.time().toString("HH:mm")

    def set_value(self, value: Any) -> None:
        when = value if isinstance(value, time) else time.fromisoformat(str(value))
        self.edit.setTime(QTime(when.hour, when.minute))


class TextEditor(FieldEditor):
    def __init__(self, key: str, title: str, description: str | None,
                 completions: Sequence[str] = ()) -> None:
        self.line = QLineEdit()
        super().__init__(key, title, description, self.line)
        if completions:
            completer = QCompleter(list(completions), self.line)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            self.line.setCompleter(completer)
        self.line.textChanged.connect(self.changed)

    def value(self) -> str:
        return self.line.text().strip()

    def set_value(self, value: Any) -> None:
        self.line.setText("" if value is None else str(value))


class ListEditor(FieldEditor):
    """A list of plain values typed on one line; pydantic reads each item (numbers, dates…)."""

    def __init__(self, key: str, title: str, description: str | None) -> None:
        self.line = QLineEdit()
        super().__init__(key, title, description, self.line)
        self.line.setPlaceholderText("separate items with commas")
        self.line.textChanged.connect(self.changed)

    def value(self) -> list[Any]:
        return split_items(self.line.text())

    def set_value(self, value: Any) -> None:
        self.line.setText(", ".join(show_value(v) for v in value or []))

    def where(self, sub: Sequence[str | int]) -> str:
        items = [item for item in re.split(r"[,;\s]+", self.line.text()) if item]
        if sub and isinstance(sub[0], int) and sub[0] < len(items):
            return f"item {sub[0] + 1} ({items[sub[0]]!r})"
        return super().where(sub)


class PercentListEditor(ListEditor):
    """Warning thresholds typed as percentages of the limit ("50, 80"), kept as fractions
    (0.5, 0.8) in the file: a trader thinks "warn me at 80 %", not "at 0.8"."""

    def __init__(self, key: str, title: str, description: str | None) -> None:
        super().__init__(key, f"{title} (% of the limit)",
                         "Percentages of the limit at which you get a warning, once each per "
                         "trading day, e.g. 50, 80.")
        self.line.setPlaceholderText("e.g. 50, 80")

    def value(self) -> list[float]:  # type: ignore[override]
        fractions: list[float] = []
        for item in re.split(r"[,;\s]+", self.line.text().replace("%", " ")):
            if not item:
                continue
            try:
                percent = float(item)
            except ValueError:
                raise EditorError(f"{item!r} is not a percentage") from None
            if not 0 < percent < 100:
                raise EditorError(f"each warning must be between 1 and 99 %, not {item} %")
            fractions.append(round(percent / 100, 6))
        return fractions

    def set_value(self, value: Any) -> None:
        self.line.setText(", ".join(f"{float(v) * 100:g}" for v in value or []))
