"""Hostile bytes from the gateway: a token with an absurd lifetime, answers nested thousands deep."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from core.gateway.auth import EXPIRED, MIN_REFRESH_INTERVAL, jwt_expiry
from core.gateway.errors import AmbiguousResult, MalformedResponse
from core.gateway.rest import GatewayRest
from tests.gateway.support import FakeGateway, FakeTime, b64url, ok

HEADER = b64url({"alg": "HS256", "typ": "JWT"})


def token_with(exp_json: str) -> str:
    """A JWT whose ``exp`` is the raw JSON text given (JSON allows ints of any size)."""
    claims = json.loads('{"sub": "trader", "exp": ' + exp_json + "}")
    return f"{HEADER}.{b64url(claims)}.c2ln"


@pytest.mark.parametrize(
    "exp", ["1" + "0" * 400, "-" + "9" * 400, "1e999", "-1e999", "NaN", "1e300", "253402300800"]
)
def test_an_absurd_exp_reads_as_expired(exp: str) -> None:
    assert jwt_expiry(token_with(exp)) == EXPIRED


def test_a_jwt_nested_thousands_deep_is_no_expiry() -> None:
    payload = base64.urlsafe_b64encode(b'{"exp":' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    assert jwt_expiry(f"{HEADER}.{payload.decode().rstrip('=')}.c2ln") is None


async def test_a_login_token_with_an_absurd_exp_is_used_then_replaced_soon(
    client: GatewayRest, gateway: FakeGateway, clock: FakeTime
) -> None:
    absurd = token_with("1" + "0" * 400)
    gateway.valid_tokens.add(absurd)
    gateway.script("Auth/loginKey", ok(token=absurd))
    assert await client.login() == absurd  # no OverflowError
    await client.accounts()
    assert "Auth/validate" not in gateway.paths()
    # Treated as expired: renewed at the shortest interval, not trusted for a lifetime.
    clock.advance(MIN_REFRESH_INTERVAL + 1)
    await client.accounts()
    assert "Auth/validate" in gateway.paths()
    assert client.token != absurd


def nested(depth: int) -> bytes:
    return b'{"success": true, "errorCode": 0, "accounts": ' + b"[" * depth + b"]" * depth + b"}"


async def test_an_answer_nested_thousands_deep_is_a_malformed_response(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    await client.login()
    gateway.script("Account/search", httpx.Response(200, content=nested(100_000)))
    with pytest.raises(MalformedResponse, match="nested too deeply"):
        await client.accounts()
    # The client is fine afterwards.
    assert await client.accounts()


async def test_an_enforcement_answer_nested_deep_is_ambiguous_not_a_crash(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    await client.login()
    gateway.script("Position/closeContract", httpx.Response(200, content=nested(100_000)))
    with pytest.raises(AmbiguousResult):
        await client.close_contract(1, "CON.F.US.MNQ.U26")
