"""The floor of a Combine the app has never seen is rebuilt from its trade history; a history
that cannot be read is tried again for as long as it takes, never given up on (a floor behind
Topstep's is a guard that acts too late)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from core.app.mll_seed import MllRebuild
from core.domain.events import AccountEvent, TradeEvent
from core.gateway.errors import GatewayRestError
from tests.builders import make_engine
from tests.topstep.test_account_guard import COMBINE, guard_config

NAME = "50KTC-V2-645601-13370001"


class FlakyHistory:
    """Trade/search fails for the first ``failures`` reads, then answers (no trades)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.reads = 0

    async def accounts(self, only_active: bool = True) -> list[AccountEvent]:
        return [AccountEvent(COMBINE, name=NAME, balance=50_000.0, can_trade=True)]

    async def trades(self, account_id: int, start: datetime, end: Any = None) -> list[TradeEvent]:
        self.reads += 1
        if self.failures > 0:
            self.failures -= 1
            raise GatewayRestError("Trade/search timed out")
        return []


async def test_a_history_that_fails_more_often_than_the_listed_pauses_is_still_read() -> None:
    engine, _, _ = make_engine(guard_config())
    account = AccountEvent(COMBINE, name=NAME, balance=50_000.0, can_trade=True)
    engine.handle(account)
    rest = FlakyHistory(failures=6)  # more failures than the two pauses below
    tasks: list[asyncio.Task[Any]] = []
    rebuild = MllRebuild(engine, rest, lambda coro, name: tasks.append(  # type: ignore[arg-type]
        asyncio.get_running_loop().create_task(coro, name=name)), pause=0.0,
        retry_after=(0.01, 0.02))
    rebuild.start([account])
    assert tasks
    await asyncio.wait_for(asyncio.gather(*tasks), 10.0)
    record = engine.mll.record(COMBINE)
    assert record is not None and record.eod_day is not None
    assert rest.failures == 0 and rest.reads > 6
