"""The table editor: a config list of models or a map keyed by symbol, one row per entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.settings_fields import (
    EditorError,
    FieldEditor,
    boxed,
    button,
    show_value,
    split_items,
    typed,
)


@dataclass(frozen=True, slots=True)
class Column:
    name: str | None  # the model field; None for a map's key or a plain map value
    title: str
    tip: str | None = None
    listed: bool = False  # the cell holds a list, typed as "mon, tue"

    def read(self, text: str) -> Any:
        return split_items(text) if self.listed else typed(text)

    def show(self, value: Any) -> str:
        return "" if value is None else show_value(value)  # blank: the key is left out


class TableEditor(FieldEditor):
    """A list of models (loss tiers) or a map keyed by symbol (limits, per-symbol hours)."""

    def __init__(self, key: str, title: str, description: str | None, *,
                 columns: Sequence[Column], keyed: bool) -> None:
        self.table = QTableWidget(0, len(columns))
        body = QWidget()
        super().__init__(key, title, description, body)
        self.columns, self.keyed = list(columns), keyed
        for index, column in enumerate(columns):
            header = QTableWidgetItem(column.title)
            if column.tip:
                header.setToolTip(column.tip)
            self.table.setHorizontalHeaderItem(index, header)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMinimumHeight(120)
        if description:
            self.table.setToolTip(description)
        self.table.cellChanged.connect(self.changed)
        self.add_button = button("Add row", self.add_row)
        self.remove_button = button("Remove row", self.remove_row)
        layout = boxed(QVBoxLayout(body), self.table,
                       boxed(QHBoxLayout(), self.add_button, self.remove_button, 1))
        layout.setContentsMargins(0, 0, 0, 0)

    def add_row(self, cells: Sequence[str] = ()) -> int:
        row = self.table.rowCount()
        self.table.blockSignals(True)  # one "changed" for the row, not one per cell
        self.table.insertRow(row)
        for col in range(len(self.columns)):
            self.table.setItem(row, col, QTableWidgetItem(cells[col] if col < len(cells) else ""))
        self.table.blockSignals(False)
        self.changed.emit()
        return row

    def remove_row(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        for row in rows or [self.table.rowCount() - 1]:
            if row >= 0:
                self.table.removeRow(row)
        self.changed.emit()

    def set_cell(self, row: int, col: int, text: str) -> None:
        item = self.table.item(row, col)
        if item is None:
            self.table.setItem(row, col, QTableWidgetItem(text))
        else:
            item.setText(text)

    def cells(self, row: int) -> list[str]:
        items = (self.table.item(row, col) for col in range(len(self.columns)))
        return [item.text().strip() if item else "" for item in items]

    def value(self) -> list[dict[str, str]] | dict[str, Any]:
        filled = [(r, cells) for r in range(self.table.rowCount()) if any(cells := self.cells(r))]
        if not self.keyed:
            # A blank cell is left out, so pydantic names the missing field in that row.
            return [self._fields(cells) for _, cells in filled]
        result: dict[str, Any] = {}
        seen: set[str] = set()
        for row, cells in filled:
            key = cells[0]
            if not key:
                raise EditorError(f"row {row + 1}: {self.columns[0].title.lower()} is empty")
            if key.casefold() in seen:
                raise EditorError(f"{key} is listed twice")
            seen.add(key.casefold())
            result[key] = (self.columns[1].read(cells[1]) if self.columns[1].name is None
                           else self._fields(cells[1:], 1))
        return result

    def _fields(self, cells: Sequence[str], first: int = 0) -> dict[str, str]:
        columns = self.columns[first:]
        return {c.name: c.read(text) for c, text in zip(columns, cells, strict=True)
                if c.name and text}

    def set_value(self, value: Any) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        self.table.blockSignals(False)
        rows: list[list[str]] = []
        if self.keyed:
            for key, item in (value or {}).items():
                rest = [self.columns[1].show(item)] if self.columns[1].name is None else [
                    c.show(item.get(c.name)) for c in self.columns[1:]]
                rows.append([str(key), *rest])
        else:
            rows = [[c.show(item.get(c.name)) for c in self.columns] for item in value or []]
        for cells in rows:
            self.add_row(cells)

    def where(self, sub: Sequence[str | int]) -> str:
        parts: list[str] = []
        for part in sub:
            if isinstance(part, int):
                parts.append(f"row {part + 1}")
            elif part == "[key]":
                parts.append(self.columns[0].title.lower())
            else:
                named = [c.title for c in self.columns if c.name == part]
                parts.append(named[0] if named else str(part))
        return ", ".join(parts)
