"""MOD-009 PositionsMirror: net positions and working orders per account."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from core.domain.events import AccountEvent, OrderEvent
from core.domain.parse import parse_account, parse_position
from core.modules.mirror import Position, PositionChange, PositionsMirror
from tests.builders import ACCOUNT, ES, MNQ, OTHER_ACCOUNT, T0, account, order, position


class FakeStore:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def save_position(self, position: Position) -> None:
        self.calls.append(("save_position", (position.contract_id, position.signed_size)))

    def delete_position(self, account_id: int, contract_id: str) -> None:
        self.calls.append(("delete_position", (account_id, contract_id)))

    def save_order(self, order: OrderEvent) -> None:
        self.calls.append(("save_order", order.order_id))

    def delete_order(self, order_id: int) -> None:
        self.calls.append(("delete_order", order_id))


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- positions -----------------------------------------------------------------------------------


def test_open_scale_reduce_flip_close() -> None:
    store = FakeStore()
    m = PositionsMirror(store)
    steps = [
        (2, 0, True),  # open long 2
        (3, 2, True),  # scale in
        (1, 3, False),  # reduce
        (-2, 1, True),  # flip short
        (-1, -2, False),  # reduce the short
        (0, -1, False),  # close (type 0, size 0)
    ]
    for i, (after, before, grew) in enumerate(steps):
        change = m.apply_position(position(MNQ, after, 29540.0 + i), later(i))
        assert (change.before, change.after, change.grew) == (before, after, grew), i
        held = m.account(ACCOUNT).positions.get(MNQ)
        if after == 0:
            assert held is None
        else:
            assert held is not None and held.signed_size == after and held.size == abs(after)
            assert held.average_price == 29540.0 + i
            assert held.is_long is (after > 0)
    assert store.calls[-1] == ("delete_position", (ACCOUNT, MNQ))
    assert [c[1][1] for c in store.calls[:-1]] == [2, 3, 1, -2, -1]


def test_close_event_is_type_zero_size_zero() -> None:
    m = PositionsMirror()
    m.apply_position(position(MNQ, 1, 100.0), T0)
    closed = position(MNQ, 0, 0.0)
    assert closed.type == 0 and closed.size == 0
    assert m.apply_position(closed, later(1)) == PositionChange(ACCOUNT, MNQ, 1, 0)
    assert m.account(ACCOUNT).positions == {}
    # A close for a position never seen changes nothing.
    assert m.apply_position(closed, later(2)) == PositionChange(ACCOUNT, MNQ, 0, 0)


@pytest.mark.parametrize(
    ("before", "after", "grew"),
    [
        (0, 1, True),
        (0, -1, True),
        (1, 2, True),
        (-1, -3, True),
        (2, 1, False),
        (-3, -1, False),
        (2, -1, True),
        (-2, 3, True),
        (2, 2, False),
        (2, 0, False),
        (0, 0, False),
    ],
)
def test_grew(before: int, after: int, grew: bool) -> None:
    assert PositionChange(ACCOUNT, MNQ, before, after).grew is grew


def test_times_of_growth_and_opening() -> None:
    m = PositionsMirror()
    created = T0 - timedelta(hours=1)
    m.apply_position(position(MNQ, 1, 100.0, created_at=created), T0)
    p = m.account(ACCOUNT).positions[MNQ]
    assert p.first_seen_at == T0 and p.last_grew_at == T0 and p.opened_at == created
    m.apply_position(position(MNQ, 2, 100.0, created_at=created), later(10))
    assert p.last_grew_at == later(10) and p.first_seen_at == T0
    m.apply_position(position(MNQ, 1, 100.0, created_at=created), later(20))
    assert p.last_grew_at == later(10)  # a reduction is not growth
    m.apply_position(position(MNQ, -1, 101.0, created_at=later(30)), later(30))
    flipped = m.account(ACCOUNT).positions[MNQ]
    assert flipped.first_seen_at == later(30) and flipped.opened_at == later(30)
    m.apply_position(position(ES, 1, 7700.0), later(40))
    assert m.account(ACCOUNT).positions[ES].opened_at == later(40)  # no gateway time: ours


def test_net_and_gross_contracts() -> None:
    m = PositionsMirror()
    m.apply_position(position(MNQ, 3, 100.0), T0)
    m.apply_position(position(ES, -2, 7700.0), T0)
    a = m.account(ACCOUNT)
    assert a.net_contracts() == 1
    assert a.gross_contracts() == 5


def test_live_position_close_push() -> None:
    m = PositionsMirror()
    m.apply_position(position(MNQ, 1, 29423.0), T0)
    closed = parse_position(
        {
            "id": 825245547,
            "accountId": ACCOUNT,
            "contractId": MNQ,
            "type": 0,
            "size": 0,
            "averagePrice": 0,
        }
    )
    assert not m.apply_position(closed, later(1)).grew
    assert MNQ not in m.account(ACCOUNT).positions


# --- holders index -------------------------------------------------------------------------------


def test_holders_index_follows_positions() -> None:
    m = PositionsMirror()
    assert m.holders(MNQ) == set()
    m.apply_position(position(MNQ, 1, 100.0), T0)
    m.apply_position(position(MNQ, -2, 100.0, account_id=OTHER_ACCOUNT), T0)
    m.apply_position(position(ES, 1, 7700.0), T0)
    assert m.holders(MNQ) == {ACCOUNT, OTHER_ACCOUNT}
    assert m.holders(ES) == {ACCOUNT}
    m.apply_position(position(MNQ, -1, 100.0), later(1))  # a flip still holds it
    assert m.holders(MNQ) == {ACCOUNT, OTHER_ACCOUNT}
    m.apply_position(position(MNQ, 0, 0.0), later(2))
    assert m.holders(MNQ) == {OTHER_ACCOUNT}
    m.apply_position(position(MNQ, 0, 0.0, account_id=OTHER_ACCOUNT), later(3))
    assert m.holders(MNQ) == set()
    assert m.holders(ES) == {ACCOUNT}


def test_empty_holders_is_shared_but_immutable() -> None:
    # The answer for an unheld contract is one shared object: it must not be changeable, or
    # one careless caller would route every quote to a phantom holder.
    m = PositionsMirror()
    empty = m.holders(MNQ)
    assert not hasattr(empty, "add")
    assert m.holders(ES) == set() and not m.holders(ES)


# --- orders --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [2, 3, 4, 5])
def test_terminal_orders_are_removed(status: int) -> None:
    store = FakeStore()
    m = PositionsMirror(store)
    working = order(MNQ, side=1, stop_price=29500.0, order_id=10)
    first = m.apply_order(working)
    assert first.is_new_working and first.before is None and first.after == working
    done = order(MNQ, side=1, stop_price=29500.0, order_id=10, status=status)
    change = m.apply_order(done)
    assert change.before == working and change.after is None and not change.is_new_working
    assert m.account(ACCOUNT).orders == {}
    assert store.calls == [("save_order", 10), ("delete_order", 10)]


@pytest.mark.parametrize("status", [1, 6, 7, 8, 42])
def test_non_terminal_orders_stay(status: int) -> None:
    m = PositionsMirror()
    o = order(MNQ, side=1, order_id=20, status=status)
    assert m.apply_order(o).after == o
    assert m.account(ACCOUNT).orders == {20: o}
    assert m.account(ACCOUNT).orders_for(MNQ) == [o]
    assert m.account(ACCOUNT).orders_for(ES) == []


def test_order_update_is_not_new() -> None:
    m = PositionsMirror()
    m.apply_order(order(MNQ, side=1, order_id=30, stop_price=100.0))
    moved = order(MNQ, side=1, order_id=30, stop_price=101.0)
    change = m.apply_order(moved)
    assert not change.is_new_working and change.after == moved
    assert m.account(ACCOUNT).orders[30].stop_price == 101.0


def test_terminal_order_never_seen_is_not_stored() -> None:
    store = FakeStore()
    m = PositionsMirror(store)
    change = m.apply_order(order(MNQ, side=0, order_id=40, status=2))
    assert change.before is None and change.after is None
    assert m.account(ACCOUNT).orders == {} and store.calls == []


# --- account events ------------------------------------------------------------------------------


def test_missing_can_trade_leaves_it_unchanged() -> None:
    m = PositionsMirror()
    assert m.apply_account(account(True)) == (None, True)
    assert m.apply_account(AccountEvent(ACCOUNT, balance=149000.0)) == (True, True)
    assert m.account(ACCOUNT).balance == 149000.0
    assert m.apply_account(account(False)) == (True, False)
    assert m.apply_account(account(None)) == (False, False)
    assert m.account(ACCOUNT).can_trade is False
    assert m.apply_account(parse_account({"id": ACCOUNT, "name": "PRAC"})) == (False, False)
    assert m.account(ACCOUNT).name == "PRAC" and m.account(ACCOUNT).balance == 149000.0


# --- restore -------------------------------------------------------------------------------------


def test_restore() -> None:
    m = PositionsMirror()
    p1 = Position(ACCOUNT, MNQ, 1, 2, 100.0, None, T0, T0)
    p2 = Position(OTHER_ACCOUNT, MNQ, 2, -1, 101.0, T0, T0, T0)
    o = order(MNQ, side=1, order_id=50, stop_price=99.0)
    m.restore([p1, p2], [o])
    assert m.account(ACCOUNT).positions == {MNQ: p1}
    assert m.account(OTHER_ACCOUNT).positions == {MNQ: p2}
    assert m.holders(MNQ) == {ACCOUNT, OTHER_ACCOUNT}
    assert m.account(ACCOUNT).orders == {50: o}
    # Events after a restore continue from the restored sizes.
    change = m.apply_position(position(MNQ, 3, 100.0), later(1))
    assert (change.before, change.after, change.grew) == (2, 3, True)
    assert m.account(ACCOUNT).positions[MNQ].first_seen_at == T0
    m.apply_position(position(MNQ, 0, 0.0), later(2))
    assert m.holders(MNQ) == {OTHER_ACCOUNT}
    assert not m.apply_order(order(MNQ, side=1, order_id=50, stop_price=99.0)).is_new_working
