"""429/5xx backoff, connection failures, and never resending an ambiguous money-moving call."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import formatdate

import httpx
import pytest

from core.gateway import AmbiguousResult, GatewayHttpError, GatewayRest, RetryPolicy
from tests.gateway.support import FakeGateway, FakeTime, make_client, ok

ACCOUNT = 26282486
MNQ = "CON.F.US.MNQ.U26"


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out waiting for the answer", request=request)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def test_429_backs_off_with_growing_delays_then_succeeds(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    await client.login()
    gateway.script("Account/search", httpx.Response(429), httpx.Response(429), httpx.Response(429))
    accounts = await client.accounts()
    assert len(accounts) == 2
    assert gateway.paths().count("Account/search") == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("rand", [0.0, 0.5, 0.999])
async def test_jitter_never_makes_a_delay_shorter_than_the_previous(
    gateway: FakeGateway, clock: FakeTime, rand: float
) -> None:
    rest = make_client(gateway, clock, rand=lambda: rand, retry=RetryPolicy(max_attempts=6))
    try:
        await rest.login()
        gateway.script("Account/search", *[httpx.Response(429)] * 5)
        await rest.accounts()
    finally:
        await rest._http.aclose()
    assert len(clock.sleeps) == 5
    assert all(b > a for a, b in zip(clock.sleeps, clock.sleeps[1:], strict=False))
    assert max(clock.sleeps) <= RetryPolicy().max_delay


async def test_retry_after_header_is_honoured(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    await client.login()
    gateway.script("Account/search", httpx.Response(429, headers={"Retry-After": "7"}))
    await client.accounts()
    assert clock.sleeps == [7.0]


async def test_retry_after_as_http_date(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    await client.login()
    when = httpx.Headers({"Retry-After": _http_date(clock.wall() + 3)})
    gateway.script("Account/search", httpx.Response(429, headers=when))
    await client.accounts()
    assert clock.sleeps == [pytest.approx(3.0, abs=1.0)]


async def test_5xx_exhausted_raises_after_bounded_attempts(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    await client.login()
    gateway.script("Trade/search", *[httpx.Response(500)] * 10)
    with pytest.raises(GatewayHttpError) as caught:
        await client.trades(ACCOUNT, _start())
    assert caught.value.status == 500
    assert gateway.paths().count("Trade/search") == RetryPolicy().max_attempts
    assert len(clock.sleeps) == RetryPolicy().max_attempts - 1


async def test_connection_errors_on_reads_are_retried(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    await client.login()
    gateway.script("Position/searchOpen", timeout, refused)
    positions = await client.open_positions(ACCOUNT)
    assert len(positions) == 1
    assert gateway.paths().count("Position/searchOpen") == 3


async def test_connection_errors_exhausted_have_no_status(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    await client.login()
    gateway.script("Account/search", *[refused] * 4)
    with pytest.raises(GatewayHttpError) as caught:
        await client.accounts()
    assert caught.value.status is None


async def test_close_timing_out_after_sending_is_ambiguous_and_not_resent(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    await client.login()
    gateway.script("Position/closeContract", timeout)
    with pytest.raises(AmbiguousResult) as caught:
        await client.close_contract(ACCOUNT, MNQ)
    assert caught.value.endpoint == "Position/closeContract"
    assert gateway.paths().count("Position/closeContract") == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("Order/place", lambda c: c.place_order(ACCOUNT, MNQ, 2, 1, 1)),
        ("Order/cancel", lambda c: c.cancel_order(ACCOUNT, 3425270858)),
        ("Order/modify", lambda c: c.modify_order(ACCOUNT, 3425270858, stop_price=29500.0)),
        ("Position/partialCloseContract", lambda c: c.partial_close(ACCOUNT, MNQ, 1)),
    ],
)
@pytest.mark.parametrize("failure", ["timeout", "502", "disconnect", "garbage"])
async def test_money_moving_calls_are_never_resent_after_an_ambiguous_failure(
    client: GatewayRest, gateway: FakeGateway, path: str, call: object, failure: str
) -> None:
    await client.login()
    replies: dict[str, object] = {
        "timeout": timeout,
        "502": httpx.Response(502),
        "disconnect": _disconnected,
        "garbage": httpx.Response(200, text="<html>oops</html>"),
    }
    gateway.script(path, replies[failure])  # type: ignore[arg-type]
    with pytest.raises(AmbiguousResult):
        await call(client)  # type: ignore[operator]
    assert gateway.paths().count(path) == 1


async def test_a_write_that_never_left_is_retried(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    await client.login()
    gateway.script("Order/cancel", refused)
    await client.cancel_order(ACCOUNT, 3425270858)
    assert gateway.paths().count("Order/cancel") == 2


async def test_a_rate_limited_place_is_retried_because_it_was_not_processed(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    await client.login()
    gateway.script("Order/place", httpx.Response(429), ok(orderId=3425270858))
    assert await client.place_order(ACCOUNT, MNQ, 4, 1, 1, stop_price=29400.0) == 3425270858
    assert gateway.paths().count("Order/place") == 2


async def test_other_http_errors_are_not_retried(client: GatewayRest, gateway: FakeGateway) -> None:
    await client.login()
    gateway.script("Account/search", httpx.Response(404))
    with pytest.raises(GatewayHttpError) as caught:
        await client.accounts()
    assert caught.value.status == 404
    assert gateway.paths().count("Account/search") == 1


def _disconnected(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError(
        "Server disconnected without sending a response.", request=request
    )


def _start() -> datetime:
    return datetime(2026, 8, 19, 0, 0, tzinfo=UTC)


def _http_date(unix: float) -> str:
    return formatdate(unix, usegmt=True)
