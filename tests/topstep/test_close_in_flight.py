"""RULE-014 reads equity = balance + open P&L (reference ``topstep-rules.md``). A close moves
P&L from the open side to the balance and leaves equity where it was, but one fill reaches the
app as a position, a trade and an account push in no set order (reference ``projectx-api.md``,
pitfall 10). Whatever the order, a close that does not bring equity to the buffer must not
flatten, and one that does (a fill slipping past the last price) is acted on once the balance
shows it or the pushes have had their moment to arrive.

A push may also be another fill's, or lost. Equity is then read a second way too: the last
balance read over REST plus every close seen since. When the two readings disagree about the
buffer, the guard reads the account over REST before doing anything; with REST down too, it
acts once ``READ_WAIT`` has passed."""

from __future__ import annotations

from datetime import timedelta
from itertools import permutations
from typing import Any

import pytest

from core.domain.events import AccountEvent, PositionEvent
from core.engine.notices import RereadNeeded
from core.engine.rules.ladder import ladder_steps
from core.engine.rules.r014_max_loss_guard import READ_WAIT
from core.modules.unbooked import BALANCE_SETTLES
from tests.builders import MES, MNQ, make_engine, position, quote, trade
from tests.topstep.test_account_guard import COMBINE, guard_config

NAME = "50KTC-V2-645601-13370001"  # a 50K Combine: floor 48,000 on its first day
ORDERS = list(permutations(("position", "trade", "account")))


def rule_014(port: Any) -> list[Any]:
    return [c for c in port.commands if c.rule_id == "RULE-014"]


def two_positions(balance: float, mnq_mark: float, mes_mark: float,
                  rules: dict[str, Any] | None = None) -> tuple[Any, Any, Any]:
    """MNQ long 1 at 20,000 ($2 a point) and MES long 1 at 5,000 ($5 a point), marked."""
    engine, clock, port = make_engine(guard_config(rules={
        "max_loss_guard": {"enabled": True, "buffer": 250, "warn_at": []}, **(rules or {})}))
    engine.handle(AccountEvent(COMBINE, name=NAME, balance=balance, can_trade=True))
    clock.advance(10)
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.handle(position(MES, 1, 5_000.0, account_id=COMBINE, position_id=2))
    engine.handle(quote(MNQ, last=mnq_mark))
    engine.handle(quote(MES, last=mes_mark))
    clock.advance(10)
    return engine, clock, port


def close_pushes(contract_id: str, pnl: float, balance_after: float, at: Any) -> dict[str, Any]:
    position_id = 2 if contract_id == MES else 1
    return {
        "position": position(contract_id, 0, 0.0, account_id=COMBINE, position_id=position_id),
        "trade": trade(str(pnl), fees="0", at=at, account_id=COMBINE, contract_id=contract_id),
        "account": AccountEvent(COMBINE, balance=balance_after),
    }


@pytest.mark.parametrize("order", ORDERS, ids=",".join)
def test_a_winning_close_never_flattens_whatever_the_order_of_its_pushes(
    order: tuple[str, ...]
) -> None:
    # The balance alone is $200 above the floor; the MES winner's +$300 keeps equity at $500.
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)  # −400 and +300 open
    engine.handle(position(MNQ, 0, 0.0, account_id=COMBINE))  # the loser closes first, booked
    engine.handle(AccountEvent(COMBINE, balance=48_200.0))
    clock.advance(10)
    engine.handle(quote(MES, last=5_060.25))
    assert rule_014(port) == []
    pushes = close_pushes(MES, 300.0, 48_500.0, clock.now())
    for name in order:
        engine.handle(pushes[name])
        clock.advance(0.05)
        assert rule_014(port) == [], f"flattened after the {name} push"
    clock.advance(5)
    engine.tick()
    assert rule_014(port) == [] and engine.lockouts.get(COMBINE, "RULE-014") is None


