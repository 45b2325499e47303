"""Login, token refresh before expiry, and re-login on HTTP 401."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from core.gateway import AuthError, GatewayRest
from core.gateway.auth import jwt_expiry
from tests.gateway.support import (
    API_KEY,
    USERNAME,
    FakeGateway,
    FakeTime,
    fail,
    fixture,
    make_client,
    make_jwt,
    ok,
    settle,
)


async def test_login_posts_the_key_and_later_calls_carry_the_token(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    token = await client.login()
    await client.accounts()
    login, search = gateway.calls
    assert login.path == "Auth/loginKey"
    assert login.body == {"userName": USERNAME, "apiKey": API_KEY}
    assert login.auth is None
    assert search.auth == f"Bearer {token}"
    assert client.token == token


async def test_first_request_logs_in_by_itself(client: GatewayRest, gateway: FakeGateway) -> None:
    await client.accounts()
    assert gateway.paths() == ["Auth/loginKey", "Account/search"]


async def test_the_recorded_login_answer_is_a_success(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    recorded = fixture("auth_login_key_response.json")
    gateway.script("Auth/loginKey", httpx.Response(200, json=recorded))
    assert await client.login() == recorded["token"]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (9, "ApiSubscriptionNotFound"),
        (10, "ApiKeyAuthenticationDisabled"),
        (3, "InvalidCredentials"),
        (7, "AgreementsNotSigned"),
    ],
)
async def test_login_failure_names_the_login_error_code(
    client: GatewayRest, gateway: FakeGateway, code: int, name: str
) -> None:
    gateway.script("Auth/loginKey", fail(code, None, token=None))
    with pytest.raises(AuthError) as caught:
        await client.login()
    assert caught.value.error_code == code
    assert caught.value.name == name
    assert name in str(caught.value) and "Auth/loginKey" in str(caught.value)
    assert client.token is None


@pytest.mark.parametrize(
    "answer",
    [
        {"success": True, "errorCode": 0, "errorMessage": None, "token": None},
        {"success": True, "errorCode": 0, "errorMessage": None, "token": ""},
        {"success": True, "errorCode": 8, "errorMessage": "odd", "token": "abc.def.ghi"},
        {"success": False, "errorCode": 0, "errorMessage": None, "token": "abc.def.ghi"},
        {"token": "abc.def.ghi"},
    ],
)
async def test_login_is_a_success_only_with_success_code_0_and_a_token(
    client: GatewayRest, gateway: FakeGateway, answer: dict[str, object]
) -> None:
    gateway.script("Auth/loginKey", httpx.Response(200, json=answer))
    with pytest.raises(AuthError):
        await client.login()
    assert client.token is None


async def test_wrong_key_is_refused(gateway: FakeGateway, clock: FakeTime) -> None:
    rest = make_client(gateway, clock, api_key="wrong-key-000000")
    try:
        with pytest.raises(AuthError, match="InvalidCredentials"):
            await rest.accounts()
    finally:
        await rest._http.aclose()


async def test_login_http_401_is_an_auth_error(client: GatewayRest, gateway: FakeGateway) -> None:
    gateway.script("Auth/loginKey", httpx.Response(401))
    with pytest.raises(AuthError, match="401"):
        await client.login()


def test_jwt_expiry_reads_the_exp_claim() -> None:
    assert jwt_expiry(make_jwt(1_800_000_000)) == 1_800_000_000.0
    assert jwt_expiry(make_jwt(None)) is None
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry("a.!!!.c") is None
    assert jwt_expiry("[REDACTED]") is None


async def test_token_is_refreshed_at_half_life_and_listeners_get_it(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    gateway.token_life = 3600.0
    seen: list[str] = []
    client.on_token_changed(seen.append)
    first = await client.login()
    assert seen == [first]

    clock.advance(1799)
    await client.accounts()
    assert "Auth/validate" not in gateway.paths()

    clock.advance(2)
    await client.open_positions(26282486)
    validate, search = gateway.calls[-2:]
    assert validate.path == "Auth/validate" and validate.auth == f"Bearer {first}"
    assert len(seen) == 2 and seen[1] != first
    assert search.path == "Position/searchOpen" and search.auth == f"Bearer {seen[1]}"
    assert client.token == seen[1]


async def test_token_without_exp_is_assumed_to_last_24h(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    gateway.token_life = None  # an opaque token: no exp claim
    await client.login()
    clock.advance(12 * 3600 - 5)
    await client.accounts()
    assert "Auth/validate" not in gateway.paths()
    clock.advance(10)
    await client.accounts()
    assert gateway.paths()[-2:] == ["Auth/validate", "Account/search"]


async def test_refresh_happens_at_least_every_12h_even_for_long_tokens(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    gateway.token_life = 7 * 24 * 3600.0
    await client.login()
    clock.advance(12 * 3600 + 1)
    await client.accounts()
    assert "Auth/validate" in gateway.paths()


async def test_refused_validation_falls_back_to_a_fresh_login(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    seen: list[str] = []
    client.on_token_changed(seen.append)
    await client.login()
    gateway.script("Auth/validate", fail(3, "expired"))
    clock.advance(13 * 3600)
    await client.accounts()
    assert gateway.paths() == ["Auth/loginKey", "Auth/validate", "Auth/loginKey", "Account/search"]
    assert len(seen) == 2


async def test_validate_outage_keeps_the_current_token(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    token = await client.login()
    gateway.script("Auth/validate", *[httpx.Response(503)] * 4)
    clock.advance(13 * 3600)
    await client.accounts()
    assert gateway.calls[-1].path == "Account/search"
    assert gateway.calls[-1].auth == f"Bearer {token}"


async def test_http_401_logs_in_again_and_retries_once(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    seen: list[str] = []
    client.on_token_changed(seen.append)
    old = await client.login()
    gateway.revoke_all()  # the gateway dropped the session
    accounts = await client.accounts()
    assert len(accounts) == 2
    assert gateway.paths() == ["Auth/loginKey", "Account/search", "Auth/loginKey", "Account/search"]
    assert gateway.calls[1].auth == f"Bearer {old}"
    assert gateway.calls[3].auth == f"Bearer {seen[-1]}" and seen[-1] != old


async def test_a_close_refused_with_401_is_sent_again_after_login(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    await client.login()
    gateway.revoke_all()
    await client.close_contract(26282486, "CON.F.US.MNQ.U26")
    assert gateway.paths()[1:] == [
        "Position/closeContract",
        "Auth/loginKey",
        "Position/closeContract",
    ]


async def test_a_second_401_is_an_auth_error_not_a_loop(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    await client.login()
    gateway.script("Account/search", httpx.Response(401), httpx.Response(401))
    with pytest.raises(AuthError, match="401"):
        await client.accounts()
    assert gateway.paths() == ["Auth/loginKey", "Account/search", "Auth/loginKey", "Account/search"]


async def test_concurrent_401s_share_one_login(client: GatewayRest, gateway: FakeGateway) -> None:
    await client.login()
    gateway.revoke_all()
    await asyncio.gather(client.accounts(), client.open_positions(1), client.open_orders(1))
    assert gateway.paths().count("Auth/loginKey") == 2  # the first login and one re-login


async def test_a_failing_listener_does_not_break_the_others(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    seen: list[str] = []

    def broken(token: str) -> None:
        raise RuntimeError("hub is gone")

    client.on_token_changed(broken)
    unsubscribe = client.on_token_changed(seen.append)
    await client.login()
    assert len(seen) == 1
    unsubscribe()
    await client.refresh_token()
    assert len(seen) == 1


async def test_keep_token_fresh_refreshes_without_other_traffic(gateway: FakeGateway) -> None:
    clock = FakeTime(auto=False)
    gateway.time = clock
    gateway.token_life = 3600.0
    rest = make_client(gateway, clock)
    try:
        await rest.login()
        task = asyncio.create_task(rest.keep_token_fresh())
        await settle()
        assert gateway.paths() == ["Auth/loginKey"]
        clock.advance(1801)
        await settle()
        assert gateway.paths() == ["Auth/loginKey", "Auth/validate"]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await rest.aclose()
        await rest._http.aclose()


async def test_validate_answer_without_new_token_logs_in_again(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    await client.login()
    gateway.script("Auth/validate", ok())
    await client.refresh_token()
    assert gateway.paths() == ["Auth/loginKey", "Auth/validate", "Auth/loginKey"]


async def test_an_enforcement_call_never_waits_for_a_due_refresh(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    gateway.token_life = 3600.0
    token = await client.login()
    clock.advance(1801)  # refresh due, token still valid for another half hour
    await client.cancel_order(26282486, 3425270858)
    assert gateway.paths() == ["Auth/loginKey", "Order/cancel"]
    assert gateway.calls[-1].auth == f"Bearer {token}"
    await client.accounts()  # the next read does the refresh
    assert gateway.paths()[-2:] == ["Auth/validate", "Account/search"]


async def test_unreadable_validate_answer_logs_in_again(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    await client.login()
    gateway.script("Auth/validate", httpx.Response(200, text="<html>maintenance</html>"))
    await client.refresh_token()
    assert gateway.paths() == ["Auth/loginKey", "Auth/validate", "Auth/loginKey"]
