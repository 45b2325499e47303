"""Read-only tables updated in place, and the cell formatting (prices, countdowns, P&L colours)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from core.app.snapshot import LockView
from core.domain.words import duration
from gui.pnl_chart import GREEN, RED

GREY = "#808080"

Cell = tuple[str, str | None]  # text, foreground colour (None: the theme's)
Row = tuple[Hashable, list[Cell]]  # a stable key (keeps the selection on its row), cells


def lock_remaining(lock: LockView, now: datetime) -> str:
    if lock.until is not None:
        return duration((lock.until - now).total_seconds())
    if lock.kind == "symbol":
        return "until unblocked"
    return "until the gateway allows trading again"


def tick_decimals(tick_size: float) -> int:
    """0.25 → 2, 0.005 → 3, 1/32 → 5, 1.0 → 0: as many decimals as the tick has."""
    exponent = Decimal(repr(tick_size)).normalize().as_tuple().exponent
    return min(6, max(0, -exponent)) if isinstance(exponent, int) else 2


def format_price(value: float | None, tick_size: float | None = None) -> str:
    """At the contract's tick precision (20,012.25 for MNQ, 1.08455 for 6E); without a known
    tick, what the number holds, at least two decimals."""
    if value is None:
        return "—"
    if tick_size is not None and tick_size > 0:
        return f"{value:,.{tick_decimals(tick_size)}f}"
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
        # One line a row, sized once from the font (measuring every row on each update is slow).
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.setWordWrap(False)  # one line a row: the last column holds the long text
        self._fit_rows: int | None = None

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        # Filled while hidden, the last column was sized for no room: stretch it again.
        header = self.horizontalHeader()
        if header.stretchLastSection():
            header.setStretchLastSection(False)
            header.setStretchLastSection(True)
        super().showEvent(event)

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
        grown = False
        for r, (_key, cells) in enumerate(rows):
            for c, (text, colour) in enumerate(cells):
                grown = self._set_cell(r, c, text, colour) or grown
        self._keys = keys
        if grown and not reshaped:
            self._grow_columns()
        if reshaped:
            if selected in keys:
                self.selectRow(keys.index(selected))
            elif selected is not None:
                self.clearSelection()  # its row is gone: select nothing rather than a neighbour
            self.resizeColumnsToContents()  # only when rows come or go: resizing is not free
            self._fit_height()

    def fit_to_rows(self, rows: int | None) -> None:
        """Size the table's height to its rows (at most ``rows``) instead of a fixed box."""
        self._fit_rows = rows
        self._fit_height()

    def _fit_height(self) -> None:
        if self._fit_rows is None:
            return
        shown = min(max(self.rowCount(), 1), self._fit_rows)
        row_height = self.verticalHeader().defaultSectionSize()
        height = self.horizontalHeader().height() + shown * row_height + 2 * self.frameWidth() + 2
        # Room for a horizontal scroll bar either way: it may appear after this is measured.
        height += self.horizontalScrollBar().sizeHint().height()
        self.setFixedHeight(height)

    def set_text(self, row: int, column: int, text: str, colour: str | None = None) -> None:
        self._set_cell(row, column, text, colour)

    def _grow_columns(self) -> None:
        """A cell got longer text: widen its column to fit, never narrow one (numbers ticking
        between 9 and 10 must not make the columns jump)."""
        header = self.horizontalHeader()
        for column in range(self.columnCount() - (1 if header.stretchLastSection() else 0)):
            wanted = max(self.sizeHintForColumn(column), header.sectionSizeHint(column))
            if wanted > self.columnWidth(column):
                self.setColumnWidth(column, wanted)

    def _set_cell(self, row: int, column: int, text: str, colour: str | None) -> bool:
        """True when the cell's text got longer (its column may need more room)."""
        item = self.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            if column in self._numeric:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(row, column, item)
        # Unchanged cells are left alone: every setText repaints and resets accessibility state.
        longer = False
        if item.text() != text:
            longer = len(text) > len(item.text())
            item.setText(text)
            # A long reason is cut off in its column: the whole of it is a hover away.
            item.setToolTip(text if len(text) > 24 else "")
        wanted = QBrush(QColor(colour)) if colour else QBrush()
        if item.foreground() != wanted:
            item.setForeground(wanted)
        return longer
