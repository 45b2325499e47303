"""MOD-001, one attempt of each enforcement verb, each verified by re-reading the gateway.

``closeContract`` and ``partialCloseContract`` return no order id and a success only means
"accepted", so nothing here trusts an answer: an attempt is done when a fresh REST read shows
the goal met. A retry reads first and resends only if the thing is still there, which also
makes an ambiguous failure (the call may have gone through) safe to follow up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from core.domain.commands import (
    CancelOrder,
    CloseContract,
    Flatten,
    ModifyStop,
    PartialClose,
    PlaceStop,
)
from core.domain.events import OrderEvent, OrderType, PositionEvent
from core.gateway.errors import AmbiguousResult, GatewayError, GatewayHttpError
from core.gateway.redact import redact_text

# Prices are floats on the wire; anything closer than this is the same price.
_PRICE_EPSILON = 1e-9


class EnforcementRest(Protocol):
    """The part of :class:`core.gateway.GatewayRest` enforcement uses (tests pass fakes)."""

    async def open_positions(self, account_id: int) -> list[PositionEvent]: ...

    async def open_orders(self, account_id: int) -> list[OrderEvent]: ...

    async def close_contract(self, account_id: int, contract_id: str) -> None: ...

    async def partial_close(self, account_id: int, contract_id: str, size: int) -> None: ...

    async def cancel_order(self, account_id: int, order_id: int) -> None: ...

    async def modify_order(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_price: float | None = None,
    ) -> None: ...

    async def place_order(
        self,
        account_id: int,
        contract_id: str,
        type: int,
        side: int,
        size: int,
        *,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_price: float | None = None,
        custom_tag: str | None = None,
    ) -> int | None: ...


class Halted(Exception):
    """The command was absorbed by another one: it must not send anything more."""


class PermanentFailure(Exception):
    """A stop change the gateway refused for good: retrying would only be refused again."""


class StopOrderGone(PermanentFailure):
    """The stop to modify is no longer working (filled, cancelled, its position closed)."""


@dataclass
class Progress:
    """What one command's attempts have done and found so far (also feeds the log line)."""

    attempts: int = 0
    errors: list[str] = field(default_factory=list)  # this attempt's send errors
    closed: set[str] = field(default_factory=set)
    already_flat: set[str] = field(default_factory=set)
    cancelled: set[int] = field(default_factory=set)
    already_gone: set[int] = field(default_factory=set)
    remaining: list[str] = field(default_factory=list)  # still open at the last re-read
    # Flatten: ids to act on without waiting for a read (the command's and covered commands').
    contracts: set[str] = field(default_factory=set)
    orders: set[int] = field(default_factory=set)
    halted: bool = False  # absorbed by another command: stop before the next send
    again: bool = False  # something new was folded in: verify once more before done
    # Jobs folded in while their request was in flight: what they sent must land first.
    in_flight: set[asyncio.Task[None]] = field(default_factory=set)
    size_before: int | None = None
    target: tuple[int, int] | None = None  # partial close: (position type, size to reach)
    order_id: int | None = None  # the stop placed


def describe(exc: BaseException) -> str:
    # Gateway messages never carry the token, but a transport error might quote a URL.
    return redact_text(f"{type(exc).__name__}: {exc}")


def _transient(exc: GatewayError) -> bool:
    # "Pending" / "OrderPending": the gateway is still busy with an earlier request.
    return exc.name in ("Pending", "OrderPending", "UnknownError")


