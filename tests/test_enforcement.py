"""MOD-001 action half: the executor acts, verifies by re-reading, retries, coalesces, alarms."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from core.domain.bus import EventBus
from core.domain.clock import ManualClock
from core.domain.commands import (
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    EnforcementPort,
    Flatten,
    ModifyStop,
    PartialClose,
    PlaceStop,
)
from core.domain.events import OrderEvent, OrderStatus, OrderType, PositionEvent, PositionType
from core.enforcement.executor import EnforcementExecutor
from core.engine.notices import EnforcementDone, EnforcementFailed, EnforcementRecovered
from core.gateway.errors import AmbiguousResult, GatewayError, GatewayHttpError
from core.modules.enforcement_log import EnforcementLog, EnforcementRecord
from tests.gateway.support import FakeGateway, FakeTime, make_client, ok

ACCT = 26282486
OTHER = 25775680
MNQ = "CON.F.US.MNQ.U26"
MES = "CON.F.US.MES.U26"
ES = "CON.F.US.EP.U26"
NAMES = {MNQ: "MNQU6", MES: "MESU6", ES: "ESU6"}


# --- a scriptable in-memory gateway -----------------------------------------------------------


class Executed:
    """Script item: carry the call out, then raise (the answer was lost on the way back)."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


IGNORED = "ignored"  # script item: answer success but do nothing (a close that did not fill)

Hook = Callable[[], None]


class FakeRest:
    def __init__(self) -> None:
        self.positions: dict[tuple[int, str], tuple[int, int]] = {}
        self.orders: dict[tuple[int, int], OrderEvent] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.script: dict[str, list[Any]] = {}
        self.hooks: dict[str, list[Hook | None]] = {}  # run as a call starts, after it reads
        self.blocked: dict[int, asyncio.Event] = {}  # account → calls wait until set
        self.gates: dict[str, asyncio.Event] = {}  # method → calls wait until set
        self.next_order_id = 9_000_000_001

    # setup
    def add_position(self, acct: int, contract: str, size: int, long: bool = True) -> None:
        kind = PositionType.LONG if long else PositionType.SHORT
        self.positions[(acct, contract)] = (int(kind), size)

    def add_order(
        self,
        acct: int,
        order_id: int,
        contract: str,
        *,
        type: int = OrderType.LIMIT,
        side: int = 1,
        stop_price: float | None = None,
        tag: str | None = None,
    ) -> None:
        self.orders[(acct, order_id)] = OrderEvent(
            order_id=order_id,
            account_id=acct,
            contract_id=contract,
            status=OrderStatus.OPEN,
            type=int(type),
            side=side,
            size=1,
            stop_price=stop_price,
            custom_tag=tag,
        )

    def count(self, name: str, *args: Any) -> int:
        return sum(1 for c in self.calls if c[0] == name and c[1 : 1 + len(args)] == args)

    # plumbing
    async def _enter(self, name: str, acct: int, *args: Any) -> Any:
        self.calls.append((name, acct, *args))
        hooks = self.hooks.get(name)
        if hooks:
            hook = hooks.pop(0)
            if hook is not None:
                hook()
        for gate in (self.blocked.get(acct), self.gates.get(name)):
            if gate is not None:
                await gate.wait()
        await asyncio.sleep(0)
        queue = self.script.get(name)
        return queue.pop(0) if queue else None

    # reads
    async def open_positions(self, account_id: int) -> list[PositionEvent]:
        # The answer is what the gateway knew when the request arrived.
        found = [
            PositionEvent(1, a, c, kind, size, 21000.0)
            for (a, c), (kind, size) in self.positions.items()
            if a == account_id
        ]
        step = await self._enter("open_positions", account_id)
        if isinstance(step, Exception):
            raise step
        return found

    async def open_orders(self, account_id: int) -> list[OrderEvent]:
        found = [o for (a, _), o in self.orders.items() if a == account_id]
        step = await self._enter("open_orders", account_id)
        if isinstance(step, Exception):
            raise step
        return found

    # actions
    async def _act(self, name: str, acct: int, args: tuple[Any, ...], do: Callable[[], Any]) -> Any:
        step = await self._enter(name, acct, *args)
        if isinstance(step, Exception):
            raise step
        if step == IGNORED:
            return None
        result = do()
        if isinstance(step, Executed):
            raise step.exc
        return result

    async def close_contract(self, account_id: int, contract_id: str) -> None:
        def do() -> None:
            if self.positions.pop((account_id, contract_id), None) is None:
                raise GatewayError("Position/closeContract", 2, "Position not found")

        await self._act("close_contract", account_id, (contract_id,), do)

    async def partial_close(self, account_id: int, contract_id: str, size: int) -> None:
        def do() -> None:
            key = (account_id, contract_id)
            if key not in self.positions:
                raise GatewayError("Position/partialCloseContract", 2)
            kind, have = self.positions[key]
            if size >= have:
                raise GatewayError("Position/partialCloseContract", 5, "Invalid close size")
            self.positions[key] = (kind, have - size)

        await self._act("partial_close", account_id, (contract_id, size), do)

    async def cancel_order(self, account_id: int, order_id: int) -> None:
        def do() -> None:
            if self.orders.pop((account_id, order_id), None) is None:
                raise GatewayError("Order/cancel", 2, "Order not found")

        await self._act("cancel_order", account_id, (order_id,), do)

    async def modify_order(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_price: float | None = None,
    ) -> None:
        def do() -> None:
            order = self.orders.get((account_id, order_id))
            if order is None:
                raise GatewayError("Order/modify", 2)
            self.orders[(account_id, order_id)] = replace(order, stop_price=stop_price)

        await self._act("modify_order", account_id, (order_id, stop_price), do)

    async def place_order(
        self,
        account_id: int,
        contract_id: str,
        type: int,
        side: int,
        size: int,
        *,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_price: float | None = None,
        custom_tag: str | None = None,
    ) -> int | None:
        def do() -> int:
            order_id = self.next_order_id
            self.next_order_id += 1
            self.add_order(
                account_id,
                order_id,
                contract_id,
                type=type,
                side=side,
                stop_price=stop_price,
                tag=custom_tag,
            )
            return order_id

        result: int | None = await self._act(
            "place_order", account_id, (contract_id, side, size, stop_price), do
        )
        return result


