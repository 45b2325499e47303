"""The service protecting the demo account end to end: status, RULE-001, RULE-003 and its lock."""

from __future__ import annotations

from core.app.notice_log import NoticeLog
from core.domain.bus import EventBus
from core.domain.commands import CancelOrder
from core.engine.notices import (
    AccountStatusChanged,
    BreachDetected,
    EnforcementDone,
    EnforcementIssued,
    HubStatusChanged,
    LockSet,
)
from core.modules.lockouts import LockKind
from tests.integration.conftest import StartService
from tests.integration.support import (
    ACCT,
    BUY,
    MES,
    MNQ,
    SELL,
    Harness,
    until,
)


async def test_the_account_becomes_protected(harness: Harness) -> None:
    assert harness.service.status == {ACCT: "protected"}
    assert harness.service.protected_accounts() == [ACCT]
    # starting → reconciling → protected, each announced once, after both hubs came up.
    assert harness.statuses() == ["starting", "reconciling", "protected"]
    protected = harness.of(AccountStatusChanged)[-1]
    assert protected.name == "PRAC-V2-DEMO-13370001"
    hubs = {(n.hub, n.state) for n in harness.of(HubStatusChanged)}
    assert {("user", "connected"), ("market", "connected")} <= hubs
    assert harness.subscribed()
    # The line headless mode prints for it names the account and says "protected".
    line = NoticeLog(EventBus()).describe(protected)
    assert line is not None and "protected" in line and str(ACCT) in line


async def test_a_position_over_max_contracts_is_reduced_to_the_limit(harness: Harness) -> None:
    harness.market(MNQ, BUY, 4)
    await until(lambda: harness.net(MNQ) == 2, "MNQ reduced from 4 to 2")
    done = await until(lambda: harness.of(EnforcementDone), "the enforcement to be confirmed")
    assert done[0].command.rule_id == "RULE-001"
    assert [b.rule_id for b in harness.of(BreachDetected)] == ["RULE-001"]
    # The app never adds exposure: only the reducing sell went to the exchange.
    sells = [o for o in harness.sim.exchange.orders(ACCT) if o.side == SELL]
    assert [(o.size, o.status) for o in sells] == [(2, 2)]
    assert harness.net(MNQ) == 2 and harness.positions() == {MNQ: 2}
    # Short side too: the limit is on the absolute size.
    harness.market(MNQ, SELL, 6)  # net −4
    await until(lambda: harness.net(MNQ) == -2, "MNQ short reduced from 4 to 2")


async def reach_daily_loss_lock(h: Harness) -> LockSet:
    """MNQ 2 long, MES 1 long, a working MES limit; then one MNQ lot closes $600 down."""
    h.market(MES, BUY, 1)
    h.market(MNQ, BUY, 1)
    working = h.limit(MES, BUY, 1, h.price(MES) - 50)
    await until(lambda: len(h.service.engine.mirror.account(ACCT).positions) == 2,
                "the service to see both positions")
    await h.realize_loss(300)  # 300 MNQ points on one lot: −$600 and fees, over the $500 limit
    lock_set = await until(lambda: h.of(LockSet), "the RULE-003 lock")
    await until(lambda: not h.positions(), "every position closed")
    await until(lambda: working not in h.working_orders(), "the working MES limit cancelled")
    return lock_set[0]


async def test_a_daily_loss_flattens_cancels_and_hard_locks(start_service: StartService) -> None:
    h = await start_service(daily_realized_loss={"limit": 500})
    durable_when_told: list[bool] = []
    # Read the file the moment the lock is announced: it must already be there.
    h.service.bus.subscribe(
        lambda n: durable_when_told.append(any(r["rule_id"] == n.lock.rule_id for r in h.lock_rows())),
        LockSet,
    )
    lock = (await reach_daily_loss_lock(h)).lock
    assert (lock.account_id, lock.rule_id, lock.kind) == (ACCT, "RULE-003", LockKind.HARD)
    assert lock.until is not None  # until the next reset
    assert durable_when_told == [True]
    assert h.positions() == {} and h.working_orders() == []
    # The exchange's own books agree the day is over the limit.
    realized = sum((t.profit_and_loss or 0.0) - t.fees for t in h.sim.exchange.trades(ACCT))
    assert realized < -500
    rows = h.lock_rows()
    assert [(r["account_id"], r["rule_id"], r["kind"]) for r in rows] == [
        (ACCT, "RULE-003", LockKind.HARD.value)
    ]
    assert rows[0]["locked_until"] is not None
    assert any(b.rule_id == "RULE-003" for b in h.of(BreachDetected))


async def test_a_position_opened_during_the_lock_is_closed(start_service: StartService) -> None:
    h = await start_service(daily_realized_loss={"limit": 500})
    await reach_daily_loss_lock(h)
    closes_before = len(h.of(EnforcementDone))
    # The platform still lets the trader in (canTrade stays true): the gate must undo it.
    h.market(MES, BUY, 2)
    resting = h.limit(MNQ, BUY, 1, h.price(MNQ) - 100)
    await until(lambda: h.net(MES) == 0, "the MES position opened under the lock to be closed")
    await until(lambda: resting not in h.working_orders(), "the order placed under the lock cancelled")
    await until(lambda: len(h.of(EnforcementDone)) > closes_before, "the gate's closes confirmed")
    assert h.positions() == {}
    assert len(h.of(LockSet)) == 1  # the existing lock did the work; no second lock



async def test_the_gate_never_cancels_the_apps_own_closes(start_service: StartService) -> None:
    h = await start_service(daily_realized_loss={"limit": 500})
    await reach_daily_loss_lock(h)
    h.market(MES, BUY, 2)
    await until(lambda: h.net(MES) == 0, "the MES position opened under the lock to be closed")
    await until(lambda: any("opened during a lock" in d.command.reason for d in h.of(EnforcementDone)),
                "the gate's close to be confirmed")
    cancels = [n.command for n in h.of(EnforcementIssued) if isinstance(n.command, CancelOrder)]
    assert cancels, "the working MES limit at least was cancelled"
    not_the_traders = [c.order_id for c in cancels if c.order_id not in h.placed]
    assert not_the_traders == [], "cancelled the app's own closing orders"
