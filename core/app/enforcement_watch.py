"""Follows enforcement from the outside: one row per action, and what keeps failing.

The engine announces each command as it goes out (``EnforcementIssued``) and the executor
reports how it ended (``EnforcementDone``, ``EnforcementFailed``, ``EnforcementRecovered``).
This watch folds those notices into one row per action, in the trader's words ("Reduced
MNQU6 long 7 by 2"), and keeps the set of commands the gateway is still refusing: while any is
left the account is **not protected**, and the trader is told exactly what to do by hand.

What a close acted on is read from the positions mirror at the moment it was issued: once the
close has landed the position is gone, and "Closed MNQU6" without the size would not say what
happened.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.app.snapshot import EnforcementView
from core.app.words import side_word
from core.domain.bus import EventBus
from core.domain.clock import Clock
from core.domain.commands import (
    ACTIONS,
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    Flatten,
    ModifyStop,
    PartialClose,
    PlaceStop,
)
from core.engine.engine import Engine
from core.engine.notices import (
    EnforcementDone,
    EnforcementFailed,
    EnforcementIssued,
    EnforcementRecovered,
)

log = logging.getLogger(__name__)

RECENT = 50  # rows kept per account for the dashboard (the history reads the state file)

CommandKey = tuple[str, int, str, int]


def command_key(command: EnforcementCommand) -> CommandKey:
    """One key per thing acted on: a retry with a new reason is still the same action."""
    return (
        ACTIONS[type(command)],
        command.account_id,
        getattr(command, "contract_id", ""),
        getattr(command, "order_id", 0),
    )


@dataclass(slots=True)
class _Row:
    at: datetime
    command: EnforcementCommand
    target: str
    contract: str
    size: int | None
    price: float | None
    tick_size: float | None
    outcome: str = "issued"
    latency_ms: float | None = None

    def view(self) -> EnforcementView:
        c = self.command
        return EnforcementView(
            at=self.at, rule_id=c.rule_id, action=ACTIONS[type(c)], outcome=self.outcome,
            reason=c.reason, target=self.target, contract=self.contract, size=self.size,
            price=self.price, latency_ms=self.latency_ms, tick_size=self.tick_size,
            contract_id=getattr(c, "contract_id", ""),
        )


@dataclass(slots=True)
class Failing:
    command: EnforcementCommand
    error: str
    attempts: int
    since: datetime


@dataclass(slots=True)
class _Account:
    rows: deque[_Row] = field(default_factory=lambda: deque(maxlen=RECENT))
    open: dict[CommandKey, _Row] = field(default_factory=dict)  # issued, not yet finished
    failing: dict[CommandKey, Failing] = field(default_factory=dict)


class EnforcementWatch:
    """Subscribe once; read :meth:`recent` and :meth:`failing` for snapshots. ``engine`` is a
    callable because the service creates its engine only when it starts."""

    def __init__(
        self,
        bus: EventBus,
        engine: Callable[[], Engine | None],
        clock: Clock,
        on_finished: Callable[[int, EnforcementView], None] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._accounts: dict[int, _Account] = {}
        self.on_finished = on_finished  # (account id, row) for each action that went through
        self._unsubscribe = bus.subscribe(self.on_notice)

    def close(self) -> None:
        self._unsubscribe()

    # --- reading --------------------------------------------------------------------------------

    def recent(self, account_id: int) -> tuple[EnforcementView, ...]:
        account = self._accounts.get(account_id)
        return tuple(row.view() for row in account.rows) if account else ()

    def failing(self, account_id: int) -> list[Failing]:
        account = self._accounts.get(account_id)
        return list(account.failing.values()) if account else []

    def any_failing(self) -> bool:
        return any(account.failing for account in self._accounts.values())

    # --- notices --------------------------------------------------------------------------------

    def on_notice(self, notice: Any) -> None:
        if isinstance(notice, EnforcementIssued):
            self._issued(notice.command)
        elif isinstance(notice, EnforcementDone):
            self._done(notice.command, notice.latency_ms)
        elif isinstance(notice, EnforcementFailed):
            self._failed(notice)
        elif isinstance(notice, EnforcementRecovered):
            self._resolve(notice.command)

    def _account(self, account_id: int) -> _Account:
        return self._accounts.setdefault(account_id, _Account())

    def _issued(self, command: EnforcementCommand) -> None:
        account = self._account(command.account_id)
        key = command_key(command)
        if key in account.open:
            # The engine sends the same action again while it is still in flight (a lock's
            # sweep, a quote storm): the executor folds it into the one running. One row.
            return
        target, contract, size, price, tick = self._describe(command)
        row = _Row(self._clock.now(), command, target, contract, size, price, tick)
        account.rows.append(row)
        account.open[key] = row

    def _done(self, command: EnforcementCommand, latency_ms: float) -> None:
        account = self._account(command.account_id)
        key = command_key(command)
        row = account.open.pop(key, None)
        if row is None and any(command_key(r.command) == key and r.outcome == "done"
                               for r in list(account.rows)[-10:]):
            return  # a resend the executor folded into an action already reported done
        if row is None:  # issued before this watch existed (or a command built elsewhere)
            target, contract, size, price, tick = self._describe(command)
            row = _Row(self._clock.now(), command, target, contract, size, price, tick)
            account.rows.append(row)
        row.outcome, row.latency_ms = "done", latency_ms
        self._resolve(command)
        if self.on_finished is not None:
            try:
                self.on_finished(command.account_id, row.view())
            except Exception:
                log.exception("announcing an enforcement failed")

    def _failed(self, notice: EnforcementFailed) -> None:
        command = notice.command
        account = self._account(command.account_id)
        key = command_key(command)
        row = account.open.get(key)
        if row is not None:
            row.outcome = "failed"
        if isinstance(command, ModifyStop | PlaceStop):
            return  # moving a stop is trade management, not protection: the popup says it
        known = account.failing.get(key)
        since = known.since if known is not None else self._clock.now()
        account.failing[key] = Failing(command, notice.error, notice.attempts, since)

    def _resolve(self, command: EnforcementCommand) -> None:
        account = self._account(command.account_id)
        account.failing.pop(command_key(command), None)
        if isinstance(command, Flatten):
            # A finished flatten leaves the account flat with no orders: every failure is moot.
            account.failing.clear()

    # --- words ----------------------------------------------------------------------------------

    def _describe(
        self, command: EnforcementCommand
    ) -> tuple[str, str, int | None, float | None, float | None]:
        """(target words, contract name, size, price, tick size) as the mirror shows it now."""
        engine = self._engine()
        if engine is None:
            return "", "", None, None, None
        try:
            return describe_target(engine, command)
        except Exception:  # words must never break the watch
            log.exception("could not describe %r", command)
            return "", "", None, None, None


def contract_name(engine: Engine, contract_id: str) -> str:
    contract = engine.contracts.get(contract_id)
    return contract.name if contract is not None and contract.name else contract_id


def tick_size(engine: Engine, contract_id: str) -> float | None:
    contract = engine.contracts.get(contract_id)
    return contract.tick_size if contract is not None and contract.tick_size > 0 else None


def describe_target(
    engine: Engine, command: EnforcementCommand
) -> tuple[str, str, int | None, float | None, float | None]:
    account = engine.mirror.accounts.get(command.account_id)
    positions = account.positions if account is not None else {}
    orders = account.orders if account is not None else {}
    if isinstance(command, Flatten):
        held = [f"{contract_name(engine, cid)} {side_word(p.signed_size)}"
                for cid, p in sorted(positions.items())]
        working = len(orders)
        parts = held + ([f"{working} order{'s' if working != 1 else ''}"] if working else [])
        return ", ".join(parts) or "everything", "", None, None, None
    if isinstance(command, CancelOrder):
        order = orders.get(command.order_id)
        cid = order.contract_id if order is not None else command.contract_id
        name = contract_name(engine, cid) if cid else ""
        if order is None:
            return f"order {command.order_id}", name, None, None, None
        side = "buy" if order.side == 0 else "sell"
        price = next((p for p in (order.stop_price, order.limit_price) if p is not None), None)
        words = f"{name} {side} {order.size} (order {command.order_id})"
        return words, name, order.size, price, tick_size(engine, cid)
    cid = command.contract_id
    name = contract_name(engine, cid)
    position = positions.get(cid)
    signed = position.signed_size if position is not None else 0
    if isinstance(command, CloseContract):
        words = f"{name} {side_word(signed)}" if signed else name
        return words, name, abs(signed) or None, None, tick_size(engine, cid)
    if isinstance(command, PartialClose):
        before = signed or command.from_size
        words = (f"{name} {side_word(before)} by {command.size}" if before
                 else f"{name} by {command.size}")
        return words, name, command.size, None, tick_size(engine, cid)
    if isinstance(command, ModifyStop | PlaceStop):
        return f"{name} stop at {command.stop_price:g}", name, None, command.stop_price, None
    return name, name, None, None, None


def todo_words(engine: Engine | None, command: EnforcementCommand) -> str:
    """What the trader must do by hand while the gateway refuses: "close MNQU6 long 7"."""
    if engine is None:
        return "check your positions"
    account = engine.mirror.accounts.get(command.account_id)
    positions = account.positions if account is not None else {}
    if isinstance(command, Flatten):
        held = [f"{contract_name(engine, cid)} {side_word(p.signed_size)}"
                for cid, p in sorted(positions.items())]
        orders = len(account.orders) if account is not None else 0
        parts = []
        if held:
            parts.append("close " + ", ".join(held))
        if orders:
            parts.append(f"cancel {orders} working order{'s' if orders != 1 else ''}")
        return " and ".join(parts) or "check that everything is closed"
    if isinstance(command, CloseContract):
        position = positions.get(command.contract_id)
        name = contract_name(engine, command.contract_id)
        if position is None:  # flat as the stream says, but the gateway never confirmed it
            return f"check that {name} is flat"
        return f"close {name} {side_word(position.signed_size)}"
    if isinstance(command, PartialClose):
        position = positions.get(command.contract_id)
        name = contract_name(engine, command.contract_id)
        if position is None:
            return f"check that {name} is flat"
        keep = max(0, position.size - command.size)
        return f"reduce {name} {side_word(position.signed_size)} to {keep}"
    if isinstance(command, CancelOrder):
        words, _, _, _, _ = describe_target(engine, command)
        return f"cancel {words}"
    if isinstance(command, ModifyStop | PlaceStop):
        return f"check the stop on {contract_name(engine, command.contract_id)}"
    return "check your positions"
