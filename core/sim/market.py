"""A seeded random-walk market that feeds the exchange and produces market-hub payloads.

Prices move in whole ticks. Some steps only move the book and produce a PARTIAL quote (no
``lastPrice``), as the live gateway does, so that clients learn to merge quotes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.sim.exchange import SimExchange
from core.sim.models import SimContract, clean_number, print_time, round_price, wire_time

QUOTE_EVENT = "GatewayQuote"
TRADE_PRINT_EVENT = "GatewayTrade"
DEPTH_EVENT = "GatewayDepth"
DEPTH_BEST_ASK, DEPTH_BEST_BID = 3, 4

# Symmetric step distribution in ticks; mostly small moves, like a quiet index future.
_STEPS = (-2, -1, -1, 0, 0, 0, 1, 1, 2)


@dataclass(frozen=True)
class MarketEvent:
    """One market-hub push: ``target`` with arguments ``[contract_id, data]``."""

    target: str
    contract_id: str
    data: dict[str, Any] | list[dict[str, Any]]

    def arguments(self) -> list[Any]:
        return [self.contract_id, self.data]


@dataclass
class _Book:
    contract: SimContract
    last: float
    bid: float
    ask: float
    open: float
    high: float
    low: float
    volume: int = 0
    bias: float = 0.0


class MarketSimulator:
    def __init__(
        self,
        exchange: SimExchange,
        *,
        seed: int = 0,
        partial_probability: float = 0.25,
        depth_probability: float = 0.1,
        contract_ids: Iterable[str] | None = None,
    ) -> None:
        self.exchange = exchange
        self.partial_probability = partial_probability
        self.depth_probability = depth_probability
        self._rng = random.Random(seed)
        ids = list(contract_ids) if contract_ids is not None else list(exchange.contracts)
        self._books: dict[str, _Book] = {}
        for contract_id in ids:
            contract = exchange.contracts[contract_id]
            start = contract.start_price
            tick = contract.tick_size
            book = _Book(contract, start, start, round_price(start + tick, tick), start, start, start)
            self._books[contract_id] = book
            exchange.set_price(contract_id, book.last, bid=book.bid, ask=book.ask)

    @property
    def contract_ids(self) -> list[str]:
        return list(self._books)

    def last_price(self, contract_id: str) -> float:
        return self._books[contract_id].last

    def set_bias(self, contract_id: str, bias: float) -> None:
        """Lean the walk: +1 only up, −1 only down, 0 symmetric. Lets a demo go against a trader."""
        self._books[contract_id].bias = max(-1.0, min(1.0, bias))

    def set_price(self, contract_id: str, price: float) -> list[MarketEvent]:
        """Jump to ``price`` with one print (tests and scripted scenarios)."""
        book = self._books[contract_id]
        return self._trade(book, round_price(price, book.contract.tick_size), self._now())

    def step(self, contract_ids: Iterable[str] | None = None) -> list[MarketEvent]:
        """Advance every (or the given) contract by one random event."""
        now = self._now()
        events: list[MarketEvent] = []
        for contract_id in list(contract_ids) if contract_ids is not None else list(self._books):
            book = self._books.get(contract_id)
            if book is None:
                continue
            if self._rng.random() < self.partial_probability:
                events.extend(self._book_only(book, now))
            else:
                events.extend(self._trade(book, self._next_last(book), now))
        return events

    def quote_payload(self, contract_id: str) -> dict[str, Any]:
        book = self._books[contract_id]
        return self._full_quote(book, self._now())

    # ------------------------------------------------------------------ internals
    def _now(self) -> datetime:
        return self.exchange.now()

    def _next_last(self, book: _Book) -> float:
        tick = book.contract.tick_size
        if book.bias and self._rng.random() < abs(book.bias):
            move = self._rng.choice((1, 2)) * (1 if book.bias > 0 else -1)
        else:
            move = self._rng.choice(_STEPS)
        return round_price(max(book.last + move * tick, tick * 10), tick)

    def _trade(self, book: _Book, last: float, now: datetime) -> list[MarketEvent]:
        tick = book.contract.tick_size
        buyer = last > book.last or (last == book.last and self._rng.random() < 0.5)
        book.last = last
        book.bid, book.ask = (round_price(last - tick, tick), last) if buyer else (
            last, round_price(last + tick, tick))
        size = self._rng.randint(1, 5)
        book.volume += size
        book.high, book.low = max(book.high, last), min(book.low, last)
        self.exchange.set_price(book.contract.id, last, bid=book.bid, ask=book.ask)
        prints = [{
            "symbolId": book.contract.symbol_id,
            "price": clean_number(last),
            "timestamp": print_time(now),
            "type": 0 if buyer else 1,
            "volume": size,
            "contractId": book.contract.id,
        }]
        events = [MarketEvent(TRADE_PRINT_EVENT, book.contract.id, prints),
                  MarketEvent(QUOTE_EVENT, book.contract.id, self._full_quote(book, now))]
        if self._rng.random() < self.depth_probability:
            events.append(self._depth(book, now))
        return events

    def _book_only(self, book: _Book, now: datetime) -> list[MarketEvent]:
        tick = book.contract.tick_size
        book.bid = round_price(book.last - tick * self._rng.choice((0, 1)), tick)
        book.ask = round_price(book.bid + tick, tick)
        self.exchange.set_book(book.contract.id, book.bid, book.ask)
        partial = {
            "symbol": book.contract.symbol_id,
            "bestBid": clean_number(book.bid),
            "bestAsk": clean_number(book.ask),
            "lastUpdated": wire_time(now),
            "timestamp": print_time(now),
            "contract": book.contract.id,  # present on the live partial quote
        }
        return [MarketEvent(QUOTE_EVENT, book.contract.id, partial)]

    def _full_quote(self, book: _Book, now: datetime) -> dict[str, Any]:
        change = book.last - book.open
        return {
            "symbol": book.contract.symbol_id,
            "symbolName": "/" + book.contract.root,
            "lastPrice": clean_number(book.last),
            "bestBid": clean_number(book.bid),
            "bestAsk": clean_number(book.ask),
            "change": clean_number(round_price(change, book.contract.tick_size)),
            "changePercent": round(change / book.open * 100, 4) if book.open else 0,
            "open": clean_number(book.open),
            "high": clean_number(book.high),
            "low": clean_number(book.low),
            "volume": book.volume,
            "lastUpdated": wire_time(now),
            "timestamp": print_time(now),
        }

    def _depth(self, book: _Book, now: datetime) -> MarketEvent:
        levels = [
            {"contractId": book.contract.id, "timestamp": wire_time(now), "type": kind,
             "price": clean_number(price), "volume": self._rng.randint(1, 40), "currentVolume": 0}
            for kind, price in ((DEPTH_BEST_BID, book.bid), (DEPTH_BEST_ASK, book.ask))
        ]
        return MarketEvent(DEPTH_EVENT, book.contract.id, levels)
