"""Read-only tables updated in place, and the cell formatting (prices, countdowns, P&L colours)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from core.app.snapshot import LockView
from gui.pnl_chart import GREEN, RED

GREY = "#808080"

Cell = tuple[str, str | None]  # text, foreground colour (None: the theme's)
Row = tuple[Hashable, list[Cell]]  # a stable key (keeps the selection on its row), cells


def format_countdown(seconds: float) -> str:
    """1:00:05, 0:04:10. Rounded up, like the tray: a lock never reads 0:00:00 while it holds."""
    total = max(0, math.ceil(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def lock_remaining(lock: LockView, now: datetime) -> str:
    if lock.until is not None:
        return format_countdown((lock.until - now).total_seconds())
    if lock.kind == "symbol":
        return "until unblocked"
    return "until the gateway allows trading again"


def format_price(value: float | None) -> str:
    # Tick sizes run from 0.25 (index) to 0.00005 (currencies) and 1/32 (bonds): keep what is there.
    if value is None:
        return "—"
    text = f"{value:,.6f}".rstrip("0")
    decimals = len(text.split(".")[1])
    return text + "0" * max(0, 2 - decimals)


def pnl_colour(value: float | None) -> str | None:
    if value is None:
        return GREY
    if abs(value) < 0.005:
        return None
    return GREEN if value > 0 else RED


class DataTable(QTableWidget):
    """A read-only table updated in place; rows are keyed so the selection follows its row."""

    def __init__(
        self, headers: Sequence[str], numeric: set[int], parent: QWidget | None = None
    ) -> None:
        super().__init__(0, len(headers), parent)
        self._numeric = numeric
        self._keys: list[Hashable] = []
        self.setHorizontalHeaderLabels(list(headers))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(False)  # sorting would move items under the in-place updates
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

    @property
    def keys(self) -> list[Hashable]:
        return list(self._keys)

    def text(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return "" if item is None else item.text()

    def fill(self, rows: Sequence[Row]) -> None:
        current = self.currentRow()
        has_selection = 0 <= current < len(self._keys) and bool(self.selectedItems())
        selected = self._keys[current] if has_selection else None
        keys = [key for key, _ in rows]
        reshaped = keys != self._keys
        if self.rowCount() != len(rows):
            self.setRowCount(len(rows))
        for r, (_key, cells) in enumerate(rows):
            for c, (text, colour) in enumerate(cells):
                self._set_cell(r, c, text, colour)
        self._keys = keys
        if reshaped:
            if selected in keys:
                self.selectRow(keys.index(selected))
            elif selected is not None:
                self.clearSelection()  # its row is gone: select nothing rather than a neighbour
            self.resizeColumnsToContents()  # only when rows come or go: resizing is not free

    def set_text(self, row: int, column: int, text: str, colour: str | None = None) -> None:
        self._set_cell(row, column, text, colour)

    def _set_cell(self, row: int, column: int, text: str, colour: str | None) -> None:
        item = self.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            if column in self._numeric:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(row, column, item)
        # Unchanged cells are left alone: every setText repaints and resets accessibility state.
        if item.text() != text:
            item.setText(text)
        wanted = QBrush(QColor(colour)) if colour else QBrush()
        if item.foreground() != wanted:
            item.setForeground(wanted)
