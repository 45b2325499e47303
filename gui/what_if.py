"""The "What if…" window: replay past trading through the rules and show what they would have
done, day by day and rule by rule, beside what really happened.

Opened from the tray menu and the dashboard through :class:`WhatIf` (one window per app). The
whole what-if (fetching the history, seconds of replay CPU) runs in a worker process: on a
thread it would share the GIL with the loop that enforces, and measured (bench/replay_bench.py)
that delays the loop by several milliseconds, sometimes over a hundred. The window only awaits
the answer. No nested Qt event loop is started: the file dialogs are opened, not exec'd.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.app.credentials import Credentials, CredentialsError
from core.app.replay_service import (
    DayRange,
    WhatIfError,
    WhatIfSource,
    check_range,
    demo_range,
    run_what_if,
)
from core.config.io import ConfigError, load_config, write_text_atomic
from core.config.models import AppConfig
from core.domain.trading_day import TradingCalendar
from core.domain.words import money
from core.replay.html import render_html
from core.replay.inputs import InputError
from core.replay.report import ReplayReport
from core.replay.run import Candidate
from core.replay.words import local_time, rule_name, signed_money
from gui.what_if_chart import EquityChart

log = logging.getLogger(__name__)

RED, GREEN = "#c62828", "#2e7d32"
YOUR_RULES = "your rules"


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def _cell(text: str, amount: Decimal | None = None, right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if amount is not None or right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if amount is not None and amount != 0:
        item.setForeground(QColor(GREEN if amount > 0 else RED))
    return item


def _fill(table: QTableWidget, headers: list[str], rows: list[list[QTableWidgetItem]]) -> None:
    table.clear()
    table.verticalHeader().setVisible(False)
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, item in enumerate(row):
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


def worker_process() -> Executor:
    """One spawned worker (never forked: a fork of a process running Qt and threads is unsafe).
    It starts on the first replay and is reused by the next ones."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


