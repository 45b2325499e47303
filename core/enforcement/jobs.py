"""One enforcement command in flight (a :class:`Job`) and how its outcome is recorded and told:
the enforcement log row, the latency, and the log line's plain words.

A log line names the rule first, as a trader says it, with its id in brackets so the log can
still be searched ("Maximum Loss Limit guard [RULE-014]: flattened account 13370002 (closed
MNQU6, cancelled 1 order) in 69 ms (...)"): the same form as the notice log's lines."""

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
from core.domain.words import rule_label
from core.enforcement.steps import Progress
from core.modules.enforcement_log import EnforcementLog, EnforcementRecord

Key = tuple[Any, ...]

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

    def title(self, command: EnforcementCommand) -> str:
        """The rule, then what the command sets out to do: for a line written before it is done
        ("Max contracts [RULE-001]: reducing MNQU6 by 2 on account 13370002")."""
        return f"{rule_label(command.rule_id)}: {self._aim(command)}"

    def done_line(self, job: Job, latency: float) -> str:
        """The rule, what was done, how fast and why: "Max contracts [RULE-001]: reduced MNQU6
        from 7 to at most 5 on account 13370002 in 15 ms (7 contracts open (net), limit 5)"."""
        c = job.command
        return f"{rule_label(c.rule_id)}: {self.summary(job)} in {latency:.0f} ms ({c.reason})"

    def _aim(self, c: EnforcementCommand) -> str:
        on = f"on account {c.account_id}"
        if isinstance(c, Flatten):
            return f"flattening account {c.account_id}"
        if isinstance(c, CloseContract):
            return f"closing {self.show(c.contract_id)} {on}"
        if isinstance(c, PartialClose):
            return f"reducing {self.show(c.contract_id)} by {c.size} {on}"
        if isinstance(c, CancelOrder):
            return f"cancelling order {c.order_id} {on}"
        if isinstance(c, ModifyStop):
            return f"{self._stop_change(c, 'moving', 'cutting')} {on}"
        return f"placing a stop for {c.size} {self.show(c.contract_id)} at {_price(c.stop_price)} {on}"

    def _stop_change(self, c: ModifyStop, move: str, cut: str) -> str:
        # A stop is moved (trade management), cut to what is left of its position, or both.
        what = f"the stop {c.order_id} on {self.show(c.contract_id)}"
        if c.stop_price is not None and c.size is not None:
            return f"{move} {what} to {_price(c.stop_price)} and {cut} it to {_contracts(c.size)}"
        if c.stop_price is not None:
            return f"{move} {what} to {_price(c.stop_price)}"
        return f"{cut} {what} to {_contracts(c.size or 0)}"

    def summary(self, job: Job) -> str:
        """What was done, in plain words, with the account it was done on."""
        c, p = job.command, job.progress
        on = f"on account {c.account_id}"
        if isinstance(c, Flatten):
            parts = []
            if p.closed:
                parts.append("closed " + ", ".join(self.show(x) for x in sorted(p.closed)))
            if p.cancelled:
                n = len(p.cancelled)
                parts.append(f"cancelled {n} order" + ("s" if n != 1 else ""))
            if parts:
                text = f"flattened account {c.account_id} ({', '.join(parts)})"
            else:
                text = f"found account {c.account_id} already flat"
        elif isinstance(c, CloseContract):
            name = self.show(c.contract_id)
            text = f"closed {name} {on}" if c.contract_id in p.closed else f"found {name} {on} already flat"
        elif isinstance(c, PartialClose):
            name = self.show(c.contract_id)
            if p.size_before is None or p.target is None:
                text = f"found {name} {on} already flat"
            else:
                text = f"reduced {name} from {p.size_before} to at most {p.target[1]} {on}"
        elif isinstance(c, CancelOrder):
            gone = c.order_id in p.already_gone and c.order_id not in p.cancelled
            if gone:
                text = f"found order {c.order_id} {on} already gone"
            else:
                text = f"cancelled order {c.order_id} {on}"
        elif isinstance(c, ModifyStop):
            text = f"{self._stop_change(c, 'moved', 'cut')} {on}"
        else:
            text = f"placed a stop for {c.size} {self.show(c.contract_id)} at {_price(c.stop_price)} {on}"
        if p.attempts > 1:
            text += f" after {p.attempts} attempts"
        return text


def _price(value: float) -> str:
    # Plain "{:g}" keeps six digits: 21000.25 would read 21000.2, a price the stop is not at.
    return f"{value:.10g}"


def _contracts(n: int) -> str:
    return f"{n} contract" + ("s" if n != 1 else "")
