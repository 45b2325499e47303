"""Notices are queued and grouped so none is lost; enforcement is announced in words; a failure
tells the trader what to do by hand on the platform."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from core.app.enforcement_watch import EnforcementWatch, todo_words
from core.domain.bus import EventBus
from core.domain.commands import CloseContract, PartialClose
from core.engine.notices import (
    AccountStatusChanged,
    EnforcementDone,
    EnforcementFailed,
    LockSet,
    LossWarning,
)
from core.modules.lockouts import Lock, LockKind
from gui.bridge import CoreBridge
from gui.popups import Notifier
from gui.tray import TrayController
from tests.builders import ACCOUNT, MNQ, config, make_engine, position

T0 = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Rig:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> None:
        self.bus = EventBus()
        self.bridge = CoreBridge(self.bus)
        self.tray = TrayController(refresh_ms=60_000)
        self.tray.show()
        self.balloons: list[tuple[Any, ...]] = []
        monkeypatch.setattr(self.tray.tray, "showMessage", lambda *a: self.balloons.append(a))
        self.time = FakeTime()
        self.notifier = Notifier(self.bridge, self.tray.tray, monotonic=self.time, use_tray=True,
                                 tick_ms=60_000, gap=4.0, action_delay=1.5, **kwargs)
        self.bus.publish(AccountStatusChanged(ACCOUNT, "protected", "PA-1"))

    def close(self) -> None:
        self.notifier.close()
        self.bridge.close()
        self.tray.close()

    def titles(self) -> list[str]:
        return [b[0] for b in self.balloons]


@pytest.fixture
def rig(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    r = Rig(monkeypatch)
    yield r
    r.close()


def _cooldown(minutes: int = 30) -> Lock:
    return Lock(ACCOUNT, "RULE-007", LockKind.COOLDOWN, "a trade lost -$304.66", T0,
                T0 + timedelta(minutes=minutes))


def test_a_warning_then_a_cooldown_4_ms_later_are_both_shown(rig: Rig) -> None:
    rig.bus.publish(LossWarning(ACCOUNT, date(2026, 8, 19), 0.8, Decimal("-400"), 500.0))
    rig.time.t += 0.004
    rig.bus.publish(LockSet(_cooldown()))
    # The first balloon is on screen; the second waits instead of replacing it unread.
    assert rig.titles() == ["Daily loss at 80 % of the limit"]
    rig.time.t += 2
    rig.notifier.tick()
    assert len(rig.balloons) == 1
    rig.time.t += 2.5
    rig.notifier.tick()
    assert rig.titles() == ["Daily loss at 80 % of the limit",
                            "30 min cooldown: Cooldown after a loss"]
    assert [s.kind for s in rig.notifier.history] == ["loss_warning", "cooldown"]


def test_several_waiting_notices_go_out_together_in_one_balloon(rig: Rig) -> None:
    rig.bus.publish(LossWarning(ACCOUNT, date(2026, 8, 19), 0.5, Decimal("-250"), 500.0))
    for minutes in (5, 15, 30):
        rig.time.t += 0.1
        rig.bus.publish(LockSet(_cooldown(minutes)))
    rig.time.t += 5
    rig.notifier.tick()
    assert len(rig.balloons) == 2
    title, body = rig.balloons[1][0], rig.balloons[1][1]
    assert title == "5 min cooldown: Cooldown after a loss (+2 more)"
    assert "15 min cooldown" in body and "30 min cooldown" in body
    assert len(rig.notifier.history) == 4  # every one of them is kept


def test_a_critical_notice_does_not_wait_behind_a_routine_one(rig: Rig) -> None:
    rig.bus.publish(LockSet(_cooldown()))
    close = CloseContract(account_id=ACCOUNT, rule_id="RULE-004", reason="open loss",
                          contract_id=MNQ)
    rig.time.t += 0.5
    rig.bus.publish(EnforcementFailed(close, "HTTP 503 Service Unavailable", 5))
    assert len(rig.balloons) == 2
    title, body = rig.balloons[1][0], rig.balloons[1][1]
    assert title.startswith("NOT PROTECTED: Open loss limit")
    assert "30 min cooldown" in body  # the balloon it replaced early is repeated inside it


def test_each_enforcement_is_announced_grouped_per_account(rig: Rig) -> None:
    engine, clock, port = make_engine(config({"max_contracts": {"limit": 5}}))
    watch = EnforcementWatch(engine.bus, lambda: engine, clock,
                             on_finished=lambda acct, view: rig.notifier.announce_action(view, acct))
    try:
        engine.handle(position(MNQ, 7, 20000.0))  # RULE-001 reduces by 2
        [command] = port.commands
        assert isinstance(command, PartialClose)
        engine.bus.publish(EnforcementDone(command, 12.0, 1))
        rig.notifier.tick()
        assert [s.kind for s in rig.notifier.history] == []  # grouped for a moment first
        rig.time.t += 2
        rig.notifier.tick()
        shown = rig.notifier.history[-1]
        assert shown.kind == "enforcement" and shown.title == "Enforced: Max contracts"
        assert "Reduced MNQU6 long 7 by 2" in shown.body
        [row] = watch.recent(ACCOUNT)
        assert (row.outcome, row.size, row.latency_ms) == ("done", 2, 12.0)
    finally:
        watch.close()


def test_a_failing_close_tells_what_to_close_by_hand(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _, _ = make_engine(config({"daily_unrealized_loss": {"limit": 300}}))
    engine.handle(position(MNQ, 7, 20000.0))
    r = Rig(monkeypatch, todo=lambda command: todo_words(engine, command))
    try:
        close = CloseContract(account_id=ACCOUNT, rule_id="RULE-004", reason="open loss",
                              contract_id=MNQ)
        r.bus.publish(EnforcementFailed(
            close, "close CON.F.US.MNQ.U26: AmbiguousResult: outcome unknown: HTTP 503 "
                   "Service Unavailable", 5))
        shown = r.notifier.history[-1]
        assert shown.level == "critical"
        assert "PA-1 (26282486): close MNQU6 long 7 on the platform now" in shown.body
        assert "refused it 5 times (HTTP 503 Service Unavailable)" in shown.body
    finally:
        r.close()