# --- harness ----------------------------------------------------------------------------------


class Perf:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Store:
    def __init__(self) -> None:
        self.records: list[EnforcementRecord] = []

    def log_enforcement(self, record: EnforcementRecord) -> None:
        self.records.append(record)


class Harness:
    def __init__(self, rest: Any = None, *, sleep: Any = None, **kwargs: Any) -> None:
        self.rest = rest if rest is not None else FakeRest()
        self.perf = Perf()
        self.sleeps: list[float] = []
        self.store = Store()
        self.bus = EventBus()
        self.notices: list[Any] = []
        self.bus.subscribe(self.notices.append)
        self.clock = ManualClock(datetime(2026, 8, 19, 15, 0, tzinfo=UTC))
        self.executor = EnforcementExecutor(
            self.rest,
            self.bus,
            EnforcementLog(self.store),
            self.clock,
            sleep=sleep or self.sleep,
            perf=self.perf,
            contract_name=NAMES.get,
            **kwargs,
        )

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.perf.now += delay
        await asyncio.sleep(0)

    def of(self, kind: type) -> list[Any]:
        return [n for n in self.notices if isinstance(n, kind)]

    def outcomes(self, action: str | None = None) -> list[str]:
        return [r.outcome for r in self.store.records if action is None or r.action == action]


def close(contract: str = MNQ, acct: int = ACCT, **kw: Any) -> CloseContract:
    return CloseContract(
        account_id=acct, rule_id="RULE-004", reason="open loss", contract_id=contract, **kw
    )


def flatten(
    acct: int = ACCT, contracts: tuple[str, ...] = (), orders: tuple[int, ...] = ()
) -> Flatten:
    return Flatten(
        account_id=acct,
        rule_id="RULE-003",
        reason="daily realized P&L -$512.40 reached the loss limit -$500.00",
        contract_ids=contracts,
        order_ids=orders,
    )


async def run(h: Harness, *commands: EnforcementCommand) -> None:
    for command in commands:
        h.executor.submit(command)
    await asyncio.wait_for(h.executor.drain(), 5)


async def settle(rounds: int = 30) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


# --- the port ---------------------------------------------------------------------------------


def test_is_an_enforcement_port() -> None:
    port: EnforcementPort = Harness().executor
    assert port is not None