class Steps:
    def __init__(self, rest: EnforcementRest, lock_for: Callable[[int, str], asyncio.Lock]) -> None:
        self.rest = rest
        self._lock_for = lock_for

    # --- reads ----------------------------------------------------------------------------------

    async def position(self, account_id: int, contract_id: str) -> PositionEvent | None:
        positions = await self.rest.open_positions(account_id)
        return next((p for p in positions if p.contract_id == contract_id and p.size > 0), None)

    async def working(self, account_id: int, order_id: int) -> bool:
        orders = await self.rest.open_orders(account_id)
        return any(o.order_id == order_id and o.is_working for o in orders)

    async def snapshot(self, account_id: int) -> tuple[list[PositionEvent], list[OrderEvent]]:
        positions, orders = await asyncio.gather(
            self.rest.open_positions(account_id), self.rest.open_orders(account_id)
        )
        return [p for p in positions if p.size > 0], [o for o in orders if o.is_working]

    # --- sends ----------------------------------------------------------------------------------

    async def _try(self, call: Awaitable[object]) -> tuple[bool, str | None]:
        """(already done, error): a failed send is not the end, the re-read after it decides."""
        try:
            await call
        except GatewayError as exc:
            if exc.already_done:
                return True, None
            return False, describe(exc)
        except Exception as exc:  # AmbiguousResult, 429/network exhausted, anything odd
            return False, describe(exc)
        return False, None

    async def send_close(self, account_id: int, contract_id: str, p: Progress) -> None:
        _check(p)
        # One close request per contract at a time: two closes racing before the first fill
        # shows could close twice and open the opposite position.
        async with self._lock_for(account_id, contract_id):
            already, error = await self._try(self.rest.close_contract(account_id, contract_id))
        if error is not None:
            p.errors.append(f"close {contract_id}: {error}")
        elif already:
            p.already_flat.add(contract_id)
        else:
            p.closed.add(contract_id)

    async def send_cancel(self, account_id: int, order_id: int, p: Progress) -> None:
        _check(p)
        already, error = await self._try(self.rest.cancel_order(account_id, order_id))
        if error is not None:
            p.errors.append(f"cancel {order_id}: {error}")
        elif already:
            p.already_gone.add(order_id)
        else:
            p.cancelled.add(order_id)

    # --- the verbs ------------------------------------------------------------------------------

    async def close(self, command: CloseContract, p: Progress) -> bool:
        acct, contract = command.account_id, command.contract_id
        if p.attempts and await self.position(acct, contract) is None:
            return True
        await self.send_close(acct, contract, p)
        if await self.position(acct, contract) is None:
            return True
        p.remaining = [contract]
        return False

    async def partial(self, command: PartialClose, p: Progress) -> bool:
        acct, contract = command.account_id, command.contract_id
        if p.target is None and command.from_size and command.size < abs(command.from_size):
            # First attempt on the engine's own view of the size: send now, verify by re-read.
            p.size_before = abs(command.from_size)
            p.target = (1 if command.from_size > 0 else 2, p.size_before - command.size)
            _check(p)
            async with self._lock_for(acct, contract):
                _, error = await self._try(self.rest.partial_close(acct, contract, command.size))
            if error is not None:
                p.errors.append(f"partial close {contract}: {error}")
            if _reached(await self.position(acct, contract), p.target):
                return True
            p.remaining = [contract]
            return False
        # The size before is needed to know when "closed `size` contracts" has happened.
        position = await self.position(acct, contract)
        if p.target is None:
            if position is None:
                return True
            p.size_before = position.size
            side = position.type if position.type is not None else 0  # REST always says
            p.target = (side, max(position.size - command.size, 0))
        if _reached(position, p.target):
            return True
        assert position is not None
        excess = position.size - p.target[1]
        if p.target[1] == 0:
            await self.send_close(acct, contract, p)
        else:
            _check(p)
            async with self._lock_for(acct, contract):
                _, error = await self._try(self.rest.partial_close(acct, contract, excess))
            if error is not None:
                p.errors.append(f"partial close {contract}: {error}")
        if _reached(await self.position(acct, contract), p.target):
            return True
        p.remaining = [contract]
        return False

    async def cancel(self, command: CancelOrder, p: Progress) -> bool:
        acct, order_id = command.account_id, command.order_id
        if p.attempts and not await self.working(acct, order_id):
            return True
        await self.send_cancel(acct, order_id, p)
        if not await self.working(acct, order_id):
            return True
        p.remaining = [f"order {order_id}"]
        return False

    async def flatten(self, command: Flatten, p: Progress) -> bool:
        acct = command.account_id
        if p.attempts == 0:
            p.contracts.update(command.contract_ids)
            p.orders.update(command.order_ids)
        while True:
            p.again = False
            known_contracts, known_orders = set(p.contracts), set(p.orders)
            p.contracts.clear()
            p.orders.clear()
            # Act on what the mirror knew at once, and meanwhile read what the gateway knows.
            _, read = await asyncio.gather(
                self._act(acct, known_contracts, known_orders, p),
                self.snapshot(acct),
                return_exceptions=True,
            )
            if isinstance(read, BaseException):
                raise read
            positions, orders = read
            # Known items were just sent: a position still listed is most likely a close whose
            # fill has not shown yet, and the verification below will see to it.
            found_contracts = {x.contract_id for x in positions} - known_contracts
            found_orders = {o.order_id for o in orders} - known_orders
            # Folded in meanwhile but acted on now: not again on the next pass.
            p.contracts -= found_contracts
            p.orders -= found_orders
            await self._act(acct, found_contracts, found_orders, p)
            positions, orders = await self.snapshot(acct)
            if p.again or p.contracts or p.orders:
                continue  # folded in meanwhile and not acted on yet: a pass, not a failure
            if positions or orders:
                p.remaining = [x.contract_id for x in positions] + [
                    f"order {o.order_id}" for o in orders
                ]
                return False
            if p.in_flight:
                waiting = set(p.in_flight)
                p.in_flight.clear()
                await asyncio.wait(waiting)
                continue
            p.remaining = []
            return True

    async def _act(
        self, account_id: int, contracts: set[str], orders: set[int], p: Progress
    ) -> None:
        # Cancels and closes go together: a stop left working after its position is closed
        # could fill and open the opposite position, so neither waits for the other.
        jobs = [self.send_cancel(account_id, o, p) for o in sorted(orders)]
        jobs += [self.send_close(account_id, c, p) for c in sorted(contracts)]
        if jobs:
            await asyncio.gather(*jobs)

    async def modify_stop(self, command: ModifyStop, p: Progress) -> bool:
        acct = command.account_id
        _check(p)
        try:
            await self.rest.modify_order(
                acct, command.order_id, stop_price=command.stop_price, size=command.size
            )
        except AmbiguousResult:
            orders = await self.rest.open_orders(acct)
            if any(
                o.order_id == command.order_id
                and (command.stop_price is None or _same(o.stop_price, command.stop_price))
                and (command.size is None or o.size == command.size)
                for o in orders
            ):
                return True
            raise
        except GatewayError as exc:
            if exc.order_gone:
                raise StopOrderGone(describe(exc)) from None
            if _transient(exc):
                raise
            raise PermanentFailure(describe(exc)) from None
        return True

    async def place_stop(self, command: PlaceStop, p: Progress) -> bool:
        # A duplicate stop could fill twice and open the opposite position: after any failure
        # that may have reached the gateway, look for the stop before placing it again.
        if p.attempts and await self._stop_exists(command, p):
            return True
        _check(p)
        try:
            p.order_id = await self.rest.place_order(
                command.account_id,
                command.contract_id,
                OrderType.STOP,
                command.side,
                command.size,
                stop_price=command.stop_price,
                custom_tag=command.custom_tag or None,
            )
        except AmbiguousResult:
            if await self._stop_exists(command, p):
                return True
            raise
        except GatewayHttpError:
            raise
        except GatewayError as exc:
            if _transient(exc):
                raise
            raise PermanentFailure(describe(exc)) from None
        return True

    async def _stop_exists(self, command: PlaceStop, p: Progress) -> bool:
        for o in await self.rest.open_orders(command.account_id):
            if not (o.is_working and o.is_stop and o.contract_id == command.contract_id):
                continue
            if o.side != command.side:
                continue
            if (command.custom_tag and o.custom_tag == command.custom_tag) or _same(
                o.stop_price, command.stop_price
            ):
                p.order_id = o.order_id
                return True
        return False


def _check(p: Progress) -> None:
    if p.halted:
        raise Halted("absorbed by another command")


def _reached(position: PositionEvent | None, target: tuple[int, int]) -> bool:
    # Gone, turned around (a new position, not this one), or small enough: nothing to reduce.
    return position is None or position.type != target[0] or position.size <= target[1]


def _same(price: float | None, wanted: float) -> bool:
    return price is not None and abs(price - wanted) < _PRICE_EPSILON