@pytest.mark.parametrize("order", ORDERS, ids=",".join)
def test_a_losing_close_at_its_last_price_never_flattens_whatever_the_order(
    order: tuple[str, ...]
) -> None:
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)  # equity 48,500
    pushes = close_pushes(MNQ, -400.0, 48_200.0, clock.now())
    for name in order:
        engine.handle(pushes[name])
        clock.advance(0.05)
        engine.handle(quote(MES, last=5_060.0))
        assert rule_014(port) == [], f"flattened after the {name} push"
    clock.advance(5)
    engine.tick()
    assert rule_014(port) == []


def asks(engine: Any) -> list[RereadNeeded]:
    asked: list[RereadNeeded] = []
    engine.bus.subscribe(asked.append, RereadNeeded)
    return asked


def balance_read(balance: float, sent: Any) -> AccountEvent:
    """The Account/search answer to a request sent at ``sent``."""
    return AccountEvent(COMBINE, name=NAME, balance=balance, can_trade=True, read_at=sent)


@pytest.mark.parametrize("order", ORDERS, ids=",".join)
def test_a_close_that_slips_to_the_buffer_is_acted_on_once_its_pushes_have_settled(
    order: tuple[str, ...]
) -> None:
    # −400 and +120 open: equity 48,320, $320 of room. The MNQ close fills 25 points lower
    # than its last price: −500 realized, equity 48,220, $220: inside the $250 buffer.
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_024.0)
    assert rule_014(port) == []
    pushes = close_pushes(MNQ, -500.0, 48_100.0, clock.now())
    for name in order:
        engine.handle(pushes[name])
        clock.advance(0.05)
    clock.advance(2)  # the moment the pushes of one fill may take, at most
    engine.tick()
    assert rule_014(port)
    assert engine.lockouts.get(COMBINE, "RULE-014") is not None


def test_a_slipped_close_whose_balance_never_comes_is_acted_on_once_its_window_has_passed() -> None:
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_024.0)  # $320 of room
    engine.handle(position(MNQ, 0, 0.0, account_id=COMBINE))
    engine.handle(trade("-500", fees="0", at=clock.now(), account_id=COMBINE, contract_id=MNQ))
    clock.advance(1)
    engine.tick()
    assert rule_014(port) == []  # the balance may still be on its way
    clock.advance(2)
    engine.tick()
    assert len(rule_014(port)) == 1


def test_a_slipped_close_that_leaves_the_account_flat_is_still_locked() -> None:
    engine, clock, port = make_engine(guard_config())
    engine.handle(AccountEvent(COMBINE, name=NAME, balance=48_600.0, can_trade=True))
    clock.advance(10)
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=19_900.0))  # −200 open: $400 of room
    engine.handle(trade("-400", fees="0", at=clock.now(), account_id=COMBINE, contract_id=MNQ))
    engine.handle(position(MNQ, 0, 0.0, account_id=COMBINE))  # flat: −400 realized, $200 left
    assert rule_014(port) == []
    clock.advance(3)
    engine.tick()  # no balance push came: the trade's loss counts
    lock = engine.lockouts.get(COMBINE, "RULE-014")
    assert lock is not None


def lost_push(engine: Any, clock: Any, lost: str, mnq_pnl: float = -400.0) -> None:
    """MNQ (at ``mnq_pnl``) and the MES winner (+300) close within a moment; the balance push
    of the ``lost`` one never comes (the trades do)."""
    engine.handle(position(MNQ, 0, 0.0, account_id=COMBINE))
    engine.handle(position(MES, 0, 0.0, account_id=COMBINE, position_id=2))
    engine.handle(trade(str(mnq_pnl), fees="0", at=clock.now(), account_id=COMBINE,
                        contract_id=MNQ))
    engine.handle(trade("300", fees="0", at=clock.now(), account_id=COMBINE, contract_id=MES))
    only_push = 48_600.0 + (mnq_pnl if lost == "winner" else 300.0)
    engine.handle(AccountEvent(COMBINE, balance=only_push))