def test_submit_without_a_running_loop_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    h = Harness()
    h.executor.submit(close())  # the engine must never see an executor failure
    assert (
        "Open loss limit [RULE-004]: closing MNQU6 on account 26282486: could not be started"
        in caplog.messages
    )


async def test_submit_returns_before_any_gateway_call() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.executor.submit(close())
    assert h.rest.calls == []
    await run(h)
    assert h.rest.calls[0] == ("close_contract", ACCT, MNQ)


# --- close ------------------------------------------------------------------------------------


async def test_close_is_verified_by_rereading_positions() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.add_position(ACCT, MES, 1)
    await run(h, close())
    assert [c[0] for c in h.rest.calls] == ["close_contract", "open_positions"]
    assert (ACCT, MES) in h.rest.positions  # only the one contract
    [done] = h.of(EnforcementDone)
    assert done.attempts == 1
    assert h.outcomes() == ["done"]
    assert h.store.records[0].details["contract_id"] == MNQ


async def test_already_flat_counts_as_done(caplog: pytest.LogCaptureFixture) -> None:
    h = Harness()
    caplog.set_level(logging.INFO, "core.enforcement.executor")
    await run(h, close())  # the gateway answers errorCode 2 PositionNotFound
    assert h.rest.count("close_contract") == 1
    assert len(h.of(EnforcementDone)) == 1
    assert h.outcomes() == ["done"]
    assert "found MNQU6 on account 26282486 already flat" in caplog.text


async def test_accepted_close_with_the_position_still_there_is_retried() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.script["close_contract"] = [IGNORED]
    await run(h, close())
    assert h.rest.count("close_contract") == 2
    assert h.sleeps == [0.5]
    assert h.outcomes() == ["retry", "done"]
    assert h.store.records[0].details["still_open"] == [MNQ]
    assert h.of(EnforcementDone)[0].attempts == 2


async def test_ambiguous_close_rereads_and_does_not_resend_when_already_flat() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.script["close_contract"] = [Executed(AmbiguousResult("Position/closeContract", "reset"))]
    await run(h, close())
    assert h.rest.count("close_contract") == 1
    assert [c[0] for c in h.rest.calls] == ["close_contract", "open_positions"]
    assert h.outcomes() == ["done"]


async def test_ambiguous_close_resends_only_after_a_reread_shows_the_position() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.script["close_contract"] = [AmbiguousResult("Position/closeContract", "reset")]
    await run(h, close())
    names = [c[0] for c in h.rest.calls]
    assert names == [
        "close_contract",
        "open_positions",  # still there: retry after a pause
        "open_positions",  # the retry reads first
        "close_contract",
        "open_positions",
    ]
    assert "AmbiguousResult" in h.store.records[0].details["error"]


async def test_a_close_retry_that_finds_the_position_gone_does_not_resend() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.script["close_contract"] = [IGNORED]

    def fill_late() -> None:
        h.rest.positions.pop((ACCT, MNQ), None)

    # The first re-read still shows it (the fill lands just after); the retry's read does not.
    h.rest.hooks["open_positions"] = [fill_late]
    await run(h, close())
    assert h.rest.count("close_contract") == 1
    assert h.outcomes() == ["retry", "done"]


async def test_rate_limit_and_network_errors_are_just_retries() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.script["close_contract"] = [
        GatewayHttpError("Position/closeContract", 429, "gave up after 4 attempts: HTTP 429")
    ]
    h.rest.script["open_positions"] = [
        GatewayHttpError("Position/searchOpen", None, "ConnectError: refused"),
    ]
    await run(h, close())
    assert h.outcomes() == ["retry", "done"]
    error = h.store.records[0].details["error"]
    assert "429" in error and "ConnectError" in error
    assert h.of(EnforcementFailed) == []


# --- partial close ----------------------------------------------------------------------------


def partial(size: int, contract: str = MNQ) -> PartialClose:
    return PartialClose(
        account_id=ACCT, rule_id="RULE-002", reason="5 MNQ > 3", contract_id=contract, size=size
    )


async def test_partial_close_verifies_the_position_shrank() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 5)
    await run(h, partial(2))
    assert h.rest.count("partial_close", ACCT, MNQ, 2) == 1
    assert h.rest.positions[(ACCT, MNQ)][1] == 3
    [record] = h.store.records
    assert (record.outcome, record.details["size_before"], record.details["target_size"]) == (
        "done",
        5,
        3,
    )