class WhatIfWindow(QWidget):
    """Non-modal. ``finished`` after each run, whether it produced a report or an error."""

    finished = Signal()

    def __init__(self, source: WhatIfSource, *, executor: Executor | None = None,
                 today: date | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("What if… — Risk Manager")
        self.resize(1100, 720)
        self.source = source
        self._own_executor = executor is None
        self._executor: Executor = executor or worker_process()
        self._task: asyncio.Task[None] | None = None
        self.report: ReplayReport | None = None
        self.compare_path: Path | None = None
        general = source.config.general
        self._zone = ZoneInfo(general.timezone)
        today = today or TradingCalendar(general.reset_time, general.timezone).trading_day(datetime.now(UTC))
        default = demo_range(today) if source.demo else DayRange(today - timedelta(days=29), today)

        intro = QLabel(
            "What would your rules have done to your past trading? The same engine replays your "
            "fills and one-minute prices: a close the rules ask for fills at the next minute's open, "
            "and entries made while a lock would have held are left out." if not source.demo else
            "A generated month of demo trading, replayed through your rules by the same engine.")
        intro.setWordWrap(True)
        self.from_edit = QDateEdit(_qdate(default.first))
        self.to_edit = QDateEdit(_qdate(default.last))
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.slippage_spin = QSpinBox()
        self.slippage_spin.setRange(0, 50)
        self.slippage_spin.setValue(1)
        self.slippage_spin.setSuffix(" tick(s)")
        self.compare_button = QPushButton("Compare with another rule file…")
        self.compare_button.clicked.connect(self._choose_compare)
        self.compare_label = QLabel("")
        self.run_button = QPushButton("Replay")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start)
        self.save_button = QPushButton("Save as HTML…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self._choose_save)
        controls = QHBoxLayout()
        for widget in (QLabel("From"), self.from_edit, QLabel("to"), self.to_edit,
                       QLabel("Slippage"), self.slippage_spin, self.compare_button, self.compare_label):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.run_button)
        controls.addWidget(self.save_button)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)

        self.days_table = QTableWidget()
        self.rules_table = QTableWidget()
        self.events_table = QTableWidget()
        self.chart = EquityChart(zone=general.timezone)
        self.notes_text = QPlainTextEdit()
        self.notes_text.setReadOnly(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.days_table, "Days")
        self.tabs.addTab(self.rules_table, "Rules")
        self.tabs.addTab(self.events_table, "What happened")
        self.tabs.addTab(self.chart, "Equity")
        self.tabs.addTab(self.notes_text, "Assumptions")

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(controls)
        layout.addWidget(self.status_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.tabs, 1)

    # --- running ---------------------------------------------------------------------------

    @property
    def attempt(self) -> asyncio.Task[None] | None:
        """The replay in progress or last run (the app and tests may await it)."""
        return self._task

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def candidates(self) -> list[Candidate]:
        out = [Candidate(YOUR_RULES, self.source.config)]
        if self.compare_path is not None:
            out.append(Candidate(self.compare_path.name, load_config(self.compare_path)))
        return out

    def set_compare(self, path: Path | None) -> None:
        self.compare_path = path
        self.compare_label.setText(f"and {path.name}" if path is not None else "")

    def start(self) -> None:
        if self.busy:
            return
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        self.run_button.setEnabled(False)
        self.status_label.setText("Replaying… fetching the history and running it through the rules.")
        try:
            days = check_range(_day(self.from_edit.date()), _day(self.to_edit.date()))
            report = await run_what_if(self.source, self.candidates(), days,
                                       slippage_ticks=self.slippage_spin.value(), executor=self._executor)
        except (WhatIfError, InputError, ConfigError, CredentialsError, OSError) as exc:
            self.status_label.setText(f"Could not replay: {exc}")
        except asyncio.CancelledError:
            raise
        except Exception:  # the gateway failed in some way: say so, keep the window
            log.exception("the replay failed")
            self.status_label.setText(
                "Could not replay: something unexpected went wrong (the details are in the log). "
                "Try again; your protection is not affected.")
        else:
            self.show_report(report)
            self.status_label.setText(
                f"Replayed {report.trade_count} fills from {report.source}; prices: {report.price_source}.")
        finally:
            self.run_button.setEnabled(True)
            self.finished.emit()

    # --- showing ---------------------------------------------------------------------------

    def show_report(self, report: ReplayReport) -> None:
        self.report = report
        self.save_button.setEnabled(True)
        parts = [f"Actual: {money(report.actual_total)} (worst drawdown {money(report.actual_drawdown)})."]
        for c in report.candidates:
            diff = c.total - report.actual_total
            parts.append(f"With {c.name}: {money(c.total)} ({signed_money(diff)}), "
                         f"{c.breaches} breach(es), {c.prevented} contract(s) prevented, "
                         f"{c.closed} closed.")
        self.summary_label.setText(" ".join(parts))
        self._days(report)
        self._rules(report)
        self._events(report)
        self.chart.set_curves(report.actual_curve, [(c.name, c.curve) for c in report.candidates])
        missing = list(report.missing) + [f"{r.day}: {'; '.join(r.missing)}" for r in report.days if r.missing]
        self.notes_text.setPlainText(
            "Assumptions\n" + "\n".join(f"- {a}" for a in report.assumptions)
            + "\n\nMissing data\n" + ("\n".join(f"- {m}" for m in missing) or "none"))

    def _days(self, report: ReplayReport) -> None:
        headers = ["Trading day", "Fills", "Actual", "Drawdown"]
        for c in report.candidates:
            headers += [f"With {c.name}", "Difference", "Drawdown", "Breaches", "Prevented", "Closed"]
        rows = []
        for row in report.days:
            cells = [_cell(str(row.day)), _cell(str(row.trades), right=True),
                     _cell(money(row.actual.net), row.actual.net), _cell(money(row.actual.drawdown), right=True)]
            for r in row.candidates:
                diff = r.net - row.actual.net
                cells += [_cell(money(r.net), r.net), _cell(signed_money(diff), diff),
                          _cell(money(r.drawdown), right=True), _cell(str(r.breaches), right=True),
                          _cell(str(r.prevented), right=True), _cell(str(r.closed), right=True)]
            if row.missing:
                cells[0].setToolTip("Missing data: " + "; ".join(row.missing))
                cells[0].setText(f"{row.day} *")
            rows.append(cells)
        total = [_cell("Total"), _cell(str(report.trade_count), right=True),
                 _cell(money(report.actual_total), report.actual_total),
                 _cell(money(report.actual_drawdown), right=True)]
        for c in report.candidates:
            diff = c.total - report.actual_total
            total += [_cell(money(c.total), c.total), _cell(signed_money(diff), diff),
                      _cell(money(c.drawdown), right=True), _cell(str(c.breaches), right=True),
                      _cell(str(c.prevented), right=True), _cell(str(c.closed), right=True)]
        _fill(self.days_table, headers, [*rows, total])

    def _rules(self, report: ReplayReport) -> None:
        several = len(report.candidates) > 1
        headers = (["Rules"] if several else []) + [
            "Rule", "Breaches", "Locks", "Entries prevented", "Contracts closed", "Saved (+) / cost (−)"]
        rows = []
        for c in report.candidates:
            for r in c.rules:
                rows.append(([_cell(c.name)] if several else []) + [
                    _cell(r.name), _cell(str(r.breaches), right=True), _cell(str(r.locks), right=True),
                    _cell(str(r.prevented), right=True), _cell(str(r.closed), right=True),
                    _cell(signed_money(r.saved), r.saved)])
            if c.unattributed:
                rows.append(([_cell(c.name)] if several else []) + [
                    _cell("Not attributed to a rule"), *(_cell("") for _ in range(4)),
                    _cell(signed_money(c.unattributed), c.unattributed)])
        _fill(self.rules_table, headers, rows)

    def _events(self, report: ReplayReport) -> None:
        several = len(report.candidates) > 1
        headers = (["Rules"] if several else []) + ["When", "Rule", "What"]
        rows = [
            ([_cell(c.name)] if several else [])
            + [_cell(local_time(e.at, self._zone)), _cell(rule_name(e.rule_id)), _cell(e.text)]
            for c in report.candidates for e in c.events
        ]
        _fill(self.events_table, headers, rows)

    # --- files -----------------------------------------------------------------------------

    def save_report(self, path: Path) -> None:
        if self.report is None:
            return
        try:
            write_text_atomic(path, render_html(self.report))
        except OSError as exc:
            self.status_label.setText(f"Could not save the report to {path}: {exc.strerror or exc}")
        else:
            self.status_label.setText(f"Report saved to {path}")

    def _choose_compare(self) -> None:
        dialog = QFileDialog(self, "Compare with another rule file", "", "Rule files (*.toml)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda name: self.set_compare(Path(name)) if name else None)
        dialog.open()

    def _choose_save(self) -> None:
        dialog = QFileDialog(self, "Save the report", "what-if.html", "HTML (*.html)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(lambda name: self.save_report(Path(name)) if name else None)
        dialog.open()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.busy and self._task is not None:
            self._task.cancel()
        super().closeEvent(event)

    def shut_down(self) -> None:
        """Stop for good (the app is quitting): cancel a replay, let the worker thread go."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._own_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)


class WhatIf:
    """The one "What if…" window of the app, for the tray menu and the dashboard alike.

    ``config`` is called at each opening (the rules in force may have changed since). Give
    ``credentials`` for a real account, or ``demo=True``. Leave ``executor`` out: each window
    then has its own worker process. Never pass the database writer's thread pool (a replay
    would queue the writes behind it, and a thread shares the GIL with the enforcing loop).
    """

    def __init__(self, config: Callable[[], AppConfig], *, demo: bool = False,
                 credentials: Credentials | None = None, executor: Executor | None = None) -> None:
        self._config = config
        self._demo = demo
        self._credentials = credentials
        self._executor = executor
        self.window: WhatIfWindow | None = None

    def open(self) -> WhatIfWindow:
        if self.window is None or (not self.window.isVisible() and not self.window.busy):
            if self.window is not None:
                self.window.shut_down()
                self.window.deleteLater()
            source = WhatIfSource(self._config(), self._credentials, self._demo)
            self.window = WhatIfWindow(source, executor=self._executor)
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()
        return self.window

    def close(self) -> None:
        if self.window is not None:
            self.window.shut_down()
            self.window.hide()
