"""Each account's open P&L, kept up to date quote by quote instead of summed again on every
quote: the Maximum Loss Limit guard (and every account-scope limit) reads it on each quote of
each contract an account holds.

A quote moves one contract's part; a position update rebuilds its account; a market feed that
drops (every mark forgotten) rebuilds everything, so a position with no price makes the total
unknown (None), never zero. Every so often an account is summed again from scratch, so float
rounding can never creep.
"""

from __future__ import annotations

from core.modules.contracts import ContractCache
from core.modules.mirror import AccountMirror, PositionsMirror
from core.modules.quotes import QuoteBook

RESUM_EVERY = 512  # quote updates between full sums of an account


class _Account:
    __slots__ = ("parts", "total", "unpriced", "updates")

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}
        self.total = 0.0
        self.unpriced = 0  # positions with no part: no mark or no point value yet
        self.updates = 0


class OpenPnlBook:
    def __init__(self, mirror: PositionsMirror, quotes: QuoteBook, contracts: ContractCache) -> None:
        self.mirror = mirror
        self.quotes = quotes
        self.contracts = contracts
        self._accounts: dict[int, _Account] = {}
        self._epoch = quotes.epoch

    def total(self, account: AccountMirror) -> float | None:
        """The account's open P&L; None while any position has no price."""
        if self._epoch != self.quotes.epoch:
            self._forget_all()
        book = self._accounts.get(account.account_id)
        if book is None:
            book = self._rebuild(account)
        return None if book.unpriced else book.total

    def position_changed(self, account: AccountMirror) -> None:
        self._rebuild(account)

    def mark_moved(self, contract_id: str, holders: tuple[int, ...]) -> None:
        """A new mark for ``contract_id``: move its part in every account that holds it."""
        if self._epoch != self.quotes.epoch:
            self._forget_all()
        mark = self.quotes.marks.get(contract_id)
        value = self.contracts.point_values.get(contract_id)
        accounts = self.mirror.accounts
        for account_id in holders:
            book = self._accounts.get(account_id)
            account = accounts.get(account_id)
            if book is None or account is None:
                continue  # built on first read
            position = account.positions.get(contract_id)
            if position is None or mark is None or value is None:
                self._rebuild(account)
                continue
            book.updates += 1
            if book.updates >= RESUM_EVERY:
                self._rebuild(account)
                continue
            part = (mark - position.average_price) * value * position.signed_size
            old = book.parts.get(contract_id)
            if old is None:
                book.unpriced -= 1
                book.total += part
            else:
                book.total += part - old
            book.parts[contract_id] = part

    def _rebuild(self, account: AccountMirror) -> _Account:
        book = _Account()
        marks = self.quotes.marks
        for contract_id, position in account.positions.items():
            mark = marks.get(contract_id)
            value = self.contracts.point_values.get(contract_id)
            if value is None:
                value = self.contracts.point_value(contract_id)
            if mark is None or value is None:
                book.unpriced += 1
                continue
            part = (mark - position.average_price) * value * position.signed_size
            book.parts[contract_id] = part
            book.total += part
        self._accounts[account.account_id] = book
        return book

    def _forget_all(self) -> None:
        self._accounts.clear()
        self._epoch = self.quotes.epoch