def test_two_closes_whose_winner_s_push_is_lost_are_settled_by_a_read() -> None:
    # MNQ −400 and MES +300 open on 48,600: equity 48,500, $500 from the floor. Pushes alone
    # read 48,200 (the winner's profit taken as already in the balance): $200, at the buffer.
    # The last read and the closes since read 48,500. They disagree: the account is read.
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)
    asked = asks(engine)
    lost_push(engine, clock, "winner")
    for _ in range(4):
        clock.advance(1)
        engine.tick()
    assert rule_014(port) == []
    assert asked and {a.account_id for a in asked} == {COMBINE}
    engine.handle(balance_read(48_500.0, clock.now()))  # both closes booked
    for _ in range(int(READ_WAIT.total_seconds()) + 2):
        clock.advance(1)
        engine.tick()
    assert rule_014(port) == [] and engine.lockouts.get(COMBINE, "RULE-014") is None
    account = engine.mirror.account(COMBINE)
    assert account.settled_balance(clock.now()) == pytest.approx(48_500.0)
    assert account.balance_confirmed()


def test_two_closes_whose_loser_s_push_is_lost_need_no_read_when_both_readings_are_clear() -> None:
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)
    asked = asks(engine)
    lost_push(engine, clock, "loser")  # pushes read 48,900; the closes since the read 48,500
    for _ in range(4):
        clock.advance(1)
        engine.tick()
    assert rule_014(port) == [] and asked == []


def test_a_loss_a_lost_push_hid_is_found_by_the_read() -> None:
    # The MNQ close fills far lower (−750) and its balance push is lost while the MES
    # winner's arrives: pushes say $900 of room; the closes since the read say $150, inside
    # the buffer. The account is read, and the read shows it.
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)
    asked = asks(engine)
    lost_push(engine, clock, "loser", mnq_pnl=-750.0)
    clock.advance(3)
    engine.tick()
    assert rule_014(port) == [] and asked
    engine.handle(balance_read(48_150.0, clock.now()))
    assert engine.lockouts.get(COMBINE, "RULE-014") is not None


def test_readings_that_disagree_with_rest_down_are_acted_on_after_the_wait() -> None:
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)
    asked = asks(engine)
    lost_push(engine, clock, "loser", mnq_pnl=-750.0)
    for _ in range(3 + int((READ_WAIT + BALANCE_SETTLES).total_seconds())):
        clock.advance(1)
        engine.tick()  # flat: only the clock brings the guard back
    [command] = rule_014(port)
    assert "could not be read" in command.reason
    assert len(asked) >= 2  # asked again while waiting


def rule_014_after(engine: Any, clock: Any, seconds: int, gateway_balance: float | None = None,
                   ) -> list[Any]:
    """The guard's commands after ``seconds`` of clock ticks and MES quotes; each read it asks
    for is answered with ``gateway_balance`` (None: REST is down)."""
    asked = asks(engine)
    for _ in range(seconds):
        clock.advance(0.5)
        engine.tick()
        engine.handle(quote(MES, last=5_060.0))
        if asked and gateway_balance is not None:
            asked.clear()
            sent = clock.now()
            clock.advance(0.2)  # the round trip
            engine.handle(balance_read(gateway_balance, sent))
    return rule_014(engine.port)


@pytest.mark.parametrize("push", ["arrives", "lost"])
def test_a_read_sent_just_before_a_close_may_hold_it_and_never_makes_it_count_twice(
    push: str
) -> None:
    # A read is sent; the MNQ close (−400) is booked by the gateway before the answer is built,
    # but its position push arrives after the read was sent. The answer (48,200) holds the
    # close: taken as surely not holding it, the close would count twice ($100 from the floor).
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)
    sent = clock.now()
    clock.advance(0.1)
    engine.handle(position(MNQ, 0, 0.0, account_id=COMBINE))
    engine.handle(trade("-400", fees="0", at=clock.now(), account_id=COMBINE, contract_id=MNQ))
    clock.advance(0.1)
    engine.handle(balance_read(48_200.0, sent))
    clock.advance(0.4)
    if push == "arrives":
        engine.handle(AccountEvent(COMBINE, balance=48_200.0))
    assert rule_014_after(engine, clock, 20, gateway_balance=48_200.0) == []  # $500 of room
    assert engine.mirror.account(COMBINE).balance_confirmed()


