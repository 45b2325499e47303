"""The first "enforcement failed" alarm comes on time even while an attempt hangs on the gateway."""

from __future__ import annotations

import asyncio

from core.engine.notices import EnforcementDone, EnforcementFailed, EnforcementRecovered
from core.gateway.errors import GatewayError
from tests.test_enforcement import ACCT, MNQ, Harness, close, flatten


async def until(check: object, rounds: int = 2000) -> None:
    for _ in range(rounds):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")


async def test_an_attempt_that_hangs_still_raises_the_alarm_on_time() -> None:
    h = Harness(alarm_after=0.05)
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.blocked[ACCT] = asyncio.Event()  # every call for the account hangs
    h.executor.submit(close())
    await until(lambda: h.of(EnforcementFailed))
    [alarm] = h.of(EnforcementFailed)
    assert alarm.attempts == 0 and "no confirmation" in alarm.error
    assert h.executor.in_flight()  # told, and still trying
    assert h.outcomes() == ["failed"]
    h.rest.blocked[ACCT].set()
    await asyncio.wait_for(h.executor.drain(), 5)
    assert [type(n) for n in h.notices] == [EnforcementFailed, EnforcementDone, EnforcementRecovered]


async def test_the_early_alarm_is_not_repeated_at_the_end_of_the_round() -> None:
    h = Harness(alarm_after=0.0)
    h.rest.add_position(ACCT, MNQ, 2)
    refusal = GatewayError("Position/closeContract", 7, "Unknown error")
    h.rest.script["close_contract"] = [refusal] * 8
    h.executor.submit(close())
    await asyncio.wait_for(h.executor.drain(), 5)
    failed = h.of(EnforcementFailed)
    # the timer's at once, none at the 5th attempt (already told), then every 3 more as before
    assert len(failed) == 2 and failed[0].attempts < 5 and failed[1].attempts == 8
    assert len(h.of(EnforcementRecovered)) == 1


async def test_a_command_done_in_time_never_alarms() -> None:
    h = Harness(alarm_after=0.05)
    h.rest.add_position(ACCT, MNQ, 2)
    h.executor.submit(close())
    await asyncio.wait_for(h.executor.drain(), 5)
    await asyncio.sleep(0.1)  # past the alarm time: the timer was cancelled with the job
    assert h.of(EnforcementFailed) == [] and len(h.of(EnforcementDone)) == 1


async def test_a_superseded_command_leaves_the_alarm_to_the_one_covering_it() -> None:
    h = Harness(alarm_after=0.05)
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.blocked[ACCT] = asyncio.Event()
    h.executor.submit(close())
    h.executor.submit(flatten(contracts=(MNQ,)))
    await until(lambda: h.of(EnforcementFailed))
    await asyncio.sleep(0.1)
    [alarm] = h.of(EnforcementFailed)
    assert alarm.command.rule_id == "RULE-003"  # the flatten's, not the absorbed close's
    h.rest.blocked[ACCT].set()
    await asyncio.wait_for(h.executor.drain(), 5)
