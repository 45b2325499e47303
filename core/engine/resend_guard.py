"""Enforcement is sent once per state: a quote storm must not repeat a close 50,000 times.

A command is held back while an identical one was sent recently *and* the state it acted on
is unchanged (same position size, same flatten set, same stop price). Any change of size
makes it new exposure, so the next close goes out at once. The executor retries on its own;
this only stops repetition. Its intervals run on the injected clock, so an engine on a
replayed clock paces its commands exactly as a live one does.
"""

from __future__ import annotations

from typing import Any

from core.domain.clock import Clock
from core.domain.commands import (
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    Flatten,
    ModifyStop,
    PartialClose,
)
from core.modules.mirror import PositionsMirror

Key = tuple[Any, ...]


class ResendGuard:
    def __init__(
        self, mirror: PositionsMirror, clock: Clock, resend_after: float, stop_interval: float
    ) -> None:
        self._mirror = mirror
        self._clock = clock
        self.resend_after = resend_after
        self.stop_interval = stop_interval
        self._sent: dict[Key, tuple[float, Any]] = {}

    def _key(self, command: EnforcementCommand) -> tuple[Key, Any, float]:
        acct = command.account_id
        if isinstance(command, CloseContract | PartialClose):
            position = self._mirror.account(acct).positions.get(command.contract_id)
            size = position.signed_size if position else 0
            kind = "close" if isinstance(command, CloseContract) else "reduce"
            return (kind, acct, command.contract_id), size, self.resend_after
        if isinstance(command, CancelOrder):
            return ("cancel", acct, command.order_id), None, self.resend_after
        if isinstance(command, Flatten):
            return ("flatten", acct), (command.contract_ids, command.order_ids), self.resend_after
        # ModifyStop / PlaceStop: at most one change a second per stop (a new stop: per position).
        if isinstance(command, ModifyStop):
            key: Key = ("stop", acct, command.contract_id, command.order_id)
            return key, (command.stop_price, command.size), self.stop_interval
        return ("stop", acct, command.contract_id), (command.stop_price, None), self.stop_interval

    def recently_sent(self, command: EnforcementCommand) -> bool:
        key, signature, interval = self._key(command)
        now = self._clock.monotonic()
        last = self._sent.get(key)
        return last is not None and last[1] == signature and now - last[0] < interval

    def mark_sent(self, command: EnforcementCommand) -> None:
        key, signature, _ = self._key(command)
        self._sent[key] = (self._clock.monotonic(), signature)

    def flatten_in_flight(self, account_id: int) -> bool:
        """A flatten went out for this account less than ``resend_after`` ago."""
        last = self._sent.get(("flatten", account_id))
        return last is not None and self._clock.monotonic() - last[0] < self.resend_after

    def forget(self, command: EnforcementCommand) -> None:
        self._sent.pop(self._key(command)[0], None)

    def position_changed(self, account_id: int, contract_id: str) -> None:
        """Closed and reopened at the same size is new exposure: it must be closed again."""
        self._sent.pop(("close", account_id, contract_id), None)
        self._sent.pop(("reduce", account_id, contract_id), None)

    def prune(self) -> None:
        if len(self._sent) > 256:
            now = self._clock.monotonic()
            horizon = max(self.resend_after, self.stop_interval)
            self._sent = {k: v for k, v in self._sent.items() if now - v[0] < horizon}
