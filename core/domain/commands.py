"""Enforcement commands: what the engine asks the gateway to do. The app never adds exposure."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias


@dataclass(frozen=True, slots=True, kw_only=True)
class _Command:
    account_id: int
    rule_id: str
    reason: str
    # perf_counter() when the triggering event entered the engine: event→command latency.
    event_at: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseContract(_Command):
    contract_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PartialClose(_Command):
    contract_id: str
    size: int  # contracts to close, positive
    # The signed size the engine saw when it decided: lets the executor send at once and
    # verify afterwards instead of reading the position first (0 = unknown: read first).
    from_size: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder(_Command):
    order_id: int
    contract_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Flatten(_Command):
    """Cancel every working order and close every position, then verify flat over REST.

    The ids are what the mirror knows now, so the executor can start at once; it must still
    re-read the account because the mirror can lag the gateway.
    """

    contract_ids: tuple[str, ...] = ()
    order_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ModifyStop(_Command):
    """Move a stop (trade management) or shrink it to what is left of its position, so it
    can never open one the other way. A field left None is not changed."""

    order_id: int
    contract_id: str
    stop_price: float | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceStop(_Command):
    contract_id: str
    side: int  # the closing side: 1 sell for a long, 0 buy for a short
    size: int
    stop_price: float
    custom_tag: str = field(default="")


EnforcementCommand: TypeAlias = (
    CloseContract | PartialClose | CancelOrder | Flatten | ModifyStop | PlaceStop
)


# Names used in the enforcement log and in log lines, one per command type.
ACTIONS: dict[type, str] = {
    CloseContract: "close_contract",
    PartialClose: "partial_close",
    CancelOrder: "cancel_order",
    Flatten: "flatten",
    ModifyStop: "modify_stop",
    PlaceStop: "place_stop",
}


class EnforcementPort(Protocol):
    """Where commands go. The gateway executor implements it; tests record."""

    def submit(self, command: EnforcementCommand) -> None: ...


class RecordingPort:
    """Keeps every command with the perf_counter() time it arrived."""

    def __init__(self) -> None:
        self._perf = time.perf_counter
        self.commands: list[EnforcementCommand] = []
        self.arrived_at: list[float] = []

    def submit(self, command: EnforcementCommand) -> None:
        self.arrived_at.append(self._perf())
        self.commands.append(command)

    def of_type(self, kind: type) -> list[EnforcementCommand]:
        return [c for c in self.commands if isinstance(c, kind)]

    def clear(self) -> None:
        self.commands.clear()
        self.arrived_at.clear()
