"""Sending commands: each goes out once per state, is logged, and is announced.

The resend guard holds back a command identical to one sent a moment ago for the same state
(a quote storm must not repeat a close); a partial close carries the size the engine saw, so
the executor can send at once and verify afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from core.domain.bus import EventBus
from core.domain.clock import Clock
from core.domain.commands import ACTIONS, EnforcementCommand, EnforcementPort, PartialClose
from core.engine.notices import EnforcementIssued
from core.engine.resend_guard import ResendGuard
from core.modules.enforcement_log import EnforcementLog, EnforcementRecord
from core.modules.mirror import PositionsMirror

log = logging.getLogger(__name__)


class CommandDispatcher:
    def __init__(
        self,
        port: EnforcementPort,
        resend: ResendGuard,
        mirror: PositionsMirror,
        enforcement_log: EnforcementLog,
        bus: EventBus,
        clock: Clock,
    ) -> None:
        self.port = port
        self.resend = resend
        self.mirror = mirror
        self.enforcement_log = enforcement_log
        self.bus = bus
        self.clock = clock

    def issue_all(self, commands: Iterable[EnforcementCommand], started: float) -> bool:
        issued = False
        for command in commands:
            issued = self.issue(command, started) or issued
        return issued

    def issue(self, command: EnforcementCommand, started: float) -> bool:
        """Send one command unless an identical one just went out; True if it was sent.

        ``started`` is when the triggering event entered the engine (``time.perf_counter()``),
        stamped on the command to measure event-to-command latency; it never decides anything.
        """
        if self.resend.recently_sent(command):
            return False
        self.resend.mark_sent(command)
        if isinstance(command, PartialClose) and not command.from_size:
            position = self.mirror.account(command.account_id).positions.get(command.contract_id)
            command = replace(command, from_size=position.signed_size if position else 0)
        command = replace(command, event_at=started)
        try:
            self.port.submit(command)
        except Exception:
            # A broken executor must not stop the commands after this one; the next event
            # may try again.
            log.exception("the enforcement port refused %r", command)
            self.resend.forget(command)
            return False
        self.enforcement_log.record(
            EnforcementRecord(
                at=self.clock.now(),
                account_id=command.account_id,
                rule_id=command.rule_id,
                action=ACTIONS[type(command)],
                reason=command.reason,
                outcome="issued",
                details=_details(command),
            )
        )
        self.bus.publish(EnforcementIssued(command))
        return True


def _details(command: EnforcementCommand) -> dict[str, Any]:
    fields = {}
    for name in ("contract_id", "order_id", "size", "stop_price", "contract_ids", "order_ids"):
        if hasattr(command, name):
            fields[name] = getattr(command, name)
    return fields
