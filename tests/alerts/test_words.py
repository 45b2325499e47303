"""What each notice says, to whom, and how often: the trader's words, never a rule id."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from core.app.alerts.dispatcher import REMIND_FAILING_EVERY, AlertDispatcher
from core.app.alerts.words import Alert, Priority
from core.app.day_summary import DaySummary, LockCount, RuleCount
from core.app.words import rule_name
from core.domain.bus import EventBus
from core.domain.commands import CancelOrder, CloseContract, Flatten, PartialClose
from core.domain.words import TABLE_RULES
from core.engine.notices import (
    AccountStatusChanged,
    BreachDetected,
    EnforcementFailed,
    EnforcementRecovered,
    LockCleared,
    LockSet,
    LossWarning,
    RealizedPnlChanged,
    SymbolLockCleared,
    SymbolLockSet,
)
from core.engine.rules import ALL_RULES
from core.modules.lockouts import SymbolLock
from tests.alerts.support import (
    ACCOUNT,
    T0,
    AlertServer,
    FakeTime,
    cooldown,
    hard_lock,
    make_dispatcher,
)

MNQ = "CON.F.US.MNQ.U26"
CLOSE = CloseContract(account_id=ACCOUNT, rule_id="RULE-004", reason="open loss", contract_id=MNQ)


def _queued(dispatcher: AlertDispatcher, service: str) -> list[Alert]:
    queue = dispatcher.channels[service].queue
    items: list[Alert] = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


_attached: list[AlertDispatcher] = []


@pytest.fixture(autouse=True)
def _detach_all() -> Iterator[None]:
    yield
    while _attached:
        _attached.pop().detach()


def _dispatcher(events: list[str] | None = None, **kw: object) -> tuple[EventBus, AlertDispatcher, FakeTime]:
    """Attached to a bus, its workers never started: what each notice queues is read back."""
    bus, fake = EventBus(), FakeTime()
    dispatcher = make_dispatcher(AlertServer(), ["webhook"], bus=bus, fake=fake, events=events,
                                 contract_name=lambda cid: "MNQU6" if cid == MNQ else cid, **kw)  # type: ignore[arg-type]
    dispatcher.attach()
    _attached.append(dispatcher)
    return bus, dispatcher, fake


SUMMARY = DaySummary(
    ACCOUNT, T0.date(), Decimal("-320.50"), Decimal("-300"), Decimal("20.50"), 12, 5, 2, 3,
    (RuleCount("RULE-007", "Cooldown after a loss", 2),),
    (LockCount("RULE-007", "Cooldown after a loss", "cooldown", 2),),
)

NOTICES = [
    LockSet(hard_lock()),
    LockSet(cooldown()),
    LockSet(hard_lock("RULE-010", hours=None, reason="the gateway reports this account can no longer trade")),
    LockCleared(hard_lock(), "expired"),
    LockCleared(cooldown(), "expired"),
    SymbolLockSet(SymbolLock(ACCOUNT, "MNQ", "RULE-011", "MNQ is blocked", T0)),
    SymbolLockCleared(SymbolLock(ACCOUNT, "MNQ", "RULE-011", "MNQ is blocked", T0)),
    EnforcementFailed(CLOSE, "HTTP 500", 5),
    EnforcementRecovered(CLOSE, 6),
    LossWarning(ACCOUNT, T0.date(), 0.8, Decimal("-400"), 500.0),
    BreachDetected(ACCOUNT, "RULE-004", "MNQU6 open loss -$310.00 reached the limit -$300.00", T0),
    SUMMARY,
]


def test_every_alert_speaks_in_rule_names_never_ids() -> None:
    bus, dispatcher, _ = _dispatcher(events=["lock_set", "lock_lifted", "enforcement_failing",
                                             "enforcement_recovered", "warning", "day_summary",
                                             "breach"])
    for notice in NOTICES:
        bus.publish(notice)
    alerts = _queued(dispatcher, "webhook")
    assert len(alerts) == len(NOTICES)
    for alert in alerts:
        assert "RULE-" not in alert.title + alert.text, alert
        assert "Error" not in alert.text and "Traceback" not in alert.text
    words = " ".join(a.title + " " + a.text for a in alerts)
    for name in ("Daily loss limit", "Cooldown after a loss", "Lost trading permission",
                 "Blocked symbols", "Open loss limit"):
        assert name in words


def test_a_lock_says_until_when_in_the_trading_timezone() -> None:
    bus, dispatcher, _ = _dispatcher()
    bus.publish(LockSet(hard_lock(hours=7)))  # 15:00 UTC + 7 h = 17:00 CDT
    bus.publish(LockSet(cooldown(seconds=1800)))
    hard, cool = _queued(dispatcher, "webhook")
    assert hard.title == f"Account {ACCOUNT} locked: Daily loss limit"
    assert "locked until Wed 17:00 CDT" in hard.text
    assert hard.priority is Priority.HIGH
    assert cool.title == f"Account {ACCOUNT}: 30-minute cooldown (Cooldown after a loss)"
    assert "No new positions until 10:30 CDT" in cool.text


def test_the_account_is_named_once_the_gateway_gave_its_name() -> None:
    bus, dispatcher, _ = _dispatcher()
    bus.publish(AccountStatusChanged(ACCOUNT, "protected", "50KTC-V2-1234"))
    bus.publish(LockSet(hard_lock()))
    [alert] = _queued(dispatcher, "webhook")
    assert alert.title.startswith(f"50KTC-V2-1234 ({ACCOUNT}) locked")
    assert alert.account_name == "50KTC-V2-1234"


def test_a_lifted_lock_says_whether_another_one_still_holds() -> None:
    still = [hard_lock()]
    bus, dispatcher, _ = _dispatcher(locks_in_force=lambda account_id: still)
    bus.publish(LockCleared(cooldown(), "expired"))
    still.clear()
    bus.publish(LockCleared(hard_lock(), "can trade again"))
    first, second = _queued(dispatcher, "webhook")
    assert "Still locked: Daily loss limit until Wed 17:00 CDT" in first.text
    assert "Trading allowed again" not in first.text
    assert "the gateway allows trading again" in second.text
    assert second.text.endswith("Trading allowed again.")


def test_only_the_events_a_service_asked_for_reach_it() -> None:
    bus, dispatcher, _ = _dispatcher(events=["warning"])
    for notice in NOTICES:
        bus.publish(notice)
    assert [a.event for a in _queued(dispatcher, "webhook")] == ["warning"]


def test_breaches_are_off_by_default() -> None:
    bus, dispatcher, _ = _dispatcher()
    bus.publish(BreachDetected(ACCOUNT, "RULE-004", "open loss", T0))
    bus.publish(RealizedPnlChanged(ACCOUNT, T0.date(), Decimal(-10), 1))  # never an alert
    assert _queued(dispatcher, "webhook") == []


@pytest.mark.parametrize(
    ("command", "phrase"),
    [
        (CLOSE, "cannot close the MNQU6 position"),
        (PartialClose(account_id=ACCOUNT, rule_id="RULE-001", reason="r", contract_id=MNQ, size=2),
         "cannot close 2 contract(s) of MNQU6"),
        (CancelOrder(account_id=ACCOUNT, rule_id="RULE-011", reason="r", order_id=77, contract_id=MNQ),
         "cannot cancel order 77 in MNQU6"),
        (Flatten(account_id=ACCOUNT, rule_id="RULE-003", reason="r"),
         "cannot close every position and cancel every order"),
    ],
)
def test_failing_enforcement_is_urgent_and_says_what_could_not_be_done(
    command: CloseContract, phrase: str
) -> None:
    bus, dispatcher, _ = _dispatcher()
    bus.publish(EnforcementFailed(command, "HTTP 503", 3))
    [alert] = _queued(dispatcher, "webhook")
    assert alert.priority is Priority.URGENT
    assert phrase in alert.title
    assert "check your positions on the trading platform now" in alert.text


def test_failing_enforcement_is_told_once_then_reminded_then_recovered() -> None:
    bus, dispatcher, fake = _dispatcher()
    for attempts in (3, 4, 5):  # the executor repeats the notice on every failed retry
        bus.publish(EnforcementFailed(CLOSE, "HTTP 500", attempts))
    assert [a.event for a in _queued(dispatcher, "webhook")] == ["enforcement_failing"]
    fake.now += REMIND_FAILING_EVERY
    bus.publish(EnforcementFailed(CLOSE, "HTTP 500", 40))
    assert [a.event for a in _queued(dispatcher, "webhook")] == ["enforcement_failing"]
    bus.publish(EnforcementRecovered(CLOSE, 41))
    [recovered] = _queued(dispatcher, "webhook")
    assert recovered.event == "enforcement_recovered"
    assert "managed to close the MNQU6 position after 41 attempts" in recovered.text
    bus.publish(EnforcementFailed(CLOSE, "HTTP 500", 3))  # a new failure after recovering: told
    assert [a.event for a in _queued(dispatcher, "webhook")] == ["enforcement_failing"]


def test_a_recovery_nobody_heard_failing_about_is_not_news() -> None:
    bus, dispatcher, _ = _dispatcher()
    bus.publish(EnforcementRecovered(CLOSE, 2))
    assert _queued(dispatcher, "webhook") == []


def test_the_day_summary_alert_and_quiet_days() -> None:
    bus, dispatcher, _ = _dispatcher()
    quiet = DaySummary(ACCOUNT, T0.date() + timedelta(days=3), Decimal(0), Decimal(0), Decimal(0),
                       0, 0, 0, 0, (), ())
    bus.publish(SUMMARY)
    bus.publish(quiet)
    [alert] = _queued(dispatcher, "webhook")
    assert alert.title == f"Account {ACCOUNT}: Wed 19 Aug summary, net -$320.50"
    assert alert.text.splitlines() == [
        "Net P&L -$320.50 (gross -$300.00, fees $20.50)",
        "Trades: 5 closed (2 won, 3 lost), 12 fills",
        "Breaches: Cooldown after a loss ×2",
        "Locks: Cooldown after a loss (cooldown) ×2",
    ]
    assert alert.data["net"] == "-320.50" and alert.data["exits"] == 5

    bus2, chatty, _ = _dispatcher(top={"summary_on_quiet_days": True})
    bus2.publish(quiet)
    [quiet_alert] = _queued(chatty, "webhook")
    assert "Trades: none" in quiet_alert.text


def test_rule_names_cover_every_rule_and_unknown_ids_do_not_leak() -> None:
    assert set(TABLE_RULES.values()) == {rule.rule_id for rule in ALL_RULES}
    for rule in ALL_RULES:
        assert rule_name(rule.rule_id) != rule.rule_id
    assert "CLEANUP" not in rule_name("CLEANUP")


async def test_publishing_never_waits_even_before_the_workers_started() -> None:
    bus, dispatcher, _ = _dispatcher()
    for n in range(1_000):
        bus.publish(LockSet(hard_lock(account_id=ACCOUNT + n)))
    channel = dispatcher.channels["webhook"]
    assert channel.queue.full()
    assert channel.pending() == 1_000
    await asyncio.sleep(0)
    await dispatcher.stop(flush_timeout=0)
