"""The replayed position and the money model: average-price basis, as the gateway counts.

A closing fill realizes (exit − average entry) × direction × size in ticks × the tick's value,
rounded to the cent; adding to a position moves its average price; the average is kept exact
(Decimal), so no rounding piles up over a month of scale-ins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from core.modules.contracts import Contract

CENT = Decimal("0.01")
ZERO = Decimal(0)


def dec(value: float | int | Decimal) -> Decimal:
    """A price as the gateway wrote it: 29542.25 stays 29542.25, not its binary neighbour."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN) + ZERO  # + 0: never -0.00


@dataclass(frozen=True, slots=True)
class Spec:
    """A contract's tick: what one point of price is worth per contract."""

    tick_size: Decimal
    tick_value: Decimal

    @classmethod
    def of(cls, contract: Contract) -> Spec:
        return cls(dec(contract.tick_size), dec(contract.tick_value))

    def money(self, points: Decimal) -> Decimal:
        """``points`` of price × contracts, in account currency, unrounded."""
        return points / self.tick_size * self.tick_value


def realized(spec: Spec, average: Decimal, exit_price: Decimal, direction: int, size: int) -> Decimal:
    """Gross profit of closing ``size`` contracts of a position held in ``direction``."""
    return cents(spec.money((exit_price - average) * direction * size))


@dataclass(slots=True)
class Book:
    """One contract's replayed position."""

    size: int = 0  # signed
    average: Decimal = ZERO
    opened_at: datetime | None = None

    @property
    def direction(self) -> int:
        return (self.size > 0) - (self.size < 0)

    def add(self, signed: int, price: Decimal, at: datetime) -> None:
        """Open or add ``signed`` contracts (same side as the position, or from flat)."""
        if self.size == 0:
            self.size, self.average, self.opened_at = signed, price, at
            return
        total = abs(self.size) + abs(signed)
        self.average = (self.average * abs(self.size) + price * abs(signed)) / total
        self.size += signed

    def reduce(self, size: int) -> None:
        """Take ``size`` contracts off (the average price of what stays does not move)."""
        remaining = abs(self.size) - size
        if remaining < 0:
            raise ValueError(f"cannot take {size} off a position of {self.size}")
        self.size = remaining * self.direction
        if remaining == 0:
            self.average, self.opened_at = ZERO, None
