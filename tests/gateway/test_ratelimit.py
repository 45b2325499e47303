"""The client-side limiter: budgets, the enforcement reserve, priorities and the bars bucket."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.gateway import Priority, RateLimiter, priority_for
from core.gateway.ratelimit import RetryPolicy, parse_retry_after
from tests.gateway.support import FakeGateway, FakeTime, make_client, settle

ACCOUNT = 26282486


@pytest.fixture
def manual() -> FakeTime:
    return FakeTime(auto=False)


def test_priorities_by_endpoint() -> None:
    for endpoint in (
        "Position/closeContract",
        "Position/partialCloseContract",
        "Order/cancel",
        "Order/modify",
        "/api/Order/place",
    ):
        assert priority_for(endpoint) == Priority.ENFORCEMENT
    for endpoint in (
        "Account/search",
        "Position/searchOpen",
        "Trade/search",
        "Order/searchOpen",
        "History/retrieveBars",
        "Contract/available",
    ):
        assert priority_for(endpoint) == Priority.READ


async def _acquire_many(
    limiter: RateLimiter, endpoint: str, count: int
) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(limiter.acquire(endpoint)) for _ in range(count)]
    await settle()
    return tasks


async def test_reads_stop_at_the_reserve_and_enforcement_uses_it(manual: FakeTime) -> None:
    limiter = RateLimiter(clock=manual.monotonic, sleep=manual.sleep)
    reads = await _acquire_many(limiter, "Position/searchOpen", 200)
    assert sum(t.done() for t in reads) == 180
    closes = await _acquire_many(limiter, "Position/closeContract", 20)
    assert all(t.done() for t in closes)  # the reserve: no waiting at all
    assert limiter.general.used() == 200
    await limiter.aclose()


async def test_sliding_window_frees_slots_as_grants_age(manual: FakeTime) -> None:
    limiter = RateLimiter(clock=manual.monotonic, sleep=manual.sleep)
    first = await _acquire_many(limiter, "Account/search", 90)
    manual.advance(30)
    second = await _acquire_many(limiter, "Account/search", 100)
    assert all(t.done() for t in first) and sum(t.done() for t in second) == 90
    manual.advance(29.9)
    await settle()
    assert sum(t.done() for t in second) == 90  # still inside the first batch's minute
    manual.advance(0.2)  # the first 90 grants are now older than 60 s
    await settle()
    assert all(t.done() for t in second)
    await limiter.aclose()


async def test_queued_enforcement_overtakes_older_queued_reads(manual: FakeTime) -> None:
    limiter = RateLimiter(clock=manual.monotonic, sleep=manual.sleep, limit=10, reserve=2)
    granted: list[str] = []

    async def take(endpoint: str, label: str) -> None:
        await limiter.acquire(endpoint)
        granted.append(label)

    for i in range(10):  # 8 reads fill the read share, 2 closes the reserve
        label = f"fill-{i}"
        asyncio.create_task(take("Order/cancel" if i >= 8 else "Trade/search", label))
    await settle()
    for i in range(3):
        asyncio.create_task(take("Trade/search", f"read-{i}"))
    await settle()
    manual.advance(1)
    asyncio.create_task(take("Position/closeContract", "close"))
    await settle()
    assert granted[10:] == []  # everything full: the close waits too
    manual.advance(59.5)  # the first grants expire
    await settle()
    assert granted[10:] == ["close", "read-0", "read-1", "read-2"]
    await limiter.aclose()


async def test_a_close_does_not_wait_for_the_longer_wait_of_a_queued_read(manual: FakeTime) -> None:
    limiter = RateLimiter(clock=manual.monotonic, sleep=manual.sleep, limit=10, reserve=2)
    for i in range(10):  # one grant per second: reads at 0..7, cancels at 8 and 9
        await limiter.acquire("Order/cancel" if i >= 8 else "Trade/search")
        manual.advance(1)
    read = asyncio.create_task(limiter.acquire("Trade/search"))
    await settle()  # the read must wait for 3 expiries: until t=62 from the first grant
    close = asyncio.create_task(limiter.acquire("Position/closeContract"))
    await settle()  # the close needs only one expiry: t=60
    manual.advance(60 - 10 + 0.01)
    await settle()
    assert close.done() and not read.done()
    manual.advance(2)  # t=62: the close took the slot the read was waiting for
    await settle()
    assert not read.done()
    manual.advance(1)
    await settle()
    assert read.done()
    await limiter.aclose()


async def test_bars_have_their_own_bucket(manual: FakeTime) -> None:
    limiter = RateLimiter(clock=manual.monotonic, sleep=manual.sleep)
    bars = await _acquire_many(limiter, "History/retrieveBars", 51)
    assert sum(t.done() for t in bars) == 50
    reads = await _acquire_many(limiter, "Account/search", 100)
    assert all(t.done() for t in reads)  # bars did not use the general budget
    assert limiter.general.used() == 100 and limiter.bars.used() == 50
    manual.advance(30.01)
    await settle()
    assert all(t.done() for t in bars)  # 50 per 30 s, not per minute
    await limiter.aclose()


async def test_a_cancelled_waiter_does_not_consume_a_slot(manual: FakeTime) -> None:
    limiter = RateLimiter(clock=manual.monotonic, sleep=manual.sleep, limit=3, reserve=1)
    await _acquire_many(limiter, "Account/search", 2)
    waiting = await _acquire_many(limiter, "Account/search", 2)
    waiting[0].cancel()
    await settle()
    manual.advance(60.01)
    await settle()
    assert waiting[1].done() and not waiting[1].cancelled()
    assert limiter.general.used() == 1
    await limiter.aclose()


async def test_250_reads_and_one_close_the_close_goes_first_within_the_reserve(
    manual: FakeTime,
) -> None:
    gateway = FakeGateway(manual)
    rest = make_client(gateway, manual)
    try:
        await rest.login()  # one slot, like any request
        reads = [asyncio.create_task(rest.open_positions(ACCOUNT)) for _ in range(250)]
        await settle(400)
        sent_reads = gateway.paths().count("Position/searchOpen")
        assert sent_reads == 179  # 180 read slots, one used by the login
        assert sum(t.done() for t in reads) == 179

        manual.advance(5)
        await rest.close_contract(ACCOUNT, "CON.F.US.MNQ.U26")  # returns with no time passing
        paths = gateway.paths()
        assert paths[-1] == "Position/closeContract"
        assert paths.index("Position/closeContract") == 1 + 179
        close_at = gateway.calls[-1].at
        assert close_at == manual.now
        assert sum(1 for c in gateway.calls if c.at > close_at - 60) <= 200

        manual.advance(55.01)  # the first minute's grants expire: the queued reads go
        await settle(400)
        manual.advance(60.01)
        await settle(400)
        assert all(t.done() for t in reads)
        assert gateway.paths().count("Position/searchOpen") == 250
        for call in gateway.calls:  # no 60 s window ever held more than the budget
            assert sum(1 for c in gateway.calls if call.at - 60 < c.at <= call.at) <= 200
    finally:
        await rest.aclose()
        await rest._http.aclose()


async def test_client_requests_go_through_the_limiter(manual: FakeTime) -> None:
    gateway = FakeGateway(manual)
    rest = make_client(gateway, manual)
    try:
        await rest.login()
        await rest.accounts()
        await rest.close_contract(ACCOUNT, "CON.F.US.MNQ.U26")
        assert rest.limiter.general.used() == 3
    finally:
        await rest.aclose()
        await rest._http.aclose()


def test_retry_policy_and_retry_after_parsing() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0, jitter=0.0)
    assert [policy.delay(n, 0.5) for n in range(5)] == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.delay(0, 0.0, retry_after=500.0) == policy.max_retry_after
    assert parse_retry_after("12", 0.0) == 12.0
    assert parse_retry_after(None, 0.0) is None
    assert parse_retry_after("soon", 0.0) is None
    assert parse_retry_after("-3", 0.0) == 0.0


async def test_aclose_releases_waiters(manual: FakeTime) -> None:
    limiter = RateLimiter(clock=manual.monotonic, sleep=manual.sleep, limit=2, reserve=1)
    waiting = await _acquire_many(limiter, "Account/search", 3)
    await limiter.aclose()
    await settle()
    assert all(t.done() for t in waiting)
    assert waiting[-1].cancelled()


async def test_real_clock_and_sleep_wiring() -> None:
    limiter = RateLimiter(clock=time.monotonic, sleep=asyncio.sleep, limit=3, window=0.1, reserve=1)
    started = time.monotonic()
    await asyncio.wait_for(
        asyncio.gather(*(limiter.acquire("Account/search") for _ in range(5))), timeout=5
    )
    elapsed = time.monotonic() - started
    assert 0.1 <= elapsed < 2.0  # 2 reads per 0.1 s: the 5th waits for two windows
    await limiter.aclose()
