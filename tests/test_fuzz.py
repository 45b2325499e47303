"""Fuzzing the doors hostile bytes come through: stream payloads, REST answers, tokens, config.

Each property says what may come out: a parsed value or the door's own clear error
(``ParseError``, ``GatewayRestError``, ``ConfigError``), never anything else (no ``KeyError``,
``OverflowError``, ``RecursionError`` ...). The suite runs few examples;
``RISKMANAGER_FUZZ_EXAMPLES=N`` runs more (``bash scripts/run.sh bench`` does, with the
``fuzz`` section).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import os
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import ConfigError, load_config
from core.config.io import parse_config
from core.domain import parse
from core.domain.parse import ParseError
from core.gateway.auth import TokenKeeper, jwt_expiry
from core.gateway.errors import GatewayRestError
from core.gateway.rest import GatewayRest

EXAMPLES = int(os.environ.get("RISKMANAGER_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)

FIELDS = (
    "id", "accountId", "contractId", "size", "type", "side", "status", "averagePrice", "price",
    "profitAndLoss", "fees", "orderId", "voided", "creationTimestamp", "updateTimestamp",
    "stopPrice", "limitPrice", "trailPrice", "filledPrice", "fillVolume", "canTrade", "balance",
    "name", "customTag", "linkedOrderId", "lastPrice", "bestBid", "bestAsk", "volume",
    "timestamp", "action", "data", "symbolId", "simulated", "isVisible",
)
TIMESTAMPS = st.sampled_from([
    "2026-08-19T14:31:07.123456+00:00", "2026-08-19T14:31:07Z", "2026-08-19T14:31:07",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999+14:00", "2026-02-30T00:00:00Z",
    "not a time", "", "2026-08-19T14:31:07.1234567890123+00:00", "+275760-09-13T00:00:00Z",
])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**64 + 2),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cs", "Lo", "Nd", "Zs"]), max_size=8),
    TIMESTAMPS,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=6),
    ),
    max_leaves=25,
)
PAYLOADS = st.one_of(VALUES, st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=14))


def nested(depth: int, leaf: Any = 1) -> Any:
    value: Any = leaf
    for _ in range(depth):
        value = [value]
    return value


DEEP = st.integers(min_value=200, max_value=900).map(lambda d: {"id": nested(d), "data": nested(d)})


def only(allowed: type[BaseException] | tuple[type[BaseException], ...],
         call: Callable[[], Any]) -> None:
    with contextlib.suppress(allowed):
        call()


# --- stream payloads (core/domain/parse.py, read-only here: failures are reported) -------------

PARSERS = {
    "account": parse.parse_account,
    "order": parse.parse_order,
    "position": parse.parse_position,
    "trade": parse.parse_trade,
}


@pytest.mark.parametrize("kind", sorted(PARSERS))
@FUZZ
@given(payload=st.one_of(PAYLOADS, DEEP))
def test_a_payload_parser_gives_an_event_or_a_parse_error(kind: str, payload: Any) -> None:
    only(ParseError, lambda: PARSERS[kind](payload))


@FUZZ
@given(target=st.sampled_from(["GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition",
                               "GatewayUserTrade", "Unknown", ""]),
       arguments=st.one_of(VALUES, st.lists(st.fixed_dictionaries(
           {"action": SCALARS, "data": PAYLOADS}), max_size=3)))
def test_a_user_push_gives_events_or_a_parse_error(target: str, arguments: Any) -> None:
    only(ParseError, lambda: parse.parse_user_push(target, arguments))


@FUZZ
@given(target=st.sampled_from(["GatewayQuote", "GatewayTrade", "GatewayDepth", "Other"]),
       arguments=st.one_of(VALUES, st.tuples(SCALARS, PAYLOADS).map(list)))
def test_a_market_push_gives_events_or_a_parse_error(target: str, arguments: Any) -> None:
    only(ParseError, lambda: parse.parse_market_push(target, arguments))


# --- REST answers --------------------------------------------------------------------------------

DAY_START = datetime(2026, 8, 19, tzinfo=UTC)
LIST_KEYS = {"Account/search": "accounts", "Position/searchOpen": "positions",
             "Order/searchOpen": "orders", "Trade/search": "trades",
             "Contract/available": "contracts"}

BODIES = st.one_of(
    st.binary(max_size=60),
    VALUES.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    st.tuples(st.sampled_from(sorted(LIST_KEYS.values())), st.lists(PAYLOADS, max_size=4),
              st.sampled_from([True, False, None, "true"]), SCALARS).map(
        lambda t: json.dumps({"success": t[2], "errorCode": t[3], t[0]: t[1]},
                             allow_nan=True).encode()),
    st.integers(min_value=1000, max_value=200_000).map(
        lambda d: b'{"success":true,"errorCode":0,"accounts":' + b"[" * d + b"]" * d + b"}"),
)


async def call_endpoint(endpoint: str, status: int, body: bytes) -> None:
    def answer(_request: httpx.Request) -> httpx.Response:
        if _request.url.path.endswith("Auth/loginKey"):
            return httpx.Response(200, json={"success": True, "errorCode": 0, "token": "t"})
        return httpx.Response(status, content=body, headers={"Date": "garbage date"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))

    async def no_sleep(_seconds: float) -> None:
        return None

    rest = GatewayRest("https://gateway.test", "u", "k", http=http, sleep=no_sleep)
    rest.on_server_time(lambda _date: None)
    try:
        calls = {
            "Account/search": lambda: rest.accounts(),
            "Position/searchOpen": lambda: rest.open_positions(1),
            "Order/searchOpen": lambda: rest.open_orders(1),
            "Trade/search": lambda: rest.trades(1, DAY_START),
            "Contract/available": lambda: rest.available_contracts(),
            "Contract/searchById": lambda: rest.contract("CON.F.US.MNQ.U26"),
            "Position/closeContract": lambda: rest.close_contract(1, "CON.F.US.MNQ.U26"),
            "Order/place": lambda: rest.place_order(1, "CON.F.US.MNQ.U26", 4, 1, 1, stop_price=1.0),
        }
        with contextlib.suppress(GatewayRestError):
            await calls[endpoint]()
    finally:
        await rest.aclose()
        await http.aclose()


@FUZZ
@given(endpoint=st.sampled_from(["Account/search", "Position/searchOpen", "Order/searchOpen",
                                 "Trade/search", "Contract/available", "Contract/searchById",
                                 "Position/closeContract", "Order/place"]),
       status=st.sampled_from([200, 200, 200, 401, 404, 429, 500, 503]), body=BODIES)
def test_a_rest_answer_gives_a_value_or_a_gateway_error(endpoint: str, status: int, body: bytes) -> None:
    asyncio.run(call_endpoint(endpoint, status, body))


# --- tokens --------------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


CLAIMS = st.one_of(
    VALUES.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    st.dictionaries(st.just("exp"), SCALARS, min_size=1).map(
        lambda v: json.dumps(v, allow_nan=True).encode()),
    st.binary(max_size=40),
    st.integers(min_value=1000, max_value=100_000).map(
        lambda d: b'{"exp":' + b"[" * d + b"]" * d + b"}"),
)
TOKENS = st.one_of(st.text(max_size=80), CLAIMS.map(lambda c: f"eyJhbGciOiJIUzI1NiJ9.{b64(c)}.sig"))


@FUZZ
@given(token=TOKENS)
def test_any_token_has_an_expiry_or_none_and_is_adopted(token: str) -> None:
    exp = jwt_expiry(token)
    assert exp is None or math.isfinite(exp)
    keeper = TokenKeeper(lambda: 100.0, lambda: 1_787_000_000.0)
    keeper.set(token)
    assert keeper.token == token
    assert math.isfinite(keeper.seconds_until_refresh())
    keeper.refresh_due()


# --- config --------------------------------------------------------------------------------------

SECTIONS = st.fixed_dictionaries(
    {},
    optional={
        "gateway": st.dictionaries(
            st.sampled_from(["api_url", "user_hub_url", "market_hub_url", "username", "x"]),
            st.one_of(SCALARS, st.sampled_from(["https://a.b", "http://127.0.0.1:1", "http://a.b",
                                                "ftp://a.b", "https://", "http://[::1", "wss://a"])),
            max_size=4),
        "general": st.dictionaries(
            st.sampled_from(["timezone", "reset_time", "data_dir", "accounts", "x"]), VALUES,
            max_size=4),
        "rules": st.dictionaries(
            st.sampled_from(["max_contracts", "daily_realized_loss", "symbol_blocks",
                             "session_block_outside", "cooldown_after_loss", "x"]),
            st.dictionaries(st.sampled_from(["enabled", "limit", "limits", "tiers", "symbols", "x"]),
                            VALUES, max_size=4),
            max_size=3),
    },
)


@FUZZ
@given(data=st.one_of(SECTIONS, st.dictionaries(st.text(max_size=8), VALUES, max_size=3)))
def test_any_config_data_gives_a_config_or_a_config_error(data: dict[str, Any]) -> None:
    only(ConfigError, lambda: parse_config(data))


@FUZZ
@given(text=st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    st.integers(min_value=100, max_value=50_000).map(lambda d: b"a = " + b"[" * d + b"]" * d),
    st.integers(min_value=100, max_value=50_000).map(lambda d: b"a = " + b"{b = " * d + b"1" + b"}" * d),
))
def test_any_config_file_gives_a_config_or_a_config_error(tmp_path_factory: Any, text: bytes) -> None:
    path: Path = tmp_path_factory.mktemp("fuzz") / "config.toml"
    path.write_bytes(text)
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(path) in str(exc)


def test_the_toml_reader_itself_recurses_so_the_loader_must_catch_it() -> None:
    with pytest.raises(RecursionError):
        tomllib.loads("a = " + "[" * 50_000 + "]" * 50_000)
