"""Coalescing: one actor per thing on the gateway.

An identical command in flight absorbs a duplicate (a trailing stop that moved on becomes the
running change's follow-up: the newest price wins); a close absorbs a partial close of the same
contract, and supersedes one already running; an account's flatten absorbs its closes, partial
closes, cancels and stop changes, and a stop change that arrives while the account is being
flattened is dropped. Every absorbed job hangs on the job that covers it, so it still gets its
own outcome record when that one finishes (:class:`core.enforcement.executor.EnforcementExecutor`
runs the jobs and records the outcomes).
"""

from __future__ import annotations

from typing import Literal

from core.domain.commands import (
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    Flatten,
    ModifyStop,
    PartialClose,
    PlaceStop,
)
from core.enforcement.jobs import Job, Key
from core.enforcement.steps import Progress

STOPS = (ModifyStop, PlaceStop)
ABSORBED_BY_FLATTEN = (CloseContract, PartialClose, CancelOrder, ModifyStop, PlaceStop)
FLATTENED = "dropped: the account is being flattened"


def coalesce(jobs: dict[Key, Job], job: Job) -> Literal["run", "covered", "dropped"]:
    """Where a new ``job`` goes, given the ``jobs`` in flight: "run" it (any job it takes
    over is out of ``jobs`` already), it is "covered" by one in flight, or "dropped"."""
    command = job.command
    acct = command.account_id
    flatten = jobs.get(("flatten", acct))
    if flatten is not None:
        if isinstance(command, STOPS):
            return "dropped"
        fold_into_flatten(flatten, job)
        return "covered"
    running = jobs.get(job.key)
    if running is not None:
        if (
            isinstance(command, ModifyStop)
            and isinstance(running.command, ModifyStop)
            and command.stop_price != running.command.stop_price
        ):
            running.follow_up = command  # a trailing stop moved on: the newest price wins
        else:
            running.covered.append(job)
        return "covered"
    if isinstance(command, PartialClose):
        close = jobs.get(("close_contract", acct, command.contract_id))
        if close is not None:
            close.covered.append(job)
            return "covered"
    if isinstance(command, CloseContract):
        partial = jobs.get(("partial_close", acct, command.contract_id))
        if partial is not None:
            # The per-contract send lock makes the close wait for a partial close already
            # on the wire instead of racing it.
            supersede(jobs, partial, job)
    if isinstance(command, Flatten):
        for other in [j for j in jobs.values() if j.command.account_id == acct]:
            if isinstance(other.command, ABSORBED_BY_FLATTEN):
                merge(job.progress, other.command)
                supersede(jobs, other, job)
    return "run"


def fold_into_flatten(flatten: Job, job: Job) -> None:
    # The running flatten must now also see this done, and verify once more at the end.
    merge(flatten.progress, job.command)
    flatten.progress.again = True
    flatten.covered.append(job)
    # New exposure must not wait out a slow background retry of the flatten.
    flatten.wake.set()


def merge(progress: Progress, command: EnforcementCommand) -> None:
    if isinstance(command, Flatten):
        progress.contracts.update(command.contract_ids)
        progress.orders.update(command.order_ids)
    elif isinstance(command, CancelOrder):
        progress.orders.add(command.order_id)
    elif isinstance(command, CloseContract | PartialClose):
        progress.contracts.add(command.contract_id)


def supersede(jobs: dict[Key, Job], old: Job, cover: Job) -> None:
    old.superseded = True
    old.progress.halted = True
    cover.covered.append(old)
    cover.covered.extend(old.covered)
    old.covered = []
    del jobs[old.key]
    if old.task is None:
        return
    if old.sleeping:
        old.task.cancel()
    elif isinstance(cover.command, Flatten):
        # Mid-request: whatever it sent (a stop, say) must be visible to the final check.
        cover.progress.in_flight.add(old.task)
