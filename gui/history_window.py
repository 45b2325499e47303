"""The history window: day by day, every breach, lock, warning and enforcement action, with CSV
export.

The rows are read from the state and history files off the event loop (a month of history
must not delay a close), then shown. Nothing here is modal: the file chooser for the export is
opened with ``open()`` and answers through a signal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.app.history_reader import HistoryRow, by_day, day_summary, export_csv
from gui.pnl_chart import AMBER, GREEN, RED
from gui.tables import Cell, DataTable, Row, format_price

log = logging.getLogger(__name__)

HEADERS = ["Time", "Account", "What", "Rule", "Contract", "Size", "Price", "Outcome", "Latency",
           "Details"]
_OUTCOME_COLOUR = {"Done": GREEN, "Retrying": AMBER, "Failed": RED}
ALL_DAYS = "All days"
MAX_COLUMN = 150

Loader = Callable[[], list[HistoryRow]]


def history_row(row: HistoryRow, zone: ZoneInfo, names: dict[int, str]) -> Row:
    local = row.at.astimezone(zone)
    cells: list[Cell] = [
        (f"{local:%H:%M:%S}", None),
        (names.get(row.account_id, str(row.account_id)), None),
        (row.what, RED if row.what in ("Breach", "Locked") else None),
        (row.rule, None),
        (row.contract, None),
        ("" if row.size is None else str(row.size), None),
        ("" if row.price is None else format_price(row.price), None),
        (row.outcome, _OUTCOME_COLOUR.get(row.outcome)),
        ("" if row.latency_ms is None else f"{row.latency_ms:,.0f} ms", None),
        (row.details, None),
    ]
    return (row.at, row.account_id, row.what, row.details), cells


class HistoryWindow(QWidget):
    def __init__(self, loader: Loader, zone: ZoneInfo, names: Callable[[], dict[int, str]]) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setWindowTitle("History — Risk Manager")
        self.setObjectName("history")
        self._loader, self._zone, self._names = loader, zone, names
        self._rows: list[HistoryRow] = []
        self._days: dict[date, list[HistoryRow]] = {}
        self._loading: asyncio.Future[list[HistoryRow]] | None = None
        self.days = QListWidget()
        self.days.setMinimumWidth(220)
        self.days.setWordWrap(True)
        self.days.currentRowChanged.connect(self._show_day)
        self.table = DataTable(HEADERS, numeric={5, 6, 8})
        self.status = QLabel("Reading the history…")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.reload)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self.choose_export)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.export_button)
        split = QSplitter()
        split.addWidget(self.days)
        split.addWidget(self.table)
        split.setStretchFactor(1, 1)
        split.setSizes([240, 860])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        screen = QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else None
        self.resize(min(1280, int(area.width() * 0.92)) if area else 1100,
                    min(640, int(area.height() * 0.85)) if area else 600)
        self._dialog: QFileDialog | None = None

    # --- loading --------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read again, on a worker thread when the app's loop runs (else at once)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.set_rows(self._loader())
            return
        if self._loading is not None and not self._loading.done():
            return
        self.status.setText("Reading the history…")
        self._loading = loop.run_in_executor(None, self._loader)
        self._loading.add_done_callback(self._loaded)

    def _loaded(self, future: asyncio.Future[list[HistoryRow]]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            log.error("could not read the history: %s", error)
            self.status.setText(f"Could not read the history: {error}")
            return
        self.set_rows(future.result())

    def set_rows(self, rows: list[HistoryRow]) -> None:
        self._rows = rows
        self._days = by_day(rows)
        current = self.days.currentRow()
        self.days.blockSignals(True)
        self.days.clear()
        self.days.addItem(QListWidgetItem(f"{ALL_DAYS}\n{day_summary(rows)}"))
        for day, day_rows in self._days.items():
            self.days.addItem(QListWidgetItem(f"{day:%a %d %b %Y}\n{day_summary(day_rows)}"))
        self.days.blockSignals(False)
        self.days.setCurrentRow(current if 0 <= current < self.days.count() else
                                (1 if self._days else 0))
        self._show_day(self.days.currentRow())
        count = len(rows)
        self.status.setText(
            f"{count} entr{'ies' if count != 1 else 'y'} over {len(self._days)} trading "
            f"day{'s' if len(self._days) != 1 else ''}" if rows else
            "Nothing yet: breaches, locks and enforcement appear here, kept across restarts.")

    def shown_rows(self) -> list[HistoryRow]:
        index = self.days.currentRow()
        if index <= 0:
            return list(self._rows)
        return list(self._days.values())[index - 1]

    def _show_day(self, _index: int) -> None:
        names = self._names()
        self.table.fill([history_row(r, self._zone, names) for r in self.shown_rows()])
        for column in range(self.table.columnCount() - 1):
            # A long account name or reason must not push the details out of sight.
            if self.table.columnWidth(column) > MAX_COLUMN:
                self.table.setColumnWidth(column, MAX_COLUMN)

    # --- export ---------------------------------------------------------------------------------

    def choose_export(self) -> None:
        dialog = QFileDialog(self, "Export the history as CSV")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("CSV files (*.csv)")
        dialog.setDefaultSuffix("csv")
        dialog.selectFile("risk-manager-history.csv")
        dialog.fileSelected.connect(lambda name: self.export(Path(name)))
        self._dialog = dialog
        dialog.open()  # not exec(): no nested event loop

    def export(self, path: Path) -> int:
        try:
            count = export_csv(self.shown_rows(), path, self._zone)
        except OSError as exc:
            self.status.setText(f"Could not write {path}: {exc.strerror}")
            return 0
        self.status.setText(f"Exported {count} rows to {path}")
        return count

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        if not event.spontaneous():  # opened (not un-minimised): read what is new
            self.reload()
        super().showEvent(event)
