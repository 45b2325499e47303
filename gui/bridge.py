"""Core's EventBus → Qt signals, always delivered on the bridge's own (GUI) thread.

Core publishes on the asyncio loop's thread, which under qasync is the GUI thread; writer
threads and gateway callbacks are handed to the loop by core. Still, a notice published from
any other thread must not touch widgets there, so every notice goes through ``_relay``: a
signal connected to a slot of this object with an auto connection. Emitted on the bridge's
thread it is delivered at once (order kept, nothing waits on the event loop); emitted on
another thread Qt queues it to the bridge's thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from core.domain.bus import EventBus
from core.engine.notices import (
    AccountStatusChanged,
    BreachDetected,
    DailyReset,
    EnforcementDone,
    EnforcementFailed,
    EnforcementRecovered,
    HubStatusChanged,
    LockCleared,
    LockSet,
    LossWarning,
    RealizedPnlChanged,
    RuleError,
    SymbolLockCleared,
    SymbolLockSet,
)


class CoreBridge(QObject):
    """Re-emits every bus notice as ``notice`` plus one typed signal per family."""

    notice = Signal(object)  # every notice, first
    lockChanged = Signal(object)  # LockSet, LockCleared, SymbolLockSet, SymbolLockCleared
    statusChanged = Signal(object)  # AccountStatusChanged, HubStatusChanged
    pnlChanged = Signal(object)  # RealizedPnlChanged
    warning = Signal(object)  # LossWarning
    breach = Signal(object)  # BreachDetected
    enforcementFailed = Signal(object)  # EnforcementFailed
    enforcementResolved = Signal(object)  # EnforcementDone, EnforcementRecovered
    dailyReset = Signal(object)  # DailyReset
    ruleError = Signal(object)  # RuleError

    # Internal hop from the publishing thread to this object's thread.
    _relay = Signal(object)

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = bus
        self._closed = False
        self._relay.connect(self._deliver, Qt.ConnectionType.AutoConnection)
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._on_bus)
        # If Qt deletes us first (a parent going away), stop listening: the bus would otherwise
        # keep calling into a dead C++ object. A plain function, not a bound method of self.
        unsubscribe = self._unsubscribe
        self.destroyed.connect(lambda *_: unsubscribe())

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop listening; notices already queued from other threads are dropped too."""
        if self._closed:
            return
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_bus(self, notice: Any) -> None:
        if self._closed:
            return
        # During interpreter or app teardown the C++ side may already be gone.
        with contextlib.suppress(RuntimeError):
            self._relay.emit(notice)

    @Slot(object)
    def _deliver(self, notice: Any) -> None:
        if self._closed:
            return
        self.notice.emit(notice)
        typed = self._typed_signal(notice)
        if typed is not None:
            typed.emit(notice)

    def _typed_signal(self, notice: Any) -> Any:
        if isinstance(notice, LockSet | LockCleared | SymbolLockSet | SymbolLockCleared):
            return self.lockChanged
        if isinstance(notice, AccountStatusChanged | HubStatusChanged):
            return self.statusChanged
        if isinstance(notice, RealizedPnlChanged):
            return self.pnlChanged
        if isinstance(notice, LossWarning):
            return self.warning
        if isinstance(notice, BreachDetected):
            return self.breach
        if isinstance(notice, EnforcementFailed):
            return self.enforcementFailed
        if isinstance(notice, EnforcementDone | EnforcementRecovered):
            return self.enforcementResolved
        if isinstance(notice, DailyReset):
            return self.dailyReset
        if isinstance(notice, RuleError):
            return self.ruleError
        return None