async def test_partial_close_retry_sends_only_what_is_still_in_excess() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 5)
    h.rest.script["partial_close"] = [IGNORED]

    def one_filled() -> None:
        h.rest.positions[(ACCT, MNQ)] = (int(PositionType.LONG), 4)

    h.rest.hooks["open_positions"] = [None, one_filled]  # fills just after the verify read
    await run(h, partial(2))
    assert h.rest.count("partial_close", ACCT, MNQ, 2) == 1
    assert h.rest.count("partial_close", ACCT, MNQ, 1) == 1
    assert h.rest.positions[(ACCT, MNQ)][1] == 3


async def test_ambiguous_partial_close_already_at_target_is_not_resent() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 5)
    h.rest.script["partial_close"] = [
        Executed(AmbiguousResult("Position/partialCloseContract", "x"))
    ]
    await run(h, partial(2))
    assert h.rest.count("partial_close") == 1
    assert h.outcomes() == ["done"]


async def test_partial_close_of_a_flat_contract_is_done_without_sending() -> None:
    h = Harness()
    await run(h, partial(2))
    assert h.rest.count("partial_close") == 0
    assert h.outcomes() == ["done"]


# --- cancel -----------------------------------------------------------------------------------


def cancel(order_id: int) -> CancelOrder:
    return CancelOrder(account_id=ACCT, rule_id="RULE-011", reason="blocked", order_id=order_id)


