"""Notifier: real notices on a real EventBus, through CoreBridge, into tray messages or a window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from core.domain.bus import EventBus
from core.domain.commands import CloseContract, Flatten
from core.engine.notices import (
    AccountStatusChanged,
    EnforcementDone,
    EnforcementFailed,
    EnforcementRecovered,
    HubStatusChanged,
    LockCleared,
    LockSet,
    LossWarning,
    SymbolLockCleared,
    SymbolLockSet,
)
from core.modules.lockouts import Lock, LockKind, SymbolLock
from gui.bridge import CoreBridge
from gui.popups import Notifier
from gui.tray import TrayController

T0 = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)  # 10:00 CDT, a Wednesday
RESET = datetime(2026, 8, 19, 22, 0, tzinfo=UTC)  # 17:00 CDT
ACCOUNT, OTHER = 26282486, 25775680
MNQ = "CON.F.US.MNQ.U26"


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Rig:
    bus: EventBus
    bridge: CoreBridge
    notifier: Notifier
    time: FakeTime
    tray: TrayController
    tray_calls: list[tuple[Any, ...]]

    def publish(self, *notices: Any) -> None:
        for notice in notices:
            self.bus.publish(notice)

    def kinds(self) -> list[str]:
        return [s.kind for s in self.notifier.history]


def _rig(_qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, *, use_tray: bool | None, **kwargs: Any) -> Rig:
    bus = EventBus()
    bridge = CoreBridge(bus)
    tray = TrayController(refresh_ms=60_000)
    tray.show()
    calls: list[tuple[Any, ...]] = []
    # Offscreen, a balloon leaves no trace: record what reached showMessage instead.
    monkeypatch.setattr(tray.tray, "showMessage", lambda *args: calls.append(args))
    fake = FakeTime()
    notifier = Notifier(bridge, tray.tray, monotonic=fake, use_tray=use_tray, alarm_every=30,
                        flap_window=60, tick_ms=60_000, **kwargs)
    rig = Rig(bus, bridge, notifier, fake, tray, calls)
    rig.publish(AccountStatusChanged(ACCOUNT, "protected", "PA-1"))
    return rig


@pytest.fixture
def rig(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    r = _rig(qtbot, monkeypatch, use_tray=True)
    yield r
    r.notifier.close()
    r.bridge.close()
    r.tray.close()


def _hard(until: datetime | None = RESET, rule: str = "RULE-003") -> Lock:
    return Lock(ACCOUNT, rule, LockKind.HARD, "Daily realized loss -$512.00 hit the -$500.00 limit", T0, until)


def test_lock_set_and_lifted(rig: Rig) -> None:
    lock = _hard()
    rig.publish(LockSet(lock), LockCleared(lock, "expired"))
    locked, lifted = rig.notifier.history
    assert locked.kind == "lock" and locked.channel == "tray" and locked.level == "warning"
    assert locked.title == "Locked: Daily loss limit"  # the rule's name, never RULE-003
    assert "PA-1 (26282486): Daily realized loss -$512.00 hit the -$500.00 limit" in locked.body
    assert "until Wed 17:00 CDT" in locked.body  # the trading timezone, not UTC
    assert (lifted.kind, lifted.title) == ("unlock", "Lock lifted: Daily loss limit")
    assert "trading allowed again (its time is up)" in lifted.body
    # The second balloon waits for the first to be read, then goes out on its own.
    assert [c[0] for c in rig.tray_calls] == ["Locked: Daily loss limit"]
    rig.time.t += 5
    rig.notifier.tick()
    assert [c[0] for c in rig.tray_calls] == ["Locked: Daily loss limit",
                                              "Lock lifted: Daily loss limit"]
    assert rig.tray_calls[0][2] == QSystemTrayIcon.MessageIcon.Warning


def test_lock_until_the_gateway_allows_trading(rig: Rig) -> None:
    rig.publish(LockSet(_hard(until=None, rule="RULE-010")))
    assert "until the gateway allows trading again" in rig.notifier.history[-1].body


def test_cooldown_start_and_end(rig: Rig) -> None:
    lock = Lock(ACCOUNT, "RULE-007", LockKind.COOLDOWN, "Trade lost $210", T0, T0 + timedelta(minutes=15))
    rig.publish(LockSet(lock), LockCleared(lock, "expired"))
    start, end = rig.notifier.history
    assert start.title == "15 min cooldown: Cooldown after a loss"  # one duration format
    assert "Trade lost $210" in start.body and "closed until Wed 10:15 CDT" in start.body
    assert (end.kind, end.title) == ("cooldown_end", "Cooldown over: Cooldown after a loss")


def test_symbol_block_and_loss_warning(rig: Rig) -> None:
    symbol = SymbolLock(ACCOUNT, "ES", "RULE-011", "ES is blocked", T0)
    rig.publish(
        SymbolLockSet(symbol),
        SymbolLockCleared(symbol),
        LossWarning(ACCOUNT, date(2026, 8, 19), 0.8, Decimal("-400"), 500.0),
    )
    assert rig.kinds()[-3:] == ["symbol_lock", "symbol_unlock", "loss_warning"]
    warning = rig.notifier.history[-1]
    assert warning.title == "Daily loss at 80 % of the limit"
    assert "-$400.00 realized today; at -$500.00 you are locked out" in warning.body
    assert warning.level == "warning"


def test_enforcement_failure_repeats_until_recovered(rig: Rig) -> None:
    flatten = Flatten(account_id=ACCOUNT, rule_id="RULE-003", reason="loss")
    rig.publish(EnforcementFailed(flatten, "HTTP 503", 5))
    first = rig.notifier.history[-1]
    assert first.kind == "enforcement_failed" and first.level == "critical"
    assert first.title == "NOT PROTECTED: Daily loss limit"
    assert "on the platform now" in first.body and "refused it 5 times (HTTP 503)" in first.body
    assert rig.tray_calls[-1][2] == QSystemTrayIcon.MessageIcon.Critical

    rig.time.t += 10
    rig.publish(EnforcementFailed(flatten, "HTTP 502", 10))  # core's own repeat: no extra popup
    rig.notifier.tick()
    assert rig.kinds().count("enforcement_failed") == 1
    rig.time.t += 20  # 30 s after the first
    rig.notifier.tick()
    assert rig.kinds().count("enforcement_failed") == 2
    assert rig.notifier.history[-1].title == "NOT PROTECTED (still): Daily loss limit"
    assert "(HTTP 502)" in rig.notifier.history[-1].body
    rig.time.t += 30
    rig.notifier.tick()
    assert rig.kinds().count("enforcement_failed") == 3

    rig.publish(EnforcementDone(flatten, 900.0, 12), EnforcementRecovered(flatten, 12))
    assert rig.kinds()[-1] == "enforcement_resolved"
    assert rig.kinds().count("enforcement_resolved") == 1  # Done and Recovered: told once
    assert rig.notifier.active_alarms() == 0
    for _ in range(3):
        rig.time.t += 60
        rig.notifier.tick()
    assert rig.kinds().count("enforcement_failed") == 3


def test_alarms_are_per_command_and_a_flatten_clears_its_account(rig: Rig) -> None:
    close = CloseContract(account_id=ACCOUNT, rule_id="RULE-004", reason="open loss", contract_id=MNQ)
    other = CloseContract(account_id=OTHER, rule_id="RULE-004", reason="open loss", contract_id=MNQ)
    rig.publish(EnforcementFailed(close, "timeout", 5), EnforcementFailed(other, "timeout", 5))
    assert rig.notifier.active_alarms() == 2
    assert rig.notifier.history[-1].title == "NOT PROTECTED: Open loss limit"
    # Same contract, new reason and timestamp: still the same alarm.
    again = CloseContract(account_id=ACCOUNT, rule_id="RULE-004", reason="x", contract_id=MNQ, event_at=5.0)
    rig.publish(EnforcementFailed(again, "timeout", 9))
    assert rig.notifier.active_alarms() == 2
    rig.publish(EnforcementDone(Flatten(account_id=ACCOUNT, rule_id="RULE-003", reason="loss"), 50.0, 1))
    assert rig.notifier.active_alarms() == 1  # the other account still fails
    rig.time.t += 30
    rig.notifier.tick()
    assert rig.notifier.history[-1].account_id == OTHER
    assert rig.notifier.history[-1].title == "NOT PROTECTED (still): Open loss limit"


def _drop(rig: Rig) -> None:
    rig.publish(HubStatusChanged("user", "disconnected"), AccountStatusChanged(ACCOUNT, "reconnecting", "PA-1"))


def _back(rig: Rig) -> None:
    rig.publish(
        HubStatusChanged("user", "connecting"),
        HubStatusChanged("user", "connected"),
        AccountStatusChanged(ACCOUNT, "reconciling", "PA-1"),
        AccountStatusChanged(ACCOUNT, "protected", "PA-1"),
    )


def test_startup_is_not_news_but_a_loss_is(rig: Rig) -> None:
    rig.publish(HubStatusChanged("user", "connecting"), HubStatusChanged("user", "connected"))
    assert rig.kinds() == []
    _drop(rig)
    assert rig.kinds() == ["connection_lost"]
    assert rig.notifier.history[-1].body.startswith("No account updates from the gateway: rules cannot act")
    _back(rig)  # reconciling is still down: restored only once protected
    assert rig.kinds() == ["connection_lost", "connection_restored"]


def test_an_account_that_stops_being_protected_is_a_loss(rig: Rig) -> None:
    rig.publish(AccountStatusChanged(ACCOUNT, "reconciling", "PA-1"))
    assert rig.kinds() == ["connection_lost"]
    assert rig.notifier.history[-1].body.startswith("Not protected: PA-1 (26282486)")
    rig.publish(AccountStatusChanged(ACCOUNT, "protected", "PA-1"))
    assert rig.kinds() == ["connection_lost", "connection_restored"]


def test_flapping_connection_is_rate_limited_and_the_final_state_shown(rig: Rig) -> None:
    rig.publish(HubStatusChanged("user", "connected"))
    for _ in range(5):  # five drops within a few seconds
        _drop(rig)
        rig.time.t += 1
        _back(rig)
        rig.time.t += 1
    assert rig.kinds() == ["connection_lost", "connection_restored"]
    _drop(rig)  # ends down
    rig.time.t += 20
    rig.notifier.tick()
    assert rig.kinds() == ["connection_lost", "connection_restored"]
    rig.time.t += 40  # 60 s after the first "lost"
    rig.notifier.tick()
    assert rig.kinds() == ["connection_lost", "connection_restored", "connection_lost"]
    assert "It dropped 5 times recently" in rig.notifier.history[-1].body
    rig.time.t += 1
    _back(rig)
    assert rig.kinds()[-1] == "connection_restored"


def test_a_flap_that_ends_up_says_nothing_more(rig: Rig) -> None:
    rig.publish(HubStatusChanged("market", "connected"))
    rig.publish(HubStatusChanged("market", "disconnected"))
    rig.publish(HubStatusChanged("market", "connected"))
    rig.time.t += 5
    rig.publish(HubStatusChanged("market", "disconnected"))
    rig.time.t += 5
    rig.publish(HubStatusChanged("market", "connected"))
    rig.time.t += 120
    rig.notifier.tick()
    assert rig.kinds() == ["connection_lost", "connection_restored"]
    assert rig.notifier.history[0].body.startswith("No market data from the gateway")
    rig.publish(HubStatusChanged("market", "stopped"))  # shutting down is not a loss
    assert rig.kinds() == ["connection_lost", "connection_restored"]


def test_no_tray_opens_a_non_modal_window_instead(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not QSystemTrayIcon.isSystemTrayAvailable()  # offscreen
    r = _rig(qtbot, monkeypatch, use_tray=None, message_ms=50, critical_ms=50)
    try:
        assert not r.notifier.uses_tray
        r.publish(LockSet(_hard()))
        window = r.notifier.window
        assert window is not None and window.isVisible()
        assert not window.isModal() and QApplication.activeModalWidget() is None
        assert r.tray_calls == []
        assert r.notifier.history[-1].channel == "window"
        assert [s.title for s in window.messages()] == ["Locked: Daily loss limit"]
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)  # plain news goes away

        r.publish(EnforcementFailed(Flatten(account_id=ACCOUNT, rule_id="RULE-003", reason="x"), "503", 5))
        r.publish(LossWarning(ACCOUNT, date(2026, 8, 19), 0.5, Decimal("-250"), 500.0))
        assert [s.kind for s in window.messages()] == ["loss_warning", "enforcement_failed"]
        qtbot.wait(150)
        assert window.isVisible()  # a critical message stays until dismissed
        window.dismiss()
        assert not window.isVisible() and window.messages() == []
        r.publish(LockCleared(_hard(), "expired"))
        assert window.isVisible() and len(window.messages()) == 1
        window.close()  # the title bar's X: seen, so nothing old comes back
        assert window.messages() == []
    finally:
        r.notifier.close()
        r.bridge.close()
        r.tray.close()


def test_history_is_capped_and_announced(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    r = _rig(qtbot, monkeypatch, use_tray=True, history_limit=3)
    seen: list[Any] = []
    r.notifier.shown.connect(seen.append)
    for i in range(5):
        r.publish(LockSet(_hard(rule=f"RULE-00{i}")))
    assert [s.title for s in r.notifier.history] == [
        "Locked: Max contracts per symbol", "Locked: Daily loss limit", "Locked: Open loss limit"]
    assert len(seen) == 5
    r.notifier.close()
    r.publish(LockSet(_hard()))  # closed: no longer listening
    assert len(seen) == 5
    r.bridge.close()
    r.tray.close()


def test_a_rule_that_failed_is_told_by_name_without_the_exception(rig: Rig) -> None:
    from core.engine.notices import RuleError

    rig.publish(RuleError("RULE-003", ACCOUNT, "ZeroDivisionError('float division by zero')"))
    told = rig.notifier.history[-1]
    assert (told.kind, told.title) == ("rule_error", "Daily loss limit could not judge an update")
    assert "PA-1 (26282486): it took no decision on that update" in told.body
    assert "ZeroDivisionError" not in told.body and "RULE-003" not in told.title + told.body
    shown = len(rig.notifier.history)
    for _ in range(50):  # failing again on every quote: not told again at once
        rig.publish(RuleError("RULE-003", ACCOUNT, "ZeroDivisionError('float division by zero')"))
    assert len(rig.notifier.history) == shown
