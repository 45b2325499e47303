"""MOD-006 QuoteBook: partial quotes merged per contract; the mark for open P&L."""

from __future__ import annotations

from datetime import timedelta

from core.domain.events import MarketTradeEvent, QuoteEvent
from core.domain.parse import parse_market_push
from core.modules.quotes import QuoteBook
from tests.builders import ES, MNQ, T0, fixture_json, quote


def test_no_price_no_mark() -> None:
    book = QuoteBook()
    assert book.mark(MNQ) is None
    assert book.quote(MNQ) is None
    assert book.apply(quote(MNQ)) is None
    assert book.apply(quote(MNQ, bid=100.0)) is None  # one side is not a mid
    assert book.mark(MNQ) is None
    assert book.contracts() == [MNQ]


def test_mid_before_any_last() -> None:
    book = QuoteBook()
    book.apply(quote(MNQ, bid=100.0))
    assert book.apply(quote(MNQ, ask=100.5)) == 100.25  # merged across two partial pushes
    assert book.mark(MNQ) == 100.25


def test_last_wins_over_mid() -> None:
    book = QuoteBook()
    book.apply(quote(MNQ, bid=100.0, ask=101.0))
    assert book.apply(quote(MNQ, last=100.75)) == 100.75
    assert book.apply(quote(MNQ, bid=99.0, ask=99.5)) == 100.75  # the mid no longer matters
    q = book.quote(MNQ)
    assert q is not None and (q.last, q.bid, q.ask) == (100.75, 99.0, 99.5)


def test_partial_quote_without_last_keeps_previous_last() -> None:
    book = QuoteBook()
    book.apply(QuoteEvent(MNQ, last_price=29540.0, bid=29539.75, ask=29540.25, timestamp=T0))
    later = T0 + timedelta(seconds=1)
    assert book.apply(QuoteEvent(MNQ, bid=29541.0, timestamp=later)) == 29540.0
    q = book.quote(MNQ)
    assert q is not None
    assert q.last == 29540.0 and q.bid == 29541.0 and q.ask == 29540.25 and q.timestamp == later
    # A push without a timestamp keeps the previous one too.
    book.apply(QuoteEvent(MNQ, ask=29541.5))
    assert book.quote(MNQ).timestamp == later  # type: ignore[union-attr]


def test_contracts_are_independent() -> None:
    book = QuoteBook()
    book.apply(quote(MNQ, last=29540.0))
    book.apply(quote(ES, bid=7700.0, ask=7700.5))
    assert book.mark(MNQ) == 29540.0
    assert book.mark(ES) == 7700.25
    assert sorted(book.contracts()) == sorted([MNQ, ES])


def test_trade_print_updates_last() -> None:
    book = QuoteBook()
    book.apply(quote(MNQ, bid=100.0, ask=101.0))
    assert book.apply_print(MarketTradeEvent(MNQ, 100.75, 2, timestamp=T0)) == 100.75
    assert book.mark(MNQ) == 100.75
    # A later quote without lastPrice keeps the printed price.
    assert book.apply(quote(MNQ, bid=102.0, ask=103.0)) == 100.75
    assert book.quote(MNQ).timestamp == T0  # type: ignore[union-attr]


def test_print_before_any_quote() -> None:
    book = QuoteBook()
    book.apply_print(MarketTradeEvent(ES, 7701.0, 1))
    assert book.mark(ES) == 7701.0
    assert book.apply(quote(ES, last=7702.0)) == 7702.0


def test_live_stream_market_pushes() -> None:
    book = QuoteBook()
    for push in fixture_json("stream_events.json"):
        if push.get("hub") != "market" or push["target"] not in ("GatewayQuote", "GatewayTrade"):
            continue
        for event in parse_market_push(push["target"], push["arguments"]):
            if isinstance(event, QuoteEvent):
                book.apply(event)
                if event.last_price is not None:
                    assert book.mark(event.contract_id) == event.last_price
            elif isinstance(event, MarketTradeEvent):
                book.apply_print(event)
                assert book.mark(event.contract_id) == event.price
    # The recorded quote is partial (no lastPrice): its mark is the mid; the print is a last.
    assert book.mark(MNQ) == (29547 + 29547.5) / 2
    assert book.mark("CON.F.US.MES.U26") == 7730.5


def test_clearing_forgets_every_mark() -> None:
    from core.domain.events import QuoteEvent
    from core.modules.quotes import QuoteBook

    book = QuoteBook()
    book.apply(QuoteEvent("CON.F.US.MNQ.U26", last_price=100.0))
    book.clear()
    assert book.mark("CON.F.US.MNQ.U26") is None
    assert book.quote("CON.F.US.MNQ.U26") is None
