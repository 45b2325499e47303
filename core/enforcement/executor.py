"""MOD-001, the action half: carry the engine's commands out on the gateway, and make sure.

The engine calls :meth:`EnforcementExecutor.submit` on the event loop and must never wait or
see an exception, so every command becomes its own task: one account's trouble never delays
another's. A command is done only when a REST re-read confirms it (see
:mod:`core.enforcement.steps`). Failures are retried with backoff; the trader gets a critical
:class:`EnforcementFailed` as soon as a command is still not done ``alarm_after`` seconds after
it was submitted (even while an attempt is still waiting on the gateway), or after a bounded
round of attempts, whichever comes first; it repeats until resolved while the executor keeps
trying at a slower pace, for as long as there is something to close or cancel. Every request
a command makes runs under :func:`core.gateway.session.urgent_requests` (short timeouts).

Coalescing (:mod:`core.enforcement.coalesce`) keeps one actor per thing: an identical command
in flight absorbs a duplicate, a close absorbs a partial close of the same contract, and an
account's flatten absorbs its closes, partial closes, cancels and stop changes. Every absorbed
command still gets its own outcome record when the command that covers it finishes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from core.domain.bus import EventBus
from core.domain.clock import Clock
from core.domain.commands import (
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    Flatten,
    ModifyStop,
    PartialClose,
    PlaceStop,
)
from core.enforcement.coalesce import FLATTENED, STOPS, coalesce
from core.enforcement.jobs import Job, Key, OutcomeReporter, key_of
from core.enforcement.steps import (
    EnforcementRest,
    PermanentFailure,
    Steps,
    StopOrderGone,
    describe,
)
from core.engine.notices import EnforcementDone, EnforcementFailed, EnforcementRecovered
from core.gateway.session import urgent_requests
from core.modules.enforcement_log import EnforcementLog

log = logging.getLogger("core.enforcement.executor")

Sleep = Callable[[float], Awaitable[None]]

class EnforcementExecutor:
    """Implements :class:`core.domain.commands.EnforcementPort` on top of the gateway's REST API."""

    def __init__(
        self,
        rest: EnforcementRest,
        bus: EventBus,
        enforcement_log: EnforcementLog,
        clock: Clock,
        *,
        sleep: Sleep = asyncio.sleep,
        perf: Callable[[], float] = time.perf_counter,
        # The first retry waits long enough for an accepted close's fill to show in a re-read:
        # sending it again any sooner could close twice and flip the position.
        backoff: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0),
        round_attempts: int = 5,
        slow_interval: float = 10.0,
        alarm_every: int = 3,
        stop_alarm_after: int = 3,
        # Real seconds from submission to the first alarm when nothing is confirmed by then.
        alarm_after: float = 8.0,
        contract_name: Callable[[str], str | None] | None = None,
    ) -> None:
        if round_attempts < 1 or alarm_every < 1 or not backoff:
            raise ValueError("round_attempts and alarm_every must be >= 1, backoff non-empty")
        self._bus = bus
        self._log = enforcement_log
        self._clock = clock
        self._sleep = sleep
        self._perf = perf
        self._backoff = tuple(backoff)
        self._round = round_attempts
        self._slow = slow_interval
        self._alarm_every = alarm_every
        self._stop_alarm_after = stop_alarm_after
        self._alarm_after = alarm_after
        self._alarm_timers: dict[Job, asyncio.TimerHandle] = {}
        self._name = contract_name
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._steps = Steps(rest, self._lock_for)
        self._jobs: dict[Key, Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop_failures: dict[tuple[int, str], int] = {}
        self._closed = False
        self._outcomes = OutcomeReporter(enforcement_log, clock, perf, contract_name, log.exception)

    # --- the port -------------------------------------------------------------------------------

    def submit(self, command: EnforcementCommand) -> None:
        try:
            self._submit(command)
        except Exception:
            # The engine must never see an executor failure; the next event may issue it again.
            log.exception("%s: could not be started", self._title(command))

    def in_flight(self) -> list[EnforcementCommand]:
        return [job.command for job in self._jobs.values()]

    async def drain(self) -> None:
        """Wait until nothing is in flight (a command failing for good keeps this waiting)."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.wait(pending)

    async def aclose(self) -> None:
        self._closed = True
        tasks = tuple(self._tasks)
        for job in self._jobs.values():
            log.warning("%s: still unconfirmed as the risk manager stops", self._title(job.command))
        for timer in self._alarm_timers.values():
            timer.cancel()
        self._alarm_timers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- coalescing -----------------------------------------------------------------------------

    def _submit(self, command: EnforcementCommand) -> None:
        if self._closed:
            log.warning("%s: not started, the risk manager is stopping", self._title(command))
            return
        job = Job(command, key_of(command), self._perf())
        verdict = coalesce(self._jobs, job)
        if verdict == "dropped":
            self._outcomes.record(job, "failed", None, error=FLATTENED)
        elif verdict == "run":
            self._start(job)

    def _start(self, job: Job) -> None:
        self._jobs[job.key] = job
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._run(job), name=f"enforce {job.action} {job.command.account_id}")
        if not isinstance(job.command, STOPS):
            # A timer, not a check after each attempt: an attempt stuck on a silent gateway
            # must not hold the alarm back.
            self._alarm_timers[job] = loop.call_later(self._alarm_after, self._alarm_if_not_done, job)
        job.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _lock_for(self, account_id: int, contract_id: str) -> asyncio.Lock:
        return self._locks.setdefault((account_id, contract_id), asyncio.Lock())

    # --- running --------------------------------------------------------------------------------

    def _alarm_if_not_done(self, job: Job) -> None:
        if job.alarmed or job.superseded or self._closed or self._jobs.get(job.key) is not job:
            return
        job.alarmed = True
        error = job.error or "no confirmation from the gateway yet"
        seconds = self._alarm_after
        self._outcomes.record(job, "failed", self._outcomes.latency(job), error=error)
        log.error(
            "%s: not done %g s after the breach (%s); still trying",
            self._title(job.command),
            seconds,
            error,
        )
        self._bus.publish(EnforcementFailed(job.command, error, job.progress.attempts))

    async def _run(self, job: Job) -> None:
        try:
            if job.superseded:
                return  # absorbed before it ever ran
            with urgent_requests():
                if isinstance(job.command, STOPS):
                    await self._run_stop(job)
                else:
                    await self._run_until_done(job)
        except asyncio.CancelledError:
            if not job.superseded or self._closed:
                raise
            # Cancelled by _supersede while waiting to retry: a normal end, not a cancellation.
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        except Exception:
            log.exception("%s: stopped on an internal error", self._title(job.command))
        finally:
            timer = self._alarm_timers.pop(job, None)
            if timer is not None:
                timer.cancel()
            if self._jobs.get(job.key) is job:
                del self._jobs[job.key]
            if job.follow_up is not None and not self._closed and not job.superseded:
                self.submit(job.follow_up)

    async def _attempt(self, job: Job) -> tuple[bool, str | None]:
        command, p = job.command, job.progress
        p.errors.clear()
        try:
            if isinstance(command, CloseContract):
                done = await self._steps.close(command, p)
            elif isinstance(command, PartialClose):
                done = await self._steps.partial(command, p)
            elif isinstance(command, CancelOrder):
                done = await self._steps.cancel(command, p)
            elif isinstance(command, Flatten):
                done = await self._steps.flatten(command, p)
            elif isinstance(command, ModifyStop):
                done = await self._steps.modify_stop(command, p)
            else:
                done = await self._steps.place_stop(command, p)
            error = None
        except PermanentFailure:
            raise
        except Exception as exc:
            done, error = False, "; ".join([*p.errors, describe(exc)])
        finally:
            p.attempts += 1
        if not done and error is None:
            error = "; ".join(p.errors) or "still open after re-read: " + ", ".join(
                self._outcomes.show(x) for x in p.remaining
            )
        return done, error

    async def _run_until_done(self, job: Job) -> None:
        while not job.superseded:
            done, error = await self._attempt(job)
            if job.superseded:
                return
            if done:
                self._finish(job)
                return
            job.error = error or "not done"
            attempts = job.progress.attempts
            alarm = (attempts == self._round and not job.alarmed) or (
                attempts > self._round and (attempts - self._round) % self._alarm_every == 0
            )
            if attempts < self._round:
                delay = self._backoff[min(attempts - 1, len(self._backoff) - 1)]
            else:
                delay = self._slow
            if alarm:
                job.alarmed = True
                self._outcomes.record(job, "failed", self._outcomes.latency(job), error=job.error)
                log.error(
                    "%s: still not done after %d attempts (%s); trying again every %g s",
                    self._title(job.command),
                    attempts,
                    job.error,
                    self._slow,
                )
                self._bus.publish(EnforcementFailed(job.command, job.error, attempts))
            else:
                self._outcomes.record(job, "retry", None, error=job.error)
                log.warning(
                    "%s: attempt %d not done (%s); again in %g s",
                    self._title(job.command),
                    attempts,
                    job.error,
                    delay,
                )
            await self._pause(job, delay)

    async def _run_stop(self, job: Job) -> None:
        # Trade management is a convenience, not protection: one retry, then give up quietly.
        command = job.command
        assert isinstance(command, ModifyStop | PlaceStop)
        gone = permanent = False
        error = "not done"
        for attempt in (1, 2):
            try:
                done, err = await self._attempt(job)
            except PermanentFailure as exc:
                done, err, permanent = False, str(exc), True
                gone = isinstance(exc, StopOrderGone)
            if job.superseded:
                return
            if done:
                self._stop_failures.pop((command.account_id, command.contract_id), None)
                self._finish(job)
                return
            error = err or error
            if permanent or attempt == 2:
                break
            self._outcomes.record(job, "retry", None, error=error)
            log.warning(
                "%s: attempt %d failed (%s); one more try", self._title(command), attempt, error
            )
            await self._pause(job, self._backoff[0])
        job.error = error
        self._outcomes.record(job, "failed", self._outcomes.latency(job), error=error)
        log.warning("%s: failed (%s)", self._title(command), error)
        if gone:
            return  # the position it protected is gone with it: nothing to alarm about
        where = (command.account_id, command.contract_id)
        count = self._stop_failures.get(where, 0) + 1
        self._stop_failures[where] = count
        if count >= self._stop_alarm_after:
            message = f"{error} ({count} stop changes in a row failed)"
            self._bus.publish(EnforcementFailed(command, message, job.progress.attempts))

    async def _pause(self, job: Job, delay: float) -> None:
        job.sleeping = True
        job.wake.clear()
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(job.wake.wait())
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
            job.sleeping = False

    # --- outcomes -------------------------------------------------------------------------------

    def _title(self, command: EnforcementCommand) -> str:
        """The rule and what the command sets out to do; its repr if even that fails (a line
        written while something already went wrong must not raise again)."""
        try:
            return self._outcomes.title(command)
        except Exception:
            return repr(command)

    def _finish(self, job: Job) -> None:
        latency = self._outcomes.latency(job)
        attempts = job.progress.attempts
        self._outcomes.record(job, "done", latency)
        try:
            log.info("%s", self._outcomes.done_line(job, latency))
        except Exception:
            # The line is the trader's, the notices below are protection's: never lose those.
            log.exception("%s: done, but its log line could not be written", self._title(job.command))
        self._bus.publish(EnforcementDone(job.command, latency, attempts))
        if job.alarmed:
            self._bus.publish(EnforcementRecovered(job.command, attempts))
        for other in job.covered:
            if isinstance(other.command, STOPS):
                self._outcomes.record(other, "failed", None, error=FLATTENED)
                continue
            other_latency = self._outcomes.latency(other)
            self._outcomes.record(other, "done", other_latency, covered_by=job.action)
            self._bus.publish(EnforcementDone(other.command, other_latency, attempts))
            if other.alarmed:
                self._bus.publish(EnforcementRecovered(other.command, attempts))
