"""MOD-009: a mirror of the gateway's positions and working orders per account.

One net position per account and contract (as the gateway keeps them); terminal orders are
dropped. Persisted in batches (at most a few seconds behind): the gateway is the source of
truth and is re-read on every (re)connect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Set
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from core.domain.events import AccountEvent, OrderEvent, PositionEvent
from core.modules.since_read import SinceRead
from core.modules.unbooked import BALANCE_SETTLES, UnbookedCloses

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Lot:
    """Contracts that entered together: ``size`` of them, at ``opened_at``."""

    size: int
    opened_at: datetime


@dataclass(slots=True)
class Position:
    account_id: int
    contract_id: str
    position_id: int
    signed_size: int
    average_price: float
    created_at: datetime | None
    first_seen_at: datetime
    last_grew_at: datetime
    # Oldest first; sizes add up to the position's size. A reduction takes the oldest first
    # (first in, first out), so the contracts left are the newest.
    lots: list[Lot] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.lots and self.signed_size:
            self.lots = [Lot(abs(self.signed_size), self.opened_at)]

    @property
    def size(self) -> int:
        return abs(self.signed_size)

    @property
    def is_long(self) -> bool:
        return self.signed_size > 0

    @property
    def opened_at(self) -> datetime:
        """The gateway's creation time survives our restarts and scale-ins; fall back to ours."""
        return self.created_at or self.first_seen_at

    def resize(self, new_size: int, now: datetime) -> None:
        """Keep the lots in step with a size change on the same side."""
        old = self.size
        if new_size > old:
            self.lots.append(Lot(new_size - old, now))
        else:
            take = old - new_size
            while take > 0 and self.lots:
                oldest = self.lots[0]
                if oldest.size <= take:
                    take -= oldest.size
                    self.lots.pop(0)
                else:
                    oldest.size -= take
                    take = 0


@dataclass(frozen=True, slots=True)
class PositionChange:
    account_id: int
    contract_id: str
    before: int  # signed sizes
    after: int
    # The update could not be applied as it stood (no side or no price for a position never
    # seen): nothing changed, and the account's positions must be re-read over REST.
    needs_reread: bool = False

    @property
    def grew(self) -> bool:
        """Exposure appeared, increased, or flipped to the other side."""
        if self.after == 0:
            return False
        if self.before == 0 or (self.before > 0) != (self.after > 0):
            return True
        return abs(self.after) > abs(self.before)


@dataclass(frozen=True, slots=True)
class OrderChange:
    before: OrderEvent | None
    after: OrderEvent | None  # None: the order reached a terminal state
    # A new order arrived without its type or size: kept as reported, and re-read over REST.
    needs_reread: bool = False

    @property
    def is_new_working(self) -> bool:
        return self.before is None and self.after is not None


@dataclass(slots=True)
class AccountMirror:
    account_id: int
    name: str = ""
    balance: float | None = None
    can_trade: bool | None = None
    # A balance that just changed may already hold a close's realized loss while the position
    # update that removes its open loss is still on the way: until a position update (or a
    # couple of seconds) follows, equity is also read from the balance before it.
    balance_before: float | None = None
    balance_changed_at: datetime | None = None
    # And the other way round: closes whose P&L the balance may not show yet.
    unbooked: UnbookedCloses = field(default_factory=UnbookedCloses)
    # Equity read a second way: the last REST read and what came since (pushes may mislead).
    since_read: SinceRead = field(default_factory=SinceRead)
    # When a push last brought a balance, and last changed it.
    balance_pushed_at: datetime | None = None
    balance_push_changed_at: datetime | None = None
    # When RULE-014 first asked to read the balance again (None: not waiting for a read), and
    # since when its two readings have agreed the buffer is not reached (the wait ends only
    # after they have agreed that long, or a read settles it).
    balance_check_asked_at: datetime | None = None
    balance_check_calm_since: datetime | None = None
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[int, OrderEvent] = field(default_factory=dict)
    # Bumped on every position/order update: a REST read overtaken by the stream is stale.
    changes: int = 0

    def net_contracts(self) -> int:
        return abs(sum(p.signed_size for p in self.positions.values()))

    def gross_contracts(self) -> int:
        return sum(abs(p.signed_size) for p in self.positions.values())

    def settled_balance(self, now: datetime) -> float | None:
        """The balance to add open P&L to. While a balance change is unsettled, the higher of
        it and the one before, so a loss is never counted twice (once realized, once still
        open); and with the P&L of closes the balance may not show yet (see
        :mod:`core.modules.unbooked`), so a profit is never lost. None while a close in its
        settling window has no price at all."""
        balance = self.balance
        if balance is None:
            return None
        changed = self.balance_changed_at
        if (self.balance_before is not None and changed is not None and self.positions
                and now - changed < BALANCE_SETTLES):
            balance = max(balance, self.balance_before)  # flat: no open loss to count twice
        if not self.unbooked.closes:
            return balance
        extra = self.unbooked.adjustment(now)
        return None if extra is None else balance + extra

    def balance_confirmed(self) -> bool:
        """Nothing since the balance was last read over REST (no close, no fill, no pushed
        change): the balance is exactly the read's."""
        read = self.since_read
        if read.read_at is None or not read.settled or self.balance != read.balance:
            return False
        pushed = self.balance_push_changed_at
        return pushed is None or read.read_at >= pushed

    def read_reading(self) -> tuple[float, float] | None:
        """The lowest and highest balance the last read and what came since allow: what to
        add open P&L to when no push is trusted (see :mod:`core.modules.since_read`)."""
        return self.since_read.reading()

    def balance_just_changed(self, now: datetime) -> bool:
        """A balance change not yet followed by a position update, within the window."""
        changed = self.balance_changed_at
        return changed is not None and now - changed < BALANCE_SETTLES

    def orders_for(self, contract_id: str) -> list[OrderEvent]:
        return [o for o in self.orders.values() if o.contract_id == contract_id]


