"""MOD-006: the latest quote per contract, merged from partial pushes; not persisted.

The mark for open P&L is the last trade price; a quote without ``lastPrice`` keeps the
previous one; before any last price is known, the bid/ask mid; with no price at all, None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.domain.events import MarketTradeEvent, QuoteEvent


@dataclass(slots=True)
class Quote:
    last: float | None = None
    bid: float | None = None
    ask: float | None = None
    timestamp: datetime | None = None


class QuoteBook:
    def __init__(self) -> None:
        self._quotes: dict[str, Quote] = {}
        self._marks: dict[str, float] = {}
        # Marks from before the feed was lost: shown (as stale), never decided on.
        self._stale: dict[str, float] = {}
        self.epoch = 0  # bumped when every mark is forgotten: caches of marks start again

    def apply(self, event: QuoteEvent) -> float | None:
        """Merge a (possibly partial) quote; returns the contract's mark afterwards."""
        quote = self._quotes.get(event.contract_id)
        if quote is None:
            quote = self._quotes[event.contract_id] = Quote()
        if event.last_price is not None:
            quote.last = event.last_price
        if event.bid is not None:
            quote.bid = event.bid
        if event.ask is not None:
            quote.ask = event.ask
        if event.timestamp is not None:
            quote.timestamp = event.timestamp
        if quote.last is not None:
            mark: float | None = quote.last
        elif quote.bid is not None and quote.ask is not None:
            mark = (quote.bid + quote.ask) / 2.0
        else:
            mark = None
        if mark is not None:
            self._marks[event.contract_id] = mark
        return mark

    def apply_print(self, event: MarketTradeEvent) -> float:
        quote = self._quotes.get(event.contract_id)
        if quote is None:
            quote = self._quotes[event.contract_id] = Quote()
        quote.last = event.price
        if event.timestamp is not None:
            quote.timestamp = event.timestamp
        self._marks[event.contract_id] = event.price
        return event.price

    def clear(self) -> None:
        """Forget every price for deciding (the market feed was lost: what we hold is stale);
        the last marks stay readable through :meth:`last_known` for display."""
        self._stale.update(self._marks)
        self._quotes.clear()
        self._marks.clear()
        self.epoch += 1

    def last_known(self, contract_id: str) -> tuple[float | None, bool]:
        """(price, stale): the live mark, else the last one from before the feed was lost."""
        live = self._marks.get(contract_id)
        if live is not None:
            return live, False
        stale = self._stale.get(contract_id)
        return stale, stale is not None

    def mark(self, contract_id: str) -> float | None:
        return self._marks.get(contract_id)

    @property
    def marks(self) -> dict[str, float]:
        """Live marks by contract (read-only use: the hot path reads it without a call)."""
        return self._marks

    def quote(self, contract_id: str) -> Quote | None:
        return self._quotes.get(contract_id)

    def contracts(self) -> list[str]:
        return list(self._quotes)