def test_a_read_answered_before_the_gateway_booked_a_close_does_not_hide_its_loss() -> None:
    # The MNQ close fills far lower (−750); a read sent a moment after its position push is
    # answered before the gateway booked it (48,600); the balance push is lost. True equity
    # 48,150: $150, inside the buffer. The next read shows it.
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)
    engine.handle(position(MNQ, 0, 0.0, account_id=COMBINE))
    engine.handle(trade("-750", fees="0", at=clock.now(), account_id=COMBINE, contract_id=MNQ))
    clock.advance(0.1)
    engine.handle(balance_read(48_600.0, clock.now()))
    assert rule_014_after(engine, clock, 6, gateway_balance=47_850.0)


def test_reads_applied_out_of_order_keep_the_newer_balance() -> None:
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)
    older = clock.now()
    clock.advance(0.5)
    newer = clock.now()
    clock.advance(3)
    engine.handle(balance_read(48_700.0, newer))
    engine.handle(balance_read(48_100.0, older))  # a slower request sent earlier
    account = engine.mirror.account(COMBINE)
    assert account.balance == 48_700.0 and account.read_reading() == (48_700.0, 48_700.0)
    assert rule_014_after(engine, clock, 6) == []


def test_an_active_trader_s_reads_are_taken_and_keep_the_second_reading_true() -> None:
    # A close every second, each with its fees, and a read served now and then: every read
    # is taken (a close it may hold counts both ways), so the read-based reading never drifts.
    engine, clock, port = make_engine(guard_config())
    engine.handle(AccountEvent(COMBINE, name=NAME, balance=50_000.0, can_trade=True))
    engine.handle(quote(MNQ, last=20_000.0))
    balance = 50_000.0
    for n in range(60):
        engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
        engine.handle(trade(None, fees="0.37", at=clock.now(), account_id=COMBINE,
                            contract_id=MNQ, trade_id=2 * n + 1, side=0))
        clock.advance(0.5)
        engine.handle(position(MNQ, 0, 0.0, account_id=COMBINE))
        engine.handle(trade("-2", fees="0.37", at=clock.now(), account_id=COMBINE,
                            contract_id=MNQ, trade_id=2 * n + 2))
        balance -= 2.74
        engine.handle(AccountEvent(COMBINE, balance=round(balance, 2)))
        clock.advance(0.5)
        if n % 10 == 9:
            engine.handle(balance_read(round(balance, 2), clock.now() - timedelta(seconds=0.3)))
    low, high = engine.mirror.account(COMBINE).read_reading()  # type: ignore[misc]
    assert low <= balance + 0.01 and high >= balance - 0.01
    assert high - low < 10  # at most the last close or two are in doubt


def test_closes_a_read_may_hold_wait_for_rest_while_it_answers_other_accounts() -> None:
    # A read is sent; both positions close just after (−400, +300: true equity 48,500, every
    # push arrives). The read may hold both, one or none: its reading runs from 48,200 (inside
    # the buffer) to 48,900, and the pushes say 48,500. REST answers, but reads other copied
    # accounts first: the guard keeps waiting past its REST-down wait, and the read settles it.
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)
    sent = clock.now()
    clock.advance(0.1)
    for pushed in close_pushes(MNQ, -400.0, 48_200.0, clock.now()).values():
        engine.handle(pushed)
    for pushed in close_pushes(MES, 300.0, 48_500.0, clock.now()).values():
        engine.handle(pushed)
    clock.advance(0.2)
    engine.handle(balance_read(48_600.0, sent))  # answered before the gateway booked either
    other = COMBINE + 1
    engine.handle(AccountEvent(other, name="50KTC-V2-645601-13370099", balance=50_000.0,
                               can_trade=True))
    for _ in range(int((READ_WAIT + BALANCE_SETTLES).total_seconds()) + 2):
        clock.advance(1)
        engine.tick()
        engine.handle(AccountEvent(other, balance=50_000.0, read_at=clock.now()))  # REST works
    assert rule_014(port) == []
    engine.handle(balance_read(48_500.0, clock.now()))
    clock.advance(1)
    engine.tick()
    assert rule_014(port) == [] and engine.mirror.account(COMBINE).balance_confirmed()


