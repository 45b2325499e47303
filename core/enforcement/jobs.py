"""One enforcement command in flight (a :class:`Job`) and how its outcome is recorded and told:
the enforcement log row, the latency, and the log line's plain words."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.domain.clock import Clock
from core.domain.commands import (
    ACTIONS,
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    Flatten,
    ModifyStop,
    PartialClose,
)
from core.enforcement.steps import Progress
from core.modules.enforcement_log import EnforcementLog, EnforcementRecord

Key = tuple[Any, ...]

VERBS = {
    "close_contract": "close",
    "partial_close": "partial close",
    "cancel_order": "cancel",
    "flatten": "flatten",
    "modify_stop": "move stop",
    "place_stop": "place stop",
}


@dataclass(eq=False)
class Job:
    command: EnforcementCommand
    key: Key
    submitted: float
    progress: Progress = field(default_factory=Progress)
    task: asyncio.Task[None] | None = None
    covered: list[Job] = field(default_factory=list)
    superseded: bool = False
    sleeping: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # cut a retry pause short
    alarmed: bool = False
    error: str = ""
    follow_up: ModifyStop | None = None  # a newer stop price that arrived while this one ran

    @property
    def action(self) -> str:
        return ACTIONS[type(self.command)]


def key_of(command: EnforcementCommand) -> Key:
    acct = command.account_id
    if isinstance(command, Flatten):
        return ("flatten", acct)
    if isinstance(command, CancelOrder | ModifyStop):
        return (ACTIONS[type(command)], acct, command.order_id)
    return (ACTIONS[type(command)], acct, command.contract_id)



class OutcomeReporter:
    """Writes each job's outcome to the enforcement log and words it for the log line."""

    def __init__(
        self,
        enforcement_log: EnforcementLog,
        clock: Clock,
        perf: Callable[[], float],
        contract_name: Callable[[str], str | None] | None,
        log_failure: Callable[[str], None],
    ) -> None:
        self._log = enforcement_log
        self._clock = clock
        self._perf = perf
        self._name = contract_name
        self._log_failure = log_failure

    def latency(self, job: Job) -> float:
        # The engine stamps event_at; a command built elsewhere counts from its submission.
        start = job.command.event_at if job.command.event_at > 0 else job.submitted
        return (self._perf() - start) * 1000.0

    def record(self, job: Job, outcome: str, latency: float | None, **extra: Any) -> None:
        try:
            self._log.record(
                EnforcementRecord(
                    at=self._clock.now(),
                    account_id=job.command.account_id,
                    rule_id=job.command.rule_id,
                    action=job.action,
                    reason=job.command.reason,
                    outcome=outcome,
                    execution_time_ms=latency,
                    details={**self.details(job), **extra},
                )
            )
        except Exception:
            # The audit trail must never stop enforcement itself.
            self._log_failure("could not write the enforcement log")

    def details(self, job: Job) -> dict[str, Any]:
        c, p = job.command, job.progress
        out: dict[str, Any] = {"attempts": p.attempts}
        for name in ("contract_id", "order_id", "size", "side", "stop_price"):
            if hasattr(c, name):
                out[name] = getattr(c, name)
        if isinstance(c, Flatten):
            out["closed"] = sorted(p.closed)
            out["cancelled"] = sorted(p.cancelled)
        if p.size_before is not None:
            out["size_before"] = p.size_before
        if p.target is not None:
            out["target_size"] = p.target[1]
        if p.order_id is not None:
            out["placed_order_id"] = p.order_id
        if p.remaining:
            out["still_open"] = list(p.remaining)
        if job.covered:
            out["covers"] = [ACTIONS[type(o.command)] for o in job.covered]
        return out

    # --- plain words ----------------------------------------------------------------------------

    def show(self, contract_id: str) -> str:
        name = self._name(contract_id) if self._name is not None else None
        return name or contract_id

    def title(self, job: Job) -> str:
        c = job.command
        return f"{c.rule_id} {VERBS[job.action]} account {c.account_id}"

    def summary(self, job: Job) -> str:
        c, p = job.command, job.progress
        if isinstance(c, Flatten):
            parts = []
            if p.closed:
                parts.append("closed " + ", ".join(self.show(x) for x in sorted(p.closed)))
            if p.cancelled:
                n = len(p.cancelled)
                parts.append(f"cancelled {n} order" + ("s" if n != 1 else ""))
            text = ", ".join(parts) or "already flat"
        elif isinstance(c, CloseContract):
            name = self.show(c.contract_id)
            text = f"closed {name}" if c.contract_id in p.closed else f"{name} already flat"
        elif isinstance(c, PartialClose):
            name = self.show(c.contract_id)
            if p.size_before is None or p.target is None:
                text = f"{name} already flat"
            else:
                text = f"reduced {name} from {p.size_before} to at most {p.target[1]}"
        elif isinstance(c, CancelOrder):
            gone = c.order_id in p.already_gone and c.order_id not in p.cancelled
            text = f"order {c.order_id} " + ("already gone" if gone else "cancelled")
        elif isinstance(c, ModifyStop):
            text = f"stop {c.order_id} on {self.show(c.contract_id)} moved to {c.stop_price:g}"
        else:
            text = f"stop for {c.size} {self.show(c.contract_id)} placed at {c.stop_price:g}"
        if p.attempts > 1:
            text += f" after {p.attempts} attempts"
        return text
