"""Property tests: random event sequences through the engine.

(a) realized P&L per account and trading day equals an independent sum over unique trade ids;
(b) while hard-locked, every position that appears or grows is closed by that very event;
(c) nothing escapes ``handle``/``tick``, and well-formed events never hit an internal error;
(d) the engine never adds exposure: only closes, partial closes (smaller than the position),
    cancels, flattens and stops cut to what is left of their position leave it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.domain.commands import CancelOrder, CloseContract, Flatten, ModifyStop, PartialClose
from core.domain.events import PositionEvent, QuoteEvent
from core.engine.engine import Engine
from core.engine.notices import RuleError
from tests.builders import (
    ACCOUNT,
    ES,
    MES,
    MNQ,
    OTHER_ACCOUNT,
    account,
    config,
    live_contracts,
    make_engine,
    order,
    position,
    quote,
    trade,
)
from tests.rules.support import ct

ACCOUNTS = (ACCOUNT, OTHER_ACCOUNT)
CONTRACTS = (MNQ, MES, ES)
PRICE = {MNQ: 20000.0, MES: 5000.0, ES: 6400.0}
CHICAGO = ZoneInfo("America/Chicago")
# Trades fall in two trading days: Thursday 2026-08-20 and Friday 2026-08-21 (17:00 CT resets).
FIRST_TRADE_AT = ct(2026, 8, 19, 17)
TRADE_SPAN = 2 * 24 * 3600
CLOCK_START = FIRST_TRADE_AT + timedelta(minutes=1)  # the clock walks through both days
CLOCK_BUDGET = 2 * 24 * 3600  # stays well inside the days the P&L tracker keeps
CONTRACT_LIST = live_contracts()
IDS = 16

CONFIG = config(
    {
        "max_contracts": {"limit": 4},
        "daily_realized_loss": {"limit": 200},
        "daily_unrealized_loss": {"limit": 200},
        "trade_frequency_limit": {"per_minute": 3, "per_hour": 8},
        "cooldown_after_loss": {},
        "auth_loss_guard": {},
        "daily_realized_profit": {"target": 300},
    }
)

GARBAGE: list[Any] = [
    object(),
    None,
    7,
    "GatewayUserTrade",
    {"action": 0, "data": None},
    QuoteEvent(contract_id="CON.F.US.NOPE.Z99", last_price=3.0),
    PositionEvent(1, ACCOUNT, None, 1, 2, 1.0),  # type: ignore[arg-type]
]


def trading_day(at: datetime) -> date:
    """Independent of core.domain.trading_day: the day a 17:00 Chicago reset names by its end."""
    local = at.astimezone(CHICAGO)
    return local.date() + timedelta(days=1) if local.hour >= 17 else local.date()


# --- strategies ---------------------------------------------------------------------------------

cents = st.integers(-25_000, 25_000).map(lambda c: Decimal(c) / 100)
typical = st.sampled_from(["-210", "-150", "-120.50", "-99.64", "-60", "-35", "45", "260"])
trade_step = st.tuples(
    st.just("trade"),
    st.integers(1, IDS),  # a small id pool: the same trade arrives again, voided, corrected
    st.one_of(st.none(), typical.map(Decimal), cents),
    st.integers(0, 400).map(lambda c: Decimal(c) / 100),
    st.booleans(),
)
position_step = st.tuples(
    st.just("position"), st.sampled_from(ACCOUNTS), st.sampled_from(CONTRACTS), st.integers(-4, 4)
)
quote_step = st.tuples(st.just("quote"), st.sampled_from(CONTRACTS), st.integers(-400, 400))
order_step = st.tuples(
    st.just("order"),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(CONTRACTS),
    st.integers(1, 6),  # order id pool
    st.sampled_from([0, 1]),  # side
    st.sampled_from([1, 2, 4, 5]),  # limit, market, stop, trailing stop
    st.sampled_from([1, 1, 2, 3, 6, 7]),  # status: working, filled, cancelled, pending...
    st.integers(1, 4),
)
account_step = st.tuples(
    st.just("account"), st.sampled_from(ACCOUNTS), st.sampled_from([True, True, False, None])
)
advance_step = st.tuples(
    st.just("advance"), st.one_of(st.integers(1, 300), st.integers(1, 6 * 3600))
)
garbage_step = st.tuples(st.just("garbage"), st.integers(0, len(GARBAGE) - 1))

steps = st.lists(
    st.one_of(
        trade_step,
        trade_step,
        trade_step,
        position_step,
        position_step,
        quote_step,
        order_step,
        account_step,
        advance_step,
        garbage_step,
    ),
    min_size=10,
    max_size=80,
)
# Each trade id belongs to one account at one instant; only pnl, fees and voided change.
# Clustered in a few hours (so minute and hour windows fill up), some anywhere in the two days.
trade_offsets = st.one_of(
    st.builds(
        lambda hour, second: hour * 3600 + second,
        st.sampled_from([0, 0, 1, 2, 6, 23, 24, 25, 30]),
        st.integers(0, 120),
    ),
    st.integers(0, TRADE_SPAN - 1),
)
trade_homes = st.lists(
    st.tuples(st.sampled_from([ACCOUNT, ACCOUNT, OTHER_ACCOUNT]), trade_offsets),
    min_size=IDS,
    max_size=IDS,
)


# --- the runner ---------------------------------------------------------------------------------


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Run:
    engine: Engine
    clock: Any
    port: Any
    homes: list[tuple[int, int]]
    errors: ErrorLog
    sizes: dict[tuple[int, str], int] = field(default_factory=dict)
    trades: dict[int, Any] = field(default_factory=dict)  # last version per id
    rule_errors: list[RuleError] = field(default_factory=list)
    advanced: float = 0.0

    def step(self, step: tuple[Any, ...]) -> None:
        kind = step[0]
        faults_before = len(self.errors.records) + len(self.rule_errors)
        if kind == "trade":
            _, trade_id, pnl, fees, voided = step
            acct, offset = self.homes[trade_id - 1]
            event = trade(
                pnl,
                fees=fees,
                voided=voided,
                trade_id=trade_id,
                account_id=acct,
                at=FIRST_TRADE_AT + timedelta(seconds=offset),
            )
            self.trades[trade_id] = event
            self.engine.handle(event)
        elif kind == "position":
            self.position(*step[1:])
        elif kind == "quote":
            _, contract, ticks = step
            self.engine.handle(quote(contract, last=PRICE[contract] + ticks * 0.25))
        elif kind == "order":
            _, acct, contract, oid, side, type_, status, size = step
            price = PRICE[contract] + (-10.0 if side == 1 else 10.0)
            self.engine.handle(
                order(
                    contract,
                    side=side,
                    type=type_,
                    size=size,
                    status=status,
                    order_id=oid * 10 + ACCOUNTS.index(acct),
                    account_id=acct,
                    stop_price=price if type_ == 4 else None,
                    limit_price=price if type_ == 1 else None,
                    created_at=self.clock.now(),
                )
            )
        elif kind == "account":
            self.engine.handle(account(step[2], account_id=step[1]))
        elif kind == "advance":
            seconds = min(step[1], CLOCK_BUDGET - self.advanced)
            self.advanced += seconds
            self.clock.advance(seconds)
            self.engine.tick()
        else:
            self.engine.handle(GARBAGE[step[1]])
            return  # garbage may be logged; it must just not escape
        # (c) a well-formed event never makes the engine or a rule fail inside
        faults = [r.getMessage() for r in self.errors.records] + [
            f"{e.rule_id}: {e.error}" for e in self.rule_errors
        ]
        assert len(faults) == faults_before, f"{step!r} caused {faults[faults_before:]}"

    def position(self, acct: int, contract: str, size: int) -> None:
        engine, port = self.engine, self.port
        before = self.sizes.get((acct, contract), 0)
        grew = size != 0 and (before == 0 or (before > 0) != (size > 0) or abs(size) > abs(before))
        locked = engine.lockouts.hard_lock(acct, self.clock.now()) is not None
        sent_before = len(port.commands)
        engine.handle(position(contract, size, PRICE[contract], account_id=acct))
        self.sizes[(acct, contract)] = size
        issued = port.commands[sent_before:]
        if locked and grew:
            # (b) the hard-lock gate closes what appears or grows, on this very event
            assert any(
                isinstance(c, CloseContract | PartialClose)
                and (c.account_id, c.contract_id) == (acct, contract)
                for c in issued
            ), f"{contract} {before} → {size} during a hard lock was left open: {issued}"

    def check_commands(self) -> None:
        # (d) nothing the engine sends can add exposure
        for command in self.port.commands:
            assert isinstance(
                command, CloseContract | PartialClose | CancelOrder | Flatten | ModifyStop
            )
            assert command.account_id in ACCOUNTS
            if isinstance(command, PartialClose):
                assert command.size > 0
            if isinstance(command, ModifyStop):  # only ever a stop cut down, never moved
                assert command.stop_price is None and command.size is not None
                assert command.size > 0

    def check_pnl(self) -> None:
        # (a) net realized per account and trading day, computed without core
        expected: dict[tuple[int, date], Decimal] = {}
        for event in self.trades.values():
            key = (event.account_id, trading_day(event.created_at))
            net = Decimal(0) if event.voided else (event.pnl or Decimal(0)) - event.fees
            expected[key] = expected.get(key, Decimal(0)) + net
        for acct in ACCOUNTS:
            for day in (date(2026, 8, 20), date(2026, 8, 21)):
                assert self.engine.pnl.realized(acct, day) == expected.get((acct, day), 0), (
                    acct,
                    day,
                )


def run(homes: list[tuple[int, int]], sequence: list[tuple[Any, ...]]) -> Run:
    engine, clock, port = make_engine(CONFIG, with_contracts=False)
    for contract in CONTRACT_LIST:
        engine.contracts.put(contract, persist=False)
    clock.set(CLOCK_START)
    errors = ErrorLog()
    logger = logging.getLogger("core")
    logger.addHandler(errors)
    state = Run(engine, clock, port, homes, errors)
    engine.bus.subscribe(state.rule_errors.append, RuleError)
    try:
        for step in sequence:
            state.step(step)
            if step[0] == "trade":
                state.check_pnl()
        state.check_pnl()
        state.check_commands()
    finally:
        logger.removeHandler(errors)
    return state


PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY
@given(homes=trade_homes, sequence=steps)
def test_random_event_sequences_keep_every_invariant(
    homes: list[tuple[int, int]], sequence: list[tuple[Any, ...]]
) -> None:
    run(homes, sequence)


@PROPERTY
@given(
    sizes=st.lists(
        st.tuples(st.sampled_from([MNQ, MES]), st.integers(-3, 3)), min_size=1, max_size=30
    ),
    reason=st.sampled_from(["loss", "api"]),
)
def test_nothing_opened_during_a_hard_lock_survives_its_event(
    sizes: list[tuple[str, int]], reason: str
) -> None:
    """Open, grow, flip, close and reopen in any order, without gaps: every growth is closed."""
    homes = [(ACCOUNT, 3600)] * IDS
    lock: list[tuple[Any, ...]] = (
        [("trade", 1, Decimal(-300), Decimal(0), False)]
        if reason == "loss"
        else [("account", ACCOUNT, False)]
    )
    state = run(homes, lock + [("position", ACCOUNT, c, s) for c, s in sizes])
    assert state.engine.lockouts.hard_lock(ACCOUNT, state.clock.now()) is not None


def test_the_runner_sees_a_hard_lock_breach() -> None:
    # The property above is only worth something if the lock it relies on is really set.
    state = run(
        [(ACCOUNT, 3600)] * IDS,
        [("trade", 1, Decimal(-300), Decimal(0), False)],
    )
    assert state.engine.lockouts.get(ACCOUNT, "RULE-003") is not None
    assert [type(c) for c in state.port.commands] == [Flatten]


cooldown_steps = st.lists(
    st.one_of(
        st.tuples(st.just("loss"), st.sampled_from(["-120", "-250", "-350", "-20"])),
        st.tuples(st.just("position"), st.sampled_from([MNQ, MES]), st.integers(-4, 4)),
        st.tuples(st.just("advance"), st.integers(1, 900)),
    ),
    min_size=5,
    max_size=50,
)


@PROPERTY
@given(sequence=cooldown_steps)
def test_a_cooldown_cuts_exactly_the_growth_beyond_the_size_at_its_start(
    sequence: list[tuple[Any, ...]],
) -> None:
    engine, clock, port = make_engine(config({"cooldown_after_loss": {}}), with_contracts=False)
    sizes: dict[str, int] = {}
    baseline: dict[str, int] | None = None  # sizes when the running cooldown began, ratcheted
    for step in sequence:
        if step[0] == "advance":
            clock.advance(step[1])
            engine.tick()
            if engine.lockouts.cooldown(ACCOUNT, clock.now()) is None:
                baseline = None
            continue
        if step[0] == "loss":
            was_cool = engine.lockouts.cooldown(ACCOUNT, clock.now()) is not None
            engine.handle(trade(step[1], fees="0", at=clock.now()))
            if not was_cool and engine.lockouts.cooldown(ACCOUNT, clock.now()) is not None:
                baseline = dict(sizes)
            continue
        _, contract, size = step
        before = sizes.get(contract, 0)
        sent_before = len(port.commands)
        engine.handle(position(contract, size, PRICE[contract]))
        sizes[contract] = size
        issued = [c for c in port.commands[sent_before:] if c.contract_id == contract]
        if baseline is None:
            assert issued == []  # no lock, no other rule: nothing to do
            continue
        base = baseline.get(contract, 0)
        same_side = base != 0 and size != 0 and (base > 0) == (size > 0)
        allowed = (base if abs(size) >= abs(base) else size) if same_side else 0
        baseline[contract] = allowed  # only ever ratchets toward flat
        grew = size != 0 and (
            before == 0 or (before > 0) != (size > 0) or abs(size) > abs(before)
        )
        if not grew or abs(size) <= abs(allowed):
            assert issued == [], f"{before} → {size} within {allowed}: {issued}"
        elif allowed == 0:
            assert [type(c) for c in issued] == [CloseContract], (before, size, issued)
        else:
            [cut] = issued
            assert isinstance(cut, PartialClose), (before, size, issued)
            assert cut.size == abs(size) - abs(allowed)