def test_a_stale_saved_position_and_a_pushed_first_balance_wait_for_the_start_up_read() -> None:
    # Restored from the state file: MNQ long, −400 at the last price. Its stop filled while the
    # app was off (the balance, 48,400, holds the loss). A first balance push (a new fill's fee)
    # comes before the start-up read: counted with the stale position, $0 of room.
    engine, clock, port = make_engine(guard_config())
    engine.handle(AccountEvent(COMBINE, name=NAME, can_trade=True))
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=19_800.0))
    clock.advance(1)
    engine.handle(AccountEvent(COMBINE, balance=48_399.63))
    clock.advance(1)
    engine.tick()
    assert rule_014(port) == []
    answered = clock.now()  # the start-up reconcile: MNQ is gone, then the balance
    engine.handle(PositionEvent(1, COMBINE, MNQ, 0, 0, 20_000.0, read_at=answered))
    engine.handle(balance_read(48_399.63, answered))
    assert rule_014_after(engine, clock, 6) == []


def test_with_rest_down_a_price_swinging_around_the_buffer_does_not_restart_the_wait() -> None:
    # Pushes read too high (the loser's balance push lost); REST is down. The trader holds a
    # new MES long whose price swings out of the buffer one second in five: the guard still
    # acts once its wait has run out, not never.
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)
    lost_push(engine, clock, "loser", mnq_pnl=-750.0)  # truth 48,150: $150 of room
    engine.handle(position(MES, 1, 5_060.0, account_id=COMBINE, position_id=3))
    waited = int((READ_WAIT + BALANCE_SETTLES).total_seconds()) + 3
    for second in range(waited):
        clock.advance(1)
        engine.handle(quote(MES, last=5_085.0 if second % 5 == 0 else 5_060.0))
        engine.tick()
    assert rule_014(port)


def test_a_read_sent_before_a_push_does_not_undo_the_push() -> None:
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)
    sent = clock.now()
    clock.advance(0.2)
    engine.handle(position(MNQ, 0, 0.0, account_id=COMBINE))
    engine.handle(AccountEvent(COMBINE, balance=48_200.0))  # the close's push
    clock.advance(0.1)
    engine.handle(balance_read(48_600.0, sent))  # the answer to a request sent before it
    account = engine.mirror.account(COMBINE)
    assert account.balance == 48_200.0
    assert not account.balance_confirmed()


def test_the_winner_s_profit_counts_until_a_late_balance_shows_it() -> None:
    engine, clock, port = two_positions(48_600.0, 19_800.0, 5_060.0)
    engine.handle(position(MNQ, 0, 0.0, account_id=COMBINE))
    engine.handle(AccountEvent(COMBINE, balance=48_200.0))
    clock.advance(10)
    engine.handle(position(MES, 0, 0.0, account_id=COMBINE, position_id=2))  # +300 at its mark
    clock.advance(30)
    engine.tick()
    engine.recheck(COMBINE)
    assert rule_014(port) == []
    account = engine.mirror.account(COMBINE)
    assert account.settled_balance(clock.now()) == pytest.approx(48_500.0)
    engine.handle(AccountEvent(COMBINE, balance=48_500.0))
    clock.advance(3)
    assert account.settled_balance(clock.now()) == pytest.approx(48_500.0)  # counted once


def test_the_restrict_step_reads_the_same_equity_as_the_guard() -> None:
    # The ladder's restrict step at $600 from the floor: the winner's close must not make the
    # account look nearer the floor than it is.
    rules = {"max_loss_guard": {"enabled": True, "buffer": 250, "warn_at": [],
                                "restrict_at": 600, "restrict_max_contracts": 1}}
    engine, clock, port = two_positions(48_700.0, 20_000.0, 5_060.0, rules)  # equity 49,000
    engine.handle(position(MES, 0, 0.0, account_id=COMBINE, position_id=2))  # +300 in flight
    ctx = engine.context(COMBINE, clock.now())
    [step] = ladder_steps(ctx, engine.config.rules_for(COMBINE))
    assert step.used == pytest.approx(1_000.0) and step.step == "normal"
    assert port.commands == []