class MirrorStore(Protocol):
    def save_position(self, position: Position) -> None: ...
    def delete_position(self, account_id: int, contract_id: str) -> None: ...
    def save_order(self, order: OrderEvent) -> None: ...
    def delete_order(self, order_id: int) -> None: ...


class PositionsMirror:
    def __init__(self, store: MirrorStore | None = None) -> None:
        self._store = store
        self.accounts: dict[int, AccountMirror] = {}
        # When a balance read of any account last came back: REST is answering.
        self.rest_answered_at: datetime | None = None
        # contract → accounts holding it: a quote touches only those accounts.
        self._holders: dict[str, set[int]] = {}

    def account(self, account_id: int) -> AccountMirror:
        mirror = self.accounts.get(account_id)
        if mirror is None:
            mirror = self.accounts[account_id] = AccountMirror(account_id)
        return mirror

    def holders(self, contract_id: str) -> Set[int]:
        """Read-only view (the live index on the hot path): copy it before changing positions."""
        return self._holders.get(contract_id) or _EMPTY

    def apply_account(
        self, event: AccountEvent, now: datetime | None = None
    ) -> tuple[bool | None, bool | None]:
        """Returns (can_trade before, after). Missing fields mean unchanged."""
        mirror = self.account(event.account_id)
        before = mirror.can_trade
        if event.name is not None:
            mirror.name = event.name
        read_at = event.read_at
        if event.balance is not None and read_at is not None:
            self.rest_answered_at = now or read_at
            self._take_read(mirror, event.balance, read_at, now or read_at)
        elif event.balance is not None:
            mirror.balance_pushed_at = now
            if mirror.since_read.balance is None and now is not None:
                # Nothing read yet: the first balance known starts the second reading.
                mirror.since_read.start_from(event.balance, now, bool(mirror.positions))
            elif event.balance != mirror.balance:
                mirror.balance_push_changed_at = now
            self._set_balance(mirror, event.balance, now)
        if event.can_trade is not None:
            mirror.can_trade = event.can_trade
        return before, mirror.can_trade

    @staticmethod
    def _take_read(mirror: AccountMirror, balance: float, read_at: datetime, now: datetime) -> None:
        """A balance read over REST, sent at ``read_at``."""
        taken = mirror.since_read.read_at
        if taken is not None and read_at < taken:
            log.info("a balance read of account %s answered after a later one: not taken",
                     mirror.account_id)
            return
        mirror.since_read.take(balance, read_at, now)
        pushed = mirror.balance_pushed_at
        if pushed is not None and pushed > read_at:
            return  # a push came after it was sent: the push's balance is the newer one
        PositionsMirror._set_balance(mirror, balance, now, pushed=False)
        mirror.unbooked.booked_by_read(read_at)
        mirror.unbooked.maybe_in_read(read_at)

    @staticmethod
    def _set_balance(
        mirror: AccountMirror, balance: float, now: datetime | None, pushed: bool = True
    ) -> None:
        if not pushed:
            # A read comes with the positions read just before it: no open loss of a close it
            # holds is still waiting to go, so the balance before it is not read as well.
            mirror.balance_changed_at = None
        if balance != mirror.balance:
            if pushed:
                mirror.balance_before = mirror.balance
                mirror.balance_changed_at = now
            mirror.balance = balance
            if pushed:
                mirror.unbooked.balance_changed()

    def apply_position(self, event: PositionEvent, now: datetime) -> PositionChange:
        """Apply a position update. Missing fields mean unchanged; a position never seen that
        arrives without its side or price is not guessed at: the change says re-read."""
        mirror = self.account(event.account_id)
        current = mirror.positions.get(event.contract_id)
        before = current.signed_size if current else 0
        if event.size == 0:
            after = 0
        elif event.side_known:
            after = event.signed_size
        elif current is not None:
            after = event.size if current.is_long else -event.size
        else:
            return PositionChange(event.account_id, event.contract_id, 0, 0, needs_reread=True)
        price = event.average_price if event.average_price is not None else (
            current.average_price if current is not None and (before > 0) == (after > 0) else None
        )
        if after != 0 and price is None:
            return PositionChange(event.account_id, event.contract_id, before, before, needs_reread=True)
        mirror.changes += 1
        mirror.balance_changed_at = None  # a position update after a balance change settles it
        if after == 0:
            if current is not None:
                del mirror.positions[event.contract_id]
                self._unhold(event.contract_id, event.account_id)
                if self._store is not None:
                    self._store.delete_position(event.account_id, event.contract_id)
            return PositionChange(event.account_id, event.contract_id, before, after)
        assert price is not None
        if current is None or (before > 0) != (after > 0):
            current = Position(
                account_id=event.account_id,
                contract_id=event.contract_id,
                position_id=event.position_id,
                signed_size=after,
                average_price=price,
                created_at=event.created_at if current is None else None,
                first_seen_at=now,
                last_grew_at=now,
                lots=[Lot(abs(after), now if current is not None else (event.created_at or now))],
            )
            mirror.positions[event.contract_id] = current
            self._holders.setdefault(event.contract_id, set()).add(event.account_id)
        else:
            if abs(after) > abs(before):
                current.last_grew_at = now
            current.resize(abs(after), now)
            current.signed_size = after
            current.average_price = price
            current.position_id = event.position_id or current.position_id
            if event.created_at is not None:
                current.created_at = event.created_at
        if self._store is not None:
            self._store.save_position(current)
        return PositionChange(event.account_id, event.contract_id, before, after)

    def apply_order(self, event: OrderEvent) -> OrderChange:
        """Apply an order update; fields it leaves out keep their known values."""
        mirror = self.account(event.account_id)
        mirror.changes += 1
        before = mirror.orders.get(event.order_id)
        if before is not None:
            event = _merge_order(before, event)
        if event.is_working:
            mirror.orders[event.order_id] = event
            if self._store is not None:
                self._store.save_order(event)
            unknown = before is None and (event.type is None or event.size is None)
            return OrderChange(before, event, needs_reread=unknown)
        if before is not None:
            del mirror.orders[event.order_id]
            if self._store is not None:
                self._store.delete_order(event.order_id)
        return OrderChange(before, None)

    def restore(self, positions: Iterable[Position], orders: Iterable[OrderEvent]) -> None:
        for position in positions:
            self.account(position.account_id).positions[position.contract_id] = position
            self._holders.setdefault(position.contract_id, set()).add(position.account_id)
        for order in orders:
            self.account(order.account_id).orders[order.order_id] = order

    def _unhold(self, contract_id: str, account_id: int) -> None:
        holders = self._holders.get(contract_id)
        if holders is not None:
            holders.discard(account_id)
            if not holders:
                del self._holders[contract_id]


_EMPTY: frozenset[int] = frozenset()  # shared: must not be mutable


def _merge_order(known: OrderEvent, update: OrderEvent) -> OrderEvent:
    """An update that leaves a field out keeps the known value (stream payloads omit nulls)."""
    changes = {
        name: getattr(known, name)
        for name in ("type", "size", "stop_price", "limit_price", "trail_price", "created_at",
                     "symbol_id", "custom_tag", "parent_order_id", "linked_order_id")
        if getattr(update, name) is None and getattr(known, name) is not None
    }
    return replace(update, **changes) if changes else update


