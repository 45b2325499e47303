"""CoreBridge: core's EventBus notices as Qt signals, on the GUI thread."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from core.domain.bus import EventBus
from core.domain.commands import Flatten
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
from core.modules.lockouts import Lock, LockKind, SymbolLock
from gui.bridge import CoreBridge

T0 = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)
ACCOUNT = 26282486


def _every_notice() -> list[Any]:
    lock = Lock(ACCOUNT, "RULE-003", LockKind.HARD, "loss", T0, T0 + timedelta(hours=2))
    symbol = SymbolLock(ACCOUNT, "ES", "RULE-011", "blocked", T0)
    flatten = Flatten(account_id=ACCOUNT, rule_id="RULE-003", reason="loss")
    return [
        LockSet(lock),
        LockCleared(lock, "expired"),
        SymbolLockSet(symbol),
        SymbolLockCleared(symbol),
        RealizedPnlChanged(ACCOUNT, date(2026, 8, 19), Decimal("-120.50"), 3),
        LossWarning(ACCOUNT, date(2026, 8, 19), 0.8, Decimal("-400"), 500.0),
        BreachDetected(ACCOUNT, "RULE-003", "loss", T0),
        EnforcementFailed(flatten, "HTTP 500", 5),
        EnforcementRecovered(flatten, 6),
        EnforcementDone(flatten, 12.0, 6),
        DailyReset(ACCOUNT, date(2026, 8, 20)),
        AccountStatusChanged(ACCOUNT, "protected", "PA-1"),
        HubStatusChanged("user", "connected"),
        RuleError("RULE-001", ACCOUNT, "boom"),
    ]


def _record(signal: Any) -> list[Any]:
    seen: list[Any] = []
    signal.connect(seen.append)
    return seen


def test_every_notice_is_re_emitted_with_its_typed_signal(qtbot: QtBot) -> None:
    bus = EventBus()
    bridge = CoreBridge(bus)
    everything = _record(bridge.notice)
    typed = {name: _record(getattr(bridge, name)) for name in (
        "lockChanged", "statusChanged", "pnlChanged", "warning", "breach", "enforcementFailed",
        "enforcementResolved", "dailyReset", "ruleError")}
    notices = _every_notice()
    for notice in notices:
        bus.publish(notice)
    # Same thread: delivered synchronously, in order.
    assert everything == notices
    assert [type(n) for n in typed["lockChanged"]] == [LockSet, LockCleared, SymbolLockSet, SymbolLockCleared]
    assert [type(n) for n in typed["statusChanged"]] == [AccountStatusChanged, HubStatusChanged]
    assert [type(n) for n in typed["pnlChanged"]] == [RealizedPnlChanged]
    assert [type(n) for n in typed["warning"]] == [LossWarning]
    assert [type(n) for n in typed["breach"]] == [BreachDetected]
    assert [type(n) for n in typed["enforcementFailed"]] == [EnforcementFailed]
    assert [type(n) for n in typed["enforcementResolved"]] == [EnforcementRecovered, EnforcementDone]
    assert [type(n) for n in typed["dailyReset"]] == [DailyReset]
    assert [type(n) for n in typed["ruleError"]] == [RuleError]
    bridge.close()


def test_a_notice_from_another_thread_arrives_on_the_gui_thread(qtbot: QtBot) -> None:
    bus = EventBus()
    bridge = CoreBridge(bus)
    gui_thread = threading.get_ident()
    arrived: list[tuple[Any, int]] = []
    bridge.notice.connect(lambda n: arrived.append((n, threading.get_ident())))
    notices = [HubStatusChanged("user", state) for state in ("disconnected", "connecting", "connected")]

    def publish_all() -> None:
        for notice in notices:
            bus.publish(notice)

    worker = threading.Thread(target=publish_all)
    worker.start()
    worker.join(5)
    qtbot.waitUntil(lambda: len(arrived) == len(notices), timeout=5000)
    assert [n for n, _ in arrived] == notices  # queued, still in order
    assert {thread for _, thread in arrived} == {gui_thread}
    bridge.close()


def test_close_stops_listening_and_drops_what_was_queued(qtbot: QtBot) -> None:
    bus = EventBus()
    bridge = CoreBridge(bus)
    arrived = _record(bridge.notice)
    worker = threading.Thread(target=bus.publish, args=(HubStatusChanged("user", "connected"),))
    worker.start()
    worker.join(5)
    bridge.close()  # before the queued delivery runs
    bridge.close()  # idempotent
    bus.publish(HubStatusChanged("user", "disconnected"))
    qtbot.wait(20)
    assert arrived == []
    assert bridge.closed


def test_deleting_the_bridge_unsubscribes_from_the_bus(qtbot: QtBot) -> None:
    bus = EventBus()
    parent = QObject()
    CoreBridge(bus, parent)
    assert len(bus._subscribers) == 1
    parent.deleteLater()
    qtbot.waitUntil(lambda: not bus._subscribers, timeout=2000)
    bus.publish(HubStatusChanged("user", "connected"))  # must not reach a dead object
