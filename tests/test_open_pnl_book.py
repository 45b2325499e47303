"""The open P&L kept quote by quote always equals the sum done from scratch, whatever the order
of quotes, position changes and a market feed that drops; a position with no price makes the
total unknown, never zero."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.domain.events import QuoteEvent
from core.engine.rules.base import RuleContext
from tests.builders import (
    ACCOUNT,
    ES,
    MES,
    MNQ,
    OTHER_ACCOUNT,
    config,
    make_engine,
    position,
    quote,
)

PRICES = {MNQ: 20_000.0, MES: 5_000.0, ES: 6_400.0}
steps = st.lists(
    st.one_of(
        st.tuples(st.just("quote"), st.sampled_from(list(PRICES)), st.integers(-400, 400)),
        st.tuples(st.just("bid"), st.sampled_from(list(PRICES)), st.integers(-400, 400)),
        st.tuples(st.just("position"), st.sampled_from([ACCOUNT, OTHER_ACCOUNT]),
                  st.sampled_from(list(PRICES)), st.integers(-4, 4), st.integers(-40, 40)),
        st.tuples(st.just("drop")),
    ),
    min_size=1,
    max_size=120,
)


def from_scratch(engine: Any, account_id: int) -> float | None:
    ctx = RuleContext(engine.mirror.account(account_id), engine.clock.now(), engine.calendar,
                      engine.quotes, engine.contracts, engine.pnl, engine.counter,
                      engine.lockouts)  # no book: the plain sum
    return ctx.account_open_pnl()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_the_running_total_equals_the_sum_from_scratch(sequence: list[tuple[Any, ...]]) -> None:
    engine, _, _ = make_engine(config())
    ids = {ACCOUNT: 1, OTHER_ACCOUNT: 2}
    for step in sequence:
        if step[0] == "quote":
            engine.handle(quote(step[1], last=PRICES[step[1]] + step[2] * 0.25))
        elif step[0] == "bid":
            engine.handle(QuoteEvent(step[1], None, PRICES[step[1]] + step[2] * 0.25, None))
        elif step[0] == "position":
            _, acct, contract, size, ticks = step
            engine.handle(position(contract, size, PRICES[contract] + ticks * 0.25,
                                   account_id=acct, position_id=ids[acct]))
        else:
            engine.quotes.clear()
        for acct in (ACCOUNT, OTHER_ACCOUNT):
            book = engine.open_pnl_book.total(engine.mirror.account(acct))
            plain = from_scratch(engine, acct)
            assert (book is None) == (plain is None), (book, plain)
            if book is not None and plain is not None:
                assert abs(book - plain) < 1e-6, (book, plain)


def test_a_position_without_a_price_makes_the_total_unknown() -> None:
    engine, _, _ = make_engine(config())
    engine.handle(position(MNQ, 1, 20_000.0))
    engine.handle(quote(MNQ, last=20_010.0))
    account = engine.mirror.account(ACCOUNT)
    assert engine.open_pnl_book.total(account) == 20.0
    engine.handle(position(ES, 1, 6_400.0, position_id=2))
    assert engine.open_pnl_book.total(account) is None
    engine.handle(quote(ES, last=6_399.0))
    assert engine.open_pnl_book.total(account) == 20.0 - 50.0
    engine.quotes.clear()  # the feed dropped: no stale price decides
    assert engine.open_pnl_book.total(account) is None
