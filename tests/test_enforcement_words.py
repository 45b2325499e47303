"""What the headless log says about each enforcement: the rule as a trader names it, its id in
brackets so the log can still be searched, then what was done, how fast and why."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.domain.commands import (
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    Flatten,
    ModifyStop,
    PartialClose,
    PlaceStop,
)
from core.domain.events import OrderType
from core.engine.notices import EnforcementDone
from core.gateway.errors import GatewayError
from tests.test_enforcement import ACCT, MES, MNQ, Harness, run

LOGGER = "core.enforcement.executor"


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


async def test_each_done_line_names_the_rule_then_says_what_was_done(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 7)
    h.rest.add_position(ACCT, MES, 1)
    h.rest.add_order(ACCT, 11, MNQ)
    h.rest.add_order(ACCT, 31, MNQ, type=OrderType.STOP, stop_price=20900.0)
    h.perf.now = 1_000.015
    commands: list[EnforcementCommand] = [
        PartialClose(account_id=ACCT, rule_id="RULE-001", reason="7 contracts open (net), limit 5",
                     contract_id=MNQ, size=2, from_size=7, event_at=1_000.0),
        CloseContract(account_id=ACCT, rule_id="RULE-011", reason="MES is blocked",
                      contract_id=MES, event_at=1_000.0),
        CancelOrder(account_id=ACCT, rule_id="RULE-007", reason="cooldown", order_id=11,
                    event_at=1_000.0),
        ModifyStop(account_id=ACCT, rule_id="RULE-012", reason="breakeven", order_id=31,
                   contract_id=MNQ, stop_price=21000.25, event_at=1_000.0),
        PlaceStop(account_id=ACCT, rule_id="RULE-012", reason="protect", contract_id=MNQ,
                  side=1, size=5, stop_price=20950.0, event_at=1_000.0),
    ]
    for command in commands:
        await run(h, command)
    assert lines(caplog) == [
        "Max contracts [RULE-001]: reduced MNQU6 from 7 to at most 5 on account 26282486 in 15 ms "
        "(7 contracts open (net), limit 5)",
        "Blocked symbols [RULE-011]: closed MESU6 on account 26282486 in 15 ms (MES is blocked)",
        "Cooldown after a loss [RULE-007]: cancelled order 11 on account 26282486 in 15 ms "
        "(cooldown)",
        "Breakeven and trailing stop [RULE-012]: moved the stop 31 on MNQU6 to 21000.25 on "
        "account 26282486 in 15 ms (breakeven)",
        "Breakeven and trailing stop [RULE-012]: placed a stop for 5 MNQU6 at 20950 on account "
        "26282486 in 15 ms (protect)",
    ]


async def test_a_flatten_says_what_it_closed_and_cancelled_or_that_the_account_was_flat(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.add_order(ACCT, 11, MNQ)
    flatten = Flatten(account_id=ACCT, rule_id="RULE-014", reason="near the floor")
    await run(h, flatten)
    await run(h, flatten)  # nothing left
    assert lines(caplog) == [
        "Maximum Loss Limit guard [RULE-014]: flattened account 26282486 (closed MNQU6, "
        "cancelled 1 order) in 0 ms (near the floor)",
        "Maximum Loss Limit guard [RULE-014]: found account 26282486 already flat in 0 ms "
        "(near the floor)",
    ]


async def test_a_stop_cut_to_what_is_left_of_its_position_is_told_and_announced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A size-only change has no stop price: its line must not fail, nor the notice after it.
    caplog.set_level(logging.INFO, LOGGER)
    h = Harness()
    h.rest.add_order(ACCT, 31, MNQ, type=OrderType.STOP, stop_price=20900.0)
    await run(h, ModifyStop(account_id=ACCT, rule_id="STOP-SIZE", reason="position is 2",
                            order_id=31, contract_id=MNQ, size=2))
    assert lines(caplog) == [
        "Stop cut to the position [STOP-SIZE]: cut the stop 31 on MNQU6 to 2 contracts on "
        "account 26282486 in 0 ms (position is 2)"
    ]
    assert len(h.of(EnforcementDone)) == 1


async def test_retries_and_the_alarm_name_the_rule_and_what_is_being_done(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    h = Harness(alarm_after=60.0)
    h.rest.add_position(ACCT, MNQ, 2)
    refusal = GatewayError("Position/closeContract", 7, "Unknown error")
    h.rest.script["close_contract"] = [refusal] * 5
    await asyncio.wait_for(run(h, CloseContract(account_id=ACCT, rule_id="RULE-004",
                                                reason="open loss", contract_id=MNQ)), 5)
    said = lines(caplog)
    assert said[0].startswith("Open loss limit [RULE-004]: closing MNQU6 on account 26282486: "
                              "attempt 1 not done (")
    assert any(line.startswith("Open loss limit [RULE-004]: closing MNQU6 on account 26282486: "
                               "still not done after 5 attempts (") for line in said)
    assert said[-1].startswith("Open loss limit [RULE-004]: closed MNQU6 on account 26282486 "
                               "after 6 attempts in ")
    assert not [line for line in said if line.startswith("RULE-")]