async def test_cancel_is_verified_and_a_gone_order_is_done(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness()
    caplog.set_level(logging.INFO, "core.enforcement.executor")
    h.rest.add_order(ACCT, 11, MNQ)
    await run(h, cancel(11), cancel(12))  # 12 does not exist: errorCode 2 OrderNotFound
    assert (ACCT, 11) not in h.rest.orders
    assert h.outcomes() == ["done", "done"]
    assert h.rest.count("open_orders") == 2
    assert "Blocked symbols [RULE-011]: cancelled order 11 on account 26282486 in " in caplog.text
    assert "found order 12 on account 26282486 already gone" in caplog.text


async def test_cancel_accepted_but_still_working_is_retried() -> None:
    h = Harness()
    h.rest.add_order(ACCT, 11, MNQ)
    h.rest.script["cancel_order"] = [IGNORED]
    await run(h, cancel(11))
    assert h.rest.count("cancel_order") == 2
    assert h.outcomes() == ["retry", "done"]


# --- flatten ----------------------------------------------------------------------------------


async def test_flatten_acts_on_mirror_ids_at_once_and_on_rest_only_items_then_verifies(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness()
    caplog.set_level(logging.INFO, "core.enforcement.executor")
    rest = h.rest
    rest.add_position(ACCT, MNQ, 2)  # known to the mirror
    rest.add_position(ACCT, MES, 1)  # the mirror lags: REST only
    rest.add_order(ACCT, 11, MNQ, type=OrderType.STOP, stop_price=20900.0)  # known
    rest.add_order(ACCT, 12, ES)  # REST only
    rest.add_position(OTHER, MNQ, 1)  # another account: untouched
    seen_before_reads: list[str] = []

    def note() -> None:
        seen_before_reads.extend(c[0] for c in rest.calls)

    rest.hooks["open_positions"] = [note]
    h.perf.now = 1_000.041
    await run(h, replace(flatten(contracts=(MNQ,), orders=(11,)), event_at=1_000.0))
    assert {"close_contract", "cancel_order"} <= set(seen_before_reads)
    for args in [("close_contract", ACCT, MNQ), ("close_contract", ACCT, MES)]:
        assert rest.count(*args) == 1
    for order_id in (11, 12):
        assert rest.count("cancel_order", ACCT, order_id) == 1
    assert [k for k in rest.positions if k[0] == ACCT] == []
    assert [k for k in rest.orders if k[0] == ACCT] == []
    assert (OTHER, MNQ) in rest.positions
    [record] = h.store.records
    assert record.outcome == "done" and record.action == "flatten"
    assert record.details["closed"] == sorted([MNQ, MES])
    assert record.details["cancelled"] == [11, 12]
    assert record.execution_time_ms == pytest.approx(41.0)
    line = (
        "Daily loss limit [RULE-003]: flattened account 26282486 (closed MESU6, MNQU6, cancelled "
        "2 orders) in 41 ms (daily realized P&L -$512.40 reached the loss limit -$500.00)"
    )
    assert line in caplog.messages


async def test_flatten_repeats_until_a_reread_shows_flat() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.add_order(ACCT, 11, MNQ)
    h.rest.script["close_contract"] = [IGNORED, IGNORED]
    await run(h, flatten())
    assert h.rest.count("close_contract") == 3
    assert h.rest.count("cancel_order") == 1
    assert h.outcomes() == ["retry", "retry", "done"]
    assert h.sleeps == [0.5, 1.0]


async def test_flatten_of_a_flat_account_is_done(caplog: pytest.LogCaptureFixture) -> None:
    h = Harness()
    caplog.set_level(logging.INFO, "core.enforcement.executor")
    await run(h, flatten(contracts=(MNQ,)))  # the mirror thought MNQ open; it is already gone
    assert h.outcomes() == ["done"]
    assert "already flat" in caplog.text


# --- coalescing -------------------------------------------------------------------------------


async def test_a_duplicate_close_in_flight_is_dropped() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.executor.submit(close())
    h.executor.submit(close())
    await run(h)
    assert h.rest.count("close_contract") == 1
    # Both commands get an outcome: the second is covered by the first.
    assert h.outcomes() == ["done", "done"]
    assert h.store.records[1].details["covered_by"] == "close_contract"
    assert len(h.of(EnforcementDone)) == 2


async def test_a_flatten_in_flight_covers_closes_and_cancels_of_its_account() -> None:
    h = Harness()
    rest = h.rest
    rest.add_position(ACCT, MNQ, 2)
    rest.add_position(OTHER, MNQ, 1)

    def late_position_and_commands() -> None:
        # Appears after the flatten's first read was answered: only the covered close knows it.
        rest.add_position(ACCT, ES, 1)
        rest.add_order(ACCT, 21, ES)
        h.executor.submit(close(ES))
        h.executor.submit(cancel(21))
        h.executor.submit(close(MNQ, OTHER))  # another account: its own task

    rest.hooks["open_positions"] = [late_position_and_commands]
    await run(h, flatten(contracts=(MNQ,)))
    assert rest.count("close_contract", ACCT, ES) == 1
    assert rest.count("cancel_order", ACCT, 21) == 1
    assert rest.count("close_contract", OTHER, MNQ) == 1
    flat_records = [r for r in h.store.records if r.account_id == ACCT]
    assert [(r.action, r.outcome) for r in flat_records] == [
        ("flatten", "done"),
        ("close_contract", "done"),
        ("cancel_order", "done"),
    ]
    assert flat_records[1].details["covered_by"] == "flatten"


async def test_a_second_flatten_makes_the_running_one_verify_again() -> None:
    h = Harness()
    rest = h.rest
    rest.add_position(ACCT, MNQ, 2)

    def new_position_during_final_check() -> None:
        # The verification read already has its (flat) answer; a position opens just after.
        rest.add_position(ACCT, MES, 1)
        h.executor.submit(flatten())

    rest.hooks["open_positions"] = [None, new_position_during_final_check]
    await run(h, flatten(contracts=(MNQ,)))
    assert rest.count("close_contract", ACCT, MES) == 1
    assert not any(k[0] == ACCT for k in rest.positions)
    assert h.outcomes() == ["done", "done"]
    assert h.sleeps == []  # no failure: just one more pass


async def test_a_flatten_absorbs_a_close_waiting_to_retry() -> None:
    h = Harness(sleep=None)
    rest = h.rest
    rest.add_position(ACCT, MNQ, 2)
    rest.script["close_contract"] = [IGNORED]
    gate = asyncio.Event()

    async def slow_sleep(delay: float) -> None:
        h.sleeps.append(delay)
        await gate.wait()

    h.executor._sleep = slow_sleep
    h.executor.submit(close())
    await settle()
    assert h.sleeps == [0.5]  # the close is waiting to retry
    h.executor.submit(flatten())
    await asyncio.wait_for(h.executor.drain(), 5)
    assert rest.count("close_contract") == 2  # the close's first try, then the flatten's
    assert [(r.action, r.outcome) for r in h.store.records] == [
        ("close_contract", "retry"),
        ("flatten", "done"),
        ("close_contract", "done"),
    ]


async def test_a_close_supersedes_a_partial_close_of_the_same_contract() -> None:
    h = Harness()
    rest = h.rest
    rest.add_position(ACCT, MNQ, 5)
    gate = asyncio.Event()
    rest.script["partial_close"] = [IGNORED]

    async def slow_sleep(delay: float) -> None:
        h.sleeps.append(delay)
        await gate.wait()

    h.executor._sleep = slow_sleep
    h.executor.submit(partial(2))
    await settle()
    h.executor.submit(close())
    h.executor.submit(partial(2))  # covered by the close now in flight
    await asyncio.wait_for(h.executor.drain(), 5)
    assert rest.count("partial_close") == 1
    assert rest.count("close_contract") == 1
    assert (ACCT, MNQ) not in rest.positions
    assert [(r.action, r.outcome) for r in h.store.records] == [
        ("partial_close", "retry"),
        ("close_contract", "done"),
        ("partial_close", "done"),
        ("partial_close", "done"),
    ]


async def test_a_close_folded_into_a_flatten_in_slow_retry_is_acted_on_at_once() -> None:
    async def forever(delay: float) -> None:
        await asyncio.Event().wait()

    h = Harness(sleep=forever)
    rest = h.rest
    rest.add_position(ACCT, MNQ, 2)
    rest.script["close_contract"] = [GatewayError("Position/closeContract", 4)] * 50
    h.executor.submit(flatten(contracts=(MNQ,)))
    await settle()
    assert h.outcomes() == ["retry"]  # waiting (for ever) to retry
    rest.script["close_contract"] = []
    rest.add_position(ACCT, ES, 1)
    h.executor.submit(close(ES))
    await asyncio.wait_for(h.executor.drain(), 1)
    assert rest.count("close_contract", ACCT, ES) == 1
    assert not any(k[0] == ACCT for k in rest.positions)
    assert h.outcomes() == ["retry", "done", "done"]


async def test_a_flatten_waits_for_a_stop_placement_on_the_wire_then_cancels_it() -> None:
    h = Harness()
    rest = h.rest
    rest.add_position(ACCT, MNQ, 2)
    rest.gates["place_order"] = asyncio.Event()
    h.executor.submit(place())
    await settle()
    assert rest.count("place_order") == 1  # sent, no answer yet
    h.executor.submit(flatten(contracts=(MNQ,)))
    await settle(60)
    assert h.outcomes() == []  # flat, but the stop may still land: not done yet
    rest.gates["place_order"].set()
    await asyncio.wait_for(h.executor.drain(), 5)
    assert rest.orders == {}  # the stop that landed late was cancelled
    assert rest.count("cancel_order", ACCT, 9_000_000_001) == 1
    assert [(r.action, r.outcome) for r in h.store.records] == [
        ("flatten", "done"),
        ("place_stop", "failed"),
    ]


# --- failure, alarm, recovery -----------------------------------------------------------------


async def test_persistent_failure_alarms_keeps_trying_then_recovers() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    refusal = GatewayError("Position/closeContract", 7, "Unknown error")
    h.rest.script["close_contract"] = [refusal] * 8
    await run(h, close())
    assert h.rest.count("close_contract") == 9
    assert h.sleeps == [0.5, 1.0, 2.0, 4.0, 10.0, 10.0, 10.0, 10.0]
    failed = h.of(EnforcementFailed)
    assert [f.attempts for f in failed] == [5, 8]  # after the round, then every 3 more
    assert "UnknownError" in failed[0].error
    [recovered] = h.of(EnforcementRecovered)
    assert recovered.attempts == 9
    assert h.of(EnforcementDone)[0].attempts == 9
    outcomes = h.outcomes()
    assert outcomes.count("failed") == 2 and outcomes[-1] == "done"
    # Order of notices: failed ... done, recovered.
    kinds = [type(n).__name__ for n in h.notices]
    assert kinds == [
        "EnforcementFailed",
        "EnforcementFailed",
        "EnforcementDone",
        "EnforcementRecovered",
    ]


async def test_background_retries_end_when_the_position_is_gone() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.script["close_contract"] = [GatewayError("Position/closeContract", 8)] * 6

    def trader_closed_it() -> None:
        h.rest.positions.clear()

    # Reads: after attempts 1..5 (each two reads from the 2nd on), then the retry's first read.
    h.rest.hooks["open_positions"] = [None] * 10 + [trader_closed_it]
    await run(h, close())
    assert len(h.of(EnforcementFailed)) == 1
    assert len(h.of(EnforcementRecovered)) == 1


async def test_enforcement_log_records_latency_from_the_event() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.perf.now = 500.0
    h.rest.script["close_contract"] = [IGNORED]
    await run(h, close(event_at=499.99))
    retry, done = h.store.records
    assert retry.outcome == "retry" and retry.execution_time_ms is None
    assert done.execution_time_ms == pytest.approx(510.0)  # 10 ms before submit + 0.5 s backoff
    assert h.of(EnforcementDone)[0].latency_ms == pytest.approx(510.0)
    assert done.at == h.clock.now()
    assert (done.account_id, done.rule_id, done.reason) == (ACCT, "RULE-004", "open loss")
    assert done.details["attempts"] == 2


async def test_independent_accounts_do_not_wait_for_each_other() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.add_position(OTHER, MNQ, 1)
    h.rest.blocked[ACCT] = asyncio.Event()  # this account's calls hang
    h.executor.submit(close(acct=ACCT))
    h.executor.submit(close(acct=OTHER))
    for _ in range(100):
        await asyncio.sleep(0)
        if h.of(EnforcementDone):
            break
    [done] = h.of(EnforcementDone)
    assert done.command.account_id == OTHER
    assert [c.account_id for c in h.executor.in_flight()] == [ACCT]
    h.rest.blocked[ACCT].set()
    await asyncio.wait_for(h.executor.drain(), 5)
    assert len(h.of(EnforcementDone)) == 2


async def test_aclose_with_a_retry_pending_returns_promptly() -> None:
    async def forever(delay: float) -> None:
        await asyncio.Event().wait()

    h = Harness(sleep=forever)
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.script["close_contract"] = [IGNORED]
    h.executor.submit(close())
    await settle()
    assert h.executor.in_flight()
    await asyncio.wait_for(h.executor.aclose(), 1)
    assert h.executor.in_flight() == []
    h.executor.submit(close())  # after stop: ignored, never raises
    await settle()
    assert h.rest.count("close_contract") == 1


async def test_aclose_with_a_request_hanging_returns_promptly() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.blocked[ACCT] = asyncio.Event()
    h.executor.submit(flatten(contracts=(MNQ,)))
    await settle()
    await asyncio.wait_for(h.executor.aclose(), 1)


async def test_a_broken_log_store_or_listener_does_not_stop_enforcement() -> None:
    h = Harness()

    def broken(record: EnforcementRecord) -> None:
        raise RuntimeError("disk full")

    h.store.log_enforcement = broken  # type: ignore[method-assign]
    h.bus.subscribe(lambda n: 1 / 0)
    h.rest.add_position(ACCT, MNQ, 2)
    await run(h, close())
    assert (ACCT, MNQ) not in h.rest.positions
    assert len(h.of(EnforcementDone)) == 1


# --- trade management stops -------------------------------------------------------------------


def move(price: float, order_id: int = 31) -> ModifyStop:
    return ModifyStop(
        account_id=ACCT,
        rule_id="RULE-012",
        reason="breakeven",
        order_id=order_id,
        contract_id=MNQ,
        stop_price=price,
    )


def place(price: float = 20950.0, tag: str = "") -> PlaceStop:
    return PlaceStop(
        account_id=ACCT,
        rule_id="RULE-012",
        reason="protect",
        contract_id=MNQ,
        side=1,
        size=2,
        stop_price=price,
        custom_tag=tag,
    )


async def test_modify_stop_gets_one_retry_on_a_transient_error() -> None:
    h = Harness()
    h.rest.add_order(ACCT, 31, MNQ, type=OrderType.STOP, stop_price=20900.0)
    h.rest.script["modify_order"] = [GatewayHttpError("Order/modify", 429, "HTTP 429")]
    await run(h, move(21000.0))
    assert h.rest.orders[(ACCT, 31)].stop_price == 21000.0
    assert h.outcomes() == ["retry", "done"]


async def test_modify_stop_failure_is_logged_and_alarms_only_on_the_third_in_a_row() -> None:
    h = Harness()
    h.rest.add_order(ACCT, 31, MNQ, type=OrderType.STOP, stop_price=20900.0)
    refused = GatewayError("Order/modify", 3, "Rejected")
    h.rest.script["modify_order"] = [refused] * 3
    await run(h, move(21000.0))
    await run(h, move(21001.0))
    assert h.rest.count("modify_order") == 2  # a refusal is not retried
    assert h.outcomes() == ["failed", "failed"]
    assert h.of(EnforcementFailed) == []
    await run(h, move(21002.0))
    [alarm] = h.of(EnforcementFailed)
    assert "3 stop changes in a row" in alarm.error
    await run(h, move(21003.0))  # success resets the count
    assert h.outcomes()[-1] == "done"


async def test_a_newer_stop_price_runs_after_the_one_in_flight() -> None:
    h = Harness()
    h.rest.add_order(ACCT, 31, MNQ, type=OrderType.STOP, stop_price=20900.0)
    h.executor.submit(move(21000.0))
    h.executor.submit(move(21000.0))  # identical: dropped
    h.executor.submit(move(21001.0))
    h.executor.submit(move(21002.0))  # the newest wins
    await run(h)
    assert [c[3] for c in h.rest.calls if c[0] == "modify_order"] == [21000.0, 21002.0]
    assert h.rest.orders[(ACCT, 31)].stop_price == 21002.0


async def test_ambiguous_place_stop_is_reconciled_not_resent() -> None:
    h = Harness()
    h.rest.script["place_order"] = [Executed(AmbiguousResult("Order/place", "timeout"))]
    await run(h, place(tag="rm-stop-1"))
    assert h.rest.count("place_order") == 1
    assert h.outcomes() == ["done"]
    assert h.store.records[0].details["placed_order_id"] == 9_000_000_001


async def test_stop_changes_are_dropped_while_the_account_is_flattened() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 2)
    h.rest.hooks["open_positions"] = [lambda: h.executor.submit(place())]
    await run(h, flatten(contracts=(MNQ,)))
    assert h.rest.count("place_order") == 0
    assert [(r.action, r.outcome) for r in h.store.records] == [
        ("place_stop", "failed"),
        ("flatten", "done"),
    ]


# --- over the real REST client and a MockTransport gateway ------------------------------------


class ClosingGateway(FakeGateway):
    """The support fake, plus closes and cancels that change what the next read returns."""

    def route(self, path: str, body: dict[str, Any]) -> httpx.Response:
        if path == "Position/closeContract":
            before = len(self.positions)
            self.positions = [p for p in self.positions if p["contractId"] != body["contractId"]]
            if len(self.positions) == before:
                return httpx.Response(
                    200, json={"success": False, "errorCode": 2, "errorMessage": None}
                )
            return ok()
        if path == "Order/cancel":
            self.open_orders = [o for o in self.open_orders if o["id"] != body["orderId"]]
            return ok()
        return super().route(path, body)


async def test_flatten_over_the_rest_client() -> None:
    time = FakeTime(auto=True)
    gateway = ClosingGateway(time)
    rest = make_client(gateway, time)
    try:
        account = gateway.positions[0]["accountId"]
        contract = gateway.positions[0]["contractId"]
        gateway.script("Position/closeContract", httpx.Response(429))
        h = Harness(rest)
        await run(h, Flatten(account_id=account, rule_id="RULE-010", reason="canTrade false"))
        assert gateway.positions == [] and gateway.open_orders == []
        assert h.outcomes() == ["done"]
        assert h.store.records[0].details["closed"] == [contract]
        # The 429 was retried by the client; the close was sent once it went through.
        assert gateway.paths().count("Position/closeContract") == 2
        await run(h, close(contract, account))  # PositionNotFound over HTTP: done
        assert h.outcomes() == ["done", "done"]
    finally:
        await rest.aclose()
        await rest._http.aclose()


async def test_a_partial_close_with_the_engines_size_is_sent_without_reading_first() -> None:
    h = Harness()
    h.rest.add_position(ACCT, MNQ, 7)
    command = PartialClose(
        account_id=ACCT, rule_id="RULE-001", reason="r", contract_id=MNQ, size=2, from_size=7
    )
    await run(h, command)
    assert h.rest.calls[0][:4] == ("partial_close", ACCT, MNQ, 2)  # no read before the send
    assert h.rest.positions[(ACCT, MNQ)][1] == 5
    assert h.outcomes() == ["done"]
