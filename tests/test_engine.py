"""Engine routing: first breach wins, enforce once, rule errors, scope, cascade, notices."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

import core.engine.engine
from core.domain.commands import (
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    Flatten,
    PartialClose,
    RecordingPort,
)
from core.domain.events import DepthEvent, MarketTradeEvent, OrderEvent, PositionEvent, QuoteEvent
from core.engine.notices import (
    BreachDetected,
    DailyReset,
    EnforcementIssued,
    LockCleared,
    LockSet,
    LossWarning,
    RuleError,
)
from core.modules.lockouts import LockKind
from tests.builders import (
    ACCOUNT,
    MES,
    MNQ,
    OTHER_ACCOUNT,
    T0,
    account,
    config,
    make_engine,
    order,
    position,
    quote,
    trade,
)
from tests.rules.support import ct

WEDNESDAY_RESET = ct(2026, 8, 19, 17)
THURSDAY = WEDNESDAY_RESET.date() + timedelta(days=1)


def notices(engine: core.engine.engine.Engine, kind: type | None = None) -> list[Any]:
    seen: list[Any] = []
    engine.bus.subscribe(seen.append, kind)
    return seen


def rule_ids(port: RecordingPort) -> list[str]:
    return [c.rule_id for c in port.commands]


# --- first breach wins ----------------------------------------------------------------------------


def test_a_trade_breaching_two_rules_sets_both_locks() -> None:
    """SPEC: every breach counts. One −$600 trade sets both the daily-loss lock and the 007
    cooldown; the commands are merged (007 has none of its own: flatten is off)."""
    engine, clock, port = make_engine(
        config({"daily_realized_loss": {"limit": 500}, "cooldown_after_loss": {}})
    )
    breaches = notices(engine, BreachDetected)
    engine.handle(trade("-600", fees="0", at=T0))
    assert rule_ids(port) == ["RULE-003"]
    assert [b.rule_id for b in breaches] == ["RULE-003", "RULE-007"]
    cooldown = engine.lockouts.get(ACCOUNT, "RULE-007")
    assert cooldown is not None and cooldown.until == T0 + timedelta(seconds=1800)
    assert engine.lockouts.hard_lock(ACCOUNT, clock.now()) is not None


def test_two_rules_reducing_one_position_send_one_partial_close_of_the_larger_size() -> None:
    engine, _, port = make_engine(
        config(
            {
                "max_contracts": {"limit": 2},
                "max_contracts_per_instrument": {"limits": {"MNQ": 1}},
            }
        )
    )
    breaches = notices(engine, BreachDetected)
    engine.handle(position(MNQ, 3, 20000.0))
    [command] = port.commands
    assert isinstance(command, PartialClose)
    assert (command.rule_id, command.size) == ("RULE-002", 2)
    assert [b.rule_id for b in breaches] == ["RULE-001", "RULE-002"]


def test_a_whole_close_absorbs_a_partial_close_of_the_same_contract() -> None:
    engine, _, port = make_engine(
        config({"max_contracts": {"limit": 2}, "symbol_blocks": {"symbols": ["MNQ"]}})
    )
    engine.handle(position(MNQ, 3, 20000.0))
    assert [(type(c), c.rule_id) for c in port.commands] == [(CloseContract, "RULE-011")]


def test_a_rule_that_raises_is_reported_and_the_next_rule_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, _, port = make_engine(
        config(
            {
                "max_contracts": {"limit": 2},
                "max_contracts_per_instrument": {"limits": {"MNQ": 1}},
            }
        )
    )
    errors = notices(engine, RuleError)

    def boom(ctx: Any, event: Any) -> list[Any]:
        raise ZeroDivisionError("rule bug")

    engine.rules[0].evaluate = boom  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="core.engine.engine"):
        engine.handle(position(MNQ, 3, 20000.0))
    assert [(e.rule_id, e.account_id) for e in errors] == [("RULE-001", ACCOUNT)]
    assert "rule bug" in errors[0].error
    assert "Max contracts [RULE-001] failed" in caplog.text
    assert rule_ids(port) == ["RULE-002"]
    engine.handle(position(MNQ, 4, 20000.0))  # the engine keeps going
    assert len(errors) == 2 and rule_ids(port) == ["RULE-002", "RULE-002"]


# --- enforcement once ------------------------------------------------------------------------------


def open_loss_engine(monkeypatch: pytest.MonkeyPatch, resend_after: float) -> tuple[Any, Any, Any]:
    monkeypatch.setattr(core.engine.engine, "RESEND_AFTER", resend_after)
    engine, clock, port = make_engine(config({"daily_unrealized_loss": {"limit": 300}}))
    engine.handle(position(MNQ, 1, 20000.0))
    return engine, clock, port


def test_the_same_breach_on_a_quote_storm_is_enforced_once(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _, port = open_loss_engine(monkeypatch, 3600.0)
    breaches = notices(engine, BreachDetected)
    issued = notices(engine, EnforcementIssued)
    for last in (19850.0, 19849.0, 19840.0, 19845.0, 19800.0):
        engine.handle(quote(MNQ, last=last))
    assert [(type(c), c.rule_id) for c in port.commands] == [(CloseContract, "RULE-004")]
    assert len(breaches) == 1  # one popup, not one per quote
    assert [n.command for n in issued] == port.commands


def test_a_changed_position_size_re_issues_the_close(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _, port = open_loss_engine(monkeypatch, 3600.0)
    engine.handle(quote(MNQ, last=19800.0))
    engine.handle(position(MNQ, 2, 20000.0))  # the trader added while the close was in flight
    engine.handle(quote(MNQ, last=19799.0))
    assert [(type(c), c.contract_id) for c in port.commands] == [(CloseContract, MNQ)] * 2


def test_after_resend_after_the_close_may_be_re_issued(monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _, port = open_loss_engine(monkeypatch, 0.0)
    engine.handle(quote(MNQ, last=19800.0))
    engine.handle(quote(MNQ, last=19800.0))
    assert len(port.of_type(CloseContract)) == 2


def test_a_failing_port_does_not_stop_the_other_commands() -> None:
    class FailingOnce(RecordingPort):
        def submit(self, command: EnforcementCommand) -> None:
            if not getattr(self, "failed", False):
                self.failed = True
                raise ConnectionError("executor down")
            super().submit(command)

    engine, _, _ = make_engine(config({"daily_unrealized_loss": {"limit": 100, "scope": "account"}}))
    port = engine.port = FailingOnce()
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MES, 1, 5000.0, position_id=2))
    engine.handle(quote(MES, last=4990.0))  # −$50
    engine.handle(quote(MNQ, last=19950.0))  # −$100 more: close both; the first send fails
    assert [c.contract_id for c in port.of_type(CloseContract)] == [MES]
    engine.handle(quote(MNQ, last=19949.0))  # the failed close is tried again
    assert [c.contract_id for c in port.of_type(CloseContract)] == [MES, MNQ]


# --- scope -----------------------------------------------------------------------------------------


def test_events_for_unprotected_accounts_are_ignored() -> None:
    engine, clock, port = make_engine(
        config({"daily_realized_loss": {"limit": 300}, "max_contracts": {"limit": 1}},
               general={"accounts": [ACCOUNT]})
    )
    engine.handle(trade("-500", fees="0", at=T0, account_id=OTHER_ACCOUNT))
    engine.handle(position(MNQ, 4, 20000.0, account_id=OTHER_ACCOUNT))
    engine.handle(quote(MNQ, last=19000.0))
    assert port.commands == []
    assert engine.lockouts.hard_lock(OTHER_ACCOUNT, clock.now()) is None
    assert OTHER_ACCOUNT not in engine.mirror.accounts
    engine.handle(position(MNQ, 4, 20000.0))
    assert rule_ids(port) == ["RULE-001"]


def test_every_account_is_protected_when_the_list_is_empty() -> None:
    engine, _, port = make_engine(config({"max_contracts": {"limit": 1}}))
    engine.handle(position(MNQ, 2, 20000.0, account_id=OTHER_ACCOUNT))
    engine.handle(position(MNQ, 3, 20000.0))
    assert [(c.account_id, c.rule_id) for c in port.commands] == [
        (OTHER_ACCOUNT, "RULE-001"),
        (ACCOUNT, "RULE-001"),
    ]


def test_a_new_config_widens_the_protected_accounts_at_once() -> None:
    engine, _, port = make_engine(
        config({"max_contracts": {"limit": 1}}, general={"accounts": [ACCOUNT]})
    )
    engine.apply_config(config({"max_contracts": {"limit": 1}}))
    engine.handle(position(MNQ, 2, 20000.0, account_id=OTHER_ACCOUNT))
    assert [c.account_id for c in port.commands] == [OTHER_ACCOUNT]


def test_a_duplicated_trade_id_does_not_trigger_rules_again() -> None:
    engine, clock, port = make_engine(config({"trade_frequency_limit": {"per_minute": 1}}))
    entry = trade(None, fees="0.37", at=T0, trade_id=42)
    for _ in range(3):  # the stream and Trade/search both deliver it
        engine.handle(entry)
    assert engine.lockouts.cooldown(ACCOUNT, clock.now()) is None
    engine.handle(trade(None, fees="0.37", at=T0 + timedelta(seconds=5), trade_id=43))
    assert engine.lockouts.cooldown(ACCOUNT, clock.now()) is not None  # two entries now
    assert port.commands == []  # a cooldown closes nothing


# --- the cascade ----------------------------------------------------------------------------------


def test_an_open_loss_close_becomes_a_realized_loss_that_locks_the_day() -> None:
    engine, clock, port = make_engine(
        config({"daily_realized_loss": {"limit": 300}, "daily_unrealized_loss": {"limit": 300}})
    )
    locks = notices(engine, LockSet)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=19850.0))  # −150 points × $2 = −$300
    assert [(type(c), c.rule_id, c.contract_id) for c in port.commands] == [
        (CloseContract, "RULE-004", MNQ)
    ]
    clock.advance(1)
    engine.handle(trade("-300", fees="0.37", at=clock.now(), side=1, price=19850.0))
    engine.handle(position(MNQ, 0, 0.0))
    [_, flatten] = port.commands
    assert isinstance(flatten, Flatten) and flatten.rule_id == "RULE-003"
    assert flatten.contract_ids == (MNQ,)
    [lock_set] = locks
    assert (lock_set.lock.rule_id, lock_set.lock.kind) == ("RULE-003", LockKind.HARD)
    assert lock_set.lock.until == WEDNESDAY_RESET
    assert engine.pnl.realized(ACCOUNT, WEDNESDAY_RESET.date()) == Decimal("-300.37")


# --- warnings and the daily reset -----------------------------------------------------------------


def test_loss_warnings_fire_once_per_threshold_per_trading_day() -> None:
    engine, clock, port = make_engine(config({"daily_realized_loss": {"limit": 500}}))
    warnings = notices(engine, LossWarning)
    engine.handle(trade("-240", fees="0", at=T0))
    assert warnings == []
    engine.handle(trade("-10", fees="0", at=T0 + timedelta(seconds=1)))  # −250: 50 %
    engine.handle(trade("-20", fees="0", at=T0 + timedelta(seconds=2)))  # still past 50 %
    assert [(w.fraction, w.net, w.limit) for w in warnings] == [(0.5, Decimal(-250), 500)]
    engine.handle(trade("-150", fees="0", at=T0 + timedelta(seconds=3)))  # −420: 80 %
    engine.handle(trade("-5", fees="0", at=T0 + timedelta(seconds=4)))
    assert [w.fraction for w in warnings] == [0.5, 0.8]
    assert all(w.trading_day == WEDNESDAY_RESET.date() for w in warnings)
    assert port.commands == []
    clock.set(WEDNESDAY_RESET + timedelta(minutes=1))
    engine.tick()
    engine.handle(trade("-300", fees="0", at=clock.now()))
    engine.handle(trade("-100", fees="0", at=clock.now() + timedelta(seconds=1)))
    assert [(w.fraction, w.trading_day) for w in warnings[2:]] == [(0.5, THURSDAY), (0.8, THURSDAY)]


def test_a_loss_that_jumps_past_the_limit_locks_without_warnings_on_top() -> None:
    engine, _, port = make_engine(config({"daily_realized_loss": {"limit": 500}}))
    warnings = notices(engine, LossWarning)
    engine.handle(trade("-600", fees="0", at=T0))
    assert warnings == []  # the lock is the news
    assert [c.rule_id for c in port.commands] == ["RULE-003"]
    engine.handle(trade("10", fees="0", at=T0 + timedelta(seconds=1)))  # −590: still no repeats
    assert warnings == []


def test_a_jump_past_several_thresholds_gives_one_warning_naming_the_highest() -> None:
    engine, _, _ = make_engine(config({"daily_realized_loss": {"limit": 500}}))
    warnings = notices(engine, LossWarning)
    engine.handle(trade("-420", fees="0", at=T0))  # past 50 % and 80 % at once
    assert [w.fraction for w in warnings] == [0.8]
    engine.handle(trade("-10", fees="0", at=T0 + timedelta(seconds=1)))
    assert [w.fraction for w in warnings] == [0.8]  # the 50 % one is used up for the day


def test_a_warning_exactly_at_its_threshold_fires() -> None:
    engine, _, _ = make_engine(config({"daily_realized_loss": {"limit": 100, "warn_at": [0.55]}}))
    warnings = notices(engine, LossWarning)
    engine.handle(trade("-54.64", fees="0.36", at=T0))  # net −55.00, exactly 55 %
    assert [w.fraction for w in warnings] == [0.55]


def test_a_late_trade_from_yesterday_raises_no_warning_today() -> None:
    engine, clock, _ = make_engine(config({"daily_realized_loss": {"limit": 500}}))
    warnings = notices(engine, LossWarning)
    clock.set(WEDNESDAY_RESET + timedelta(hours=1))
    engine.handle(trade("-450", fees="0", at=WEDNESDAY_RESET - timedelta(minutes=5)))
    assert warnings == []


def test_crossing_the_reset_publishes_daily_reset_once() -> None:
    engine, clock, _ = make_engine(config())
    resets = notices(engine, DailyReset)
    engine.handle(account(True))
    clock.set(WEDNESDAY_RESET - timedelta(seconds=1))
    engine.tick()
    assert resets == []
    clock.set(WEDNESDAY_RESET)
    engine.tick()
    engine.tick()
    assert resets == [DailyReset(ACCOUNT, THURSDAY)]


# --- RULE-010 ------------------------------------------------------------------------------------


def test_can_trade_false_flattens_and_locks_until_can_trade_true() -> None:
    engine, clock, port = make_engine(config({"auth_loss_guard": {}}))
    cleared = notices(engine, LockCleared)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(account(None))  # no canTrade in the payload: unchanged
    assert port.commands == []
    engine.handle(account(False))
    [flatten] = port.commands
    assert isinstance(flatten, Flatten) and flatten.contract_ids == (MNQ,)
    lock = engine.lockouts.get(ACCOUNT, "RULE-010")
    assert lock is not None and lock.until is None and lock.kind is LockKind.HARD
    engine.handle(account(False))  # said again: nothing new
    clock.advance(days=3)
    engine.tick()
    assert engine.lockouts.hard_lock(ACCOUNT, clock.now()) is not None
    # Three days on, MNQ still shows open (no executor here): the lock's sweep closes it again,
    # as it would live.
    assert [(type(c), c.contract_id) for c in port.commands[1:]] == [(CloseContract, MNQ)]
    engine.handle(position(MES, 1, 5000.0, position_id=2))
    assert [(type(c), c.contract_id) for c in port.commands[2:]] == [(CloseContract, MES)]
    engine.handle(account(True))
    assert engine.lockouts.get(ACCOUNT, "RULE-010") is None
    assert [(n.lock.rule_id, n.why) for n in cleared] == [("RULE-010", "can trade again")]
    port.clear()
    engine.handle(position(MES, 0, 0.0, position_id=2))
    engine.handle(position(MES, 1, 5000.0, position_id=3))
    assert port.commands == []


# --- tick-driven rules ---------------------------------------------------------------------------


def test_tick_closes_a_position_without_a_stop_after_the_grace() -> None:
    engine, clock, port = make_engine(config({"no_stop_loss_grace": {"grace_seconds": 30}}))
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MES, 1, 5000.0, position_id=2))
    engine.handle(order(MES, side=1, type=4, stop_price=4990.0))  # MES is protected
    clock.advance(29)
    engine.tick()
    assert port.commands == []
    clock.advance(1)
    engine.tick()
    assert [(type(c), c.rule_id, c.contract_id) for c in port.commands] == [
        (CloseContract, "RULE-008", MNQ)
    ]


def test_tick_flattens_at_the_window_end_and_locks_until_it_reopens() -> None:
    engine, clock, port = make_engine(config({"session_block_outside": {}}))
    clock.set(ct(2026, 8, 19, 15, 9))
    engine.handle(position(MNQ, 1, 20000.0))
    engine.tick()
    assert port.commands == []
    clock.set(ct(2026, 8, 19, 15, 10))
    engine.tick()
    [flatten] = port.commands
    assert isinstance(flatten, Flatten) and flatten.rule_id == "RULE-009"
    hard = engine.lockouts.hard_lock(ACCOUNT, clock.now())
    assert hard is not None and hard.until == ct(2026, 8, 20, 8, 30)
    clock.advance(1)
    engine.tick()  # the same breach on the next tick: already enforced
    assert len(port.commands) == 1


def test_a_position_still_open_under_a_hard_lock_is_closed_again_on_the_tick() -> None:
    """A close lost in a race (absorbed by one that was finishing) must not leave exposure."""
    engine, _, port = make_engine(config({"daily_realized_loss": {"limit": 500}}))
    engine.resend.resend_after = 0.0  # pacing aside: every tick may send again
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(trade("-600", fees="0", at=T0))  # RULE-003: flatten + hard lock
    assert [type(c) for c in port.commands] == [Flatten]
    engine.tick()  # the mirror still shows MNQ open: close it again
    assert [(type(c), c.contract_id) for c in port.commands[1:]] == [(CloseContract, MNQ)]
    engine.handle(position(MNQ, 0, 0.0))
    engine.tick()  # flat: nothing more
    assert len(port.commands) == 2


def test_a_breach_already_in_flight_does_not_hide_the_next_rule() -> None:
    """RULE-008's close is held back (already sent); RULE-009's window end must still lock."""
    engine, clock, port = make_engine(
        config({"no_stop_loss_grace": {"grace_seconds": 0}, "session_block_outside": {}})
    )
    clock.set(ct(2026, 8, 19, 15, 9) + timedelta(seconds=59))
    engine.handle(position(MNQ, 1, 20000.0, created_at=clock.now()))  # RULE-008 close sent
    assert [c.rule_id for c in port.commands] == ["RULE-008"]
    clock.set(ct(2026, 8, 19, 15, 10))  # one second on: the close is still in flight
    engine.tick()  # RULE-008 again (held back), then RULE-009 at the window's end
    assert engine.lockouts.get(ACCOUNT, "RULE-009") is not None
    assert [c.rule_id for c in port.commands] == ["RULE-008", "RULE-009"]


# --- never raises ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        object(),
        None,
        42,
        "Position/searchOpen",
        {"action": 1, "data": {}},
        QuoteEvent(contract_id="CON.F.US.NOPE.Z99", last_price=1.0),
        QuoteEvent(contract_id=MNQ),
        MarketTradeEvent(contract_id="CON.F.US.NOPE.Z99", price=1.0, volume=1),
        DepthEvent(contract_id=MNQ, type=1, price=1.0, volume=1),
        PositionEvent(1, ACCOUNT, "CON.F.US.NOPE.Z99", 1, 3, 12.5),
        PositionEvent(1, ACCOUNT, "weird", 7, -4, float("nan")),
        OrderEvent(9, ACCOUNT, "CON.F.US.NOPE.Z99", 99, 99, 5, 0),
        PositionEvent(1, ACCOUNT, None, 1, 1, 1.0),  # type: ignore[arg-type]
    ],
)
def test_handle_never_raises_on_garbage(garbage: Any) -> None:
    engine, clock, port = make_engine(
        config(
            {
                "max_contracts": {"limit": 1},
                "max_contracts_per_instrument": {"default_limit": 1},
                "daily_unrealized_loss": {"limit": 100},
                "no_stop_loss_grace": {"grace_seconds": 0},
                "session_block_outside": {},
                "symbol_blocks": {"symbols": ["ES"]},
                "trade_management": {},
            }
        )
    )
    engine.contracts.loader = lambda contract_id: None  # the gateway knows only the live list
    engine.handle(garbage)
    engine.handle(quote("CON.F.US.NOPE.Z99", last=2.0))
    clock.advance(60)
    engine.tick()
    # and the engine still works afterwards
    breaches = notices(engine, BreachDetected)
    errors = notices(engine, RuleError)
    engine.handle(position(MNQ, 1, 20000.0, position_id=77))
    engine.handle(position(MNQ, 3, 20000.0, position_id=77))
    assert "RULE-001" in {b.rule_id for b in breaches}
    assert errors == []
    assert any(getattr(c, "contract_id", None) == MNQ for c in port.commands)


def test_a_daily_limit_past_at_catch_up_locks_even_if_the_lock_was_lost() -> None:
    """The losing trade reached the file but its lock did not (a crash in between)."""
    engine, _, port = make_engine(config({"daily_realized_loss": {"limit": 500}}))
    engine.pnl.restore([trade("-600", fees="0", at=T0)])  # as a restart finds it: no lock
    assert engine.lockouts.get(ACCOUNT, "RULE-003") is None
    engine.recheck(ACCOUNT)
    assert engine.lockouts.get(ACCOUNT, "RULE-003") is not None
    assert [type(c) for c in port.commands] == [Flatten]
    engine.recheck(ACCOUNT)  # the same again: already enforced
    assert len(port.commands) == 1


def test_a_stop_left_behind_by_a_closed_position_is_cancelled() -> None:
    """Trade management's stop is not OCO-linked: once the position is flat it would open a
    short if it triggered."""
    engine, _, port = make_engine(config())
    engine.handle(position(MNQ, 2, 20000.0))
    stop = order(MNQ, side=1, stop_price=19990.0, size=2)
    entry = order(MNQ, side=0, type=1, limit_price=19900.0)  # a buy limit: the trader's entry
    engine.handle(stop)
    engine.handle(entry)
    engine.handle(position(MNQ, 0, 0.0))
    assert [(type(c), c.order_id) for c in port.commands] == [(CancelOrder, stop.order_id)]
