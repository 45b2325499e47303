"""A controllable clock and a tiny in-process fake of the ProjectX REST gateway for the tests."""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from core.gateway.ratelimit import RetryPolicy
from core.gateway.rest import GatewayRest

FIXTURES = Path("/work/shared/fixtures/projectx-live")
BASE_URL = "https://gateway.test"
USERNAME = "trader@example.com"
API_KEY = "pk_live_Zx9QwErTy1234567890abcdef"
WALL_START = 1_787_000_000.0  # Unix seconds, around August 2026


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


_serial = itertools.count(1)


def make_jwt(exp: float | None, sub: str = USERNAME) -> str:
    claims: dict[str, Any] = {"sub": sub, "jti": next(_serial)}
    if exp is not None:
        claims["exp"] = int(exp)
    return f"{b64url({'alg': 'HS256', 'typ': 'JWT'})}.{b64url(claims)}.c2lnbmF0dXJl"


class FakeTime:
    """Monotonic and wall clocks that only move when told to.

    ``auto=True``: every sleep is recorded and advances the clock at once (backoff tests).
    ``auto=False``: sleepers wait until :meth:`advance` passes their deadline (limiter tests).
    """

    def __init__(self, auto: bool = True, start: float = 5_000.0) -> None:
        self.auto = auto
        self.start = start
        self.now = start
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL_START + (self.now - self.start)

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        if self.auto:
            self.now += max(delay, 0.0)
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + delay, future))
        await future

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [(t, f) for t, f in self._sleepers if t <= self.now]
        self._sleepers = [(t, f) for t, f in self._sleepers if t > self.now]
        for _, future in due:
            if not future.done():
                future.set_result(None)


async def settle(rounds: int = 50) -> None:
    """Let every runnable task run until the loop is quiet (no real time passes)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    auth: str | None
    at: float


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def ok(**payload: Any) -> httpx.Response:
    return httpx.Response(
        200, json={"success": True, "errorCode": 0, "errorMessage": None, **payload}
    )


def fail(code: int, message: str | None = None, **payload: Any) -> httpx.Response:
    body = {"success": False, "errorCode": code, "errorMessage": message, **payload}
    return httpx.Response(200, json=body)


class FakeGateway:
    """Answers like the live gateway, from the recorded fixtures, with scriptable failures."""

    def __init__(self, time: FakeTime, token_life: float | None = 24 * 3600.0) -> None:
        self.time = time
        self.token_life = token_life
        self.calls: list[Call] = []
        self.valid_tokens: set[str] = set()
        self.scripted: dict[str, list[Reply]] = {}
        self.accounts = fixture("accounts_search.json")
        self.trades = fixture("historical_trades_24h.json")
        self.orders = fixture("historical_orders_24h.json")
        self.contracts = fixture("contracts_available.json")
        self.open_orders = _open_orders_with_brackets(self.orders)
        self.positions = [_position()]

    def paths(self) -> list[str]:
        return [call.path for call in self.calls]

    def script(self, path: str, *replies: Reply) -> None:
        self.scripted.setdefault(path, []).extend(replies)

    def issue_token(self) -> str:
        exp = None if self.token_life is None else self.time.wall() + self.token_life
        token = make_jwt(exp)
        self.valid_tokens.add(token)
        return token

    def revoke_all(self) -> None:
        self.valid_tokens.clear()

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/")
        body = json.loads(request.content or b"{}")
        auth = request.headers.get("Authorization")
        self.calls.append(Call(path, body, auth, self.time.now))
        queue = self.scripted.get(path)
        if queue:
            reply = queue.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply if isinstance(reply, httpx.Response) else reply(request)
        if path == "Auth/loginKey":
            if body.get("userName") != USERNAME or body.get("apiKey") != API_KEY:
                return httpx.Response(
                    200,
                    json={"token": None, "success": False, "errorCode": 3, "errorMessage": None},
                )
            return ok(token=self.issue_token())
        token = (auth or "").removeprefix("Bearer ")
        if token not in self.valid_tokens:
            return httpx.Response(401)
        if path == "Auth/validate":
            return ok(newToken=self.issue_token())
        return self.route(path, body)

    def route(self, path: str, body: dict[str, Any]) -> httpx.Response:
        if path == "Account/search":
            return ok(accounts=copy.deepcopy(self.accounts))
        if path == "Trade/search":
            return ok(trades=copy.deepcopy(self.trades))
        if path == "Order/search":
            return ok(orders=copy.deepcopy(self.orders))
        if path == "Order/searchOpen":
            return ok(orders=copy.deepcopy(self.open_orders))
        if path == "Position/searchOpen":
            return ok(positions=copy.deepcopy(self.positions))
        if path in ("Contract/available", "Contract/search"):
            return ok(contracts=copy.deepcopy(self.contracts))
        if path == "Contract/searchById":
            found = [c for c in self.contracts if c["id"] == body.get("contractId")]
            return ok(contract=found[0]) if found else fail(1, "Contract not found")
        if path == "Order/place":
            return ok(orderId=3425270999)
        if path in (
            "Position/closeContract",
            "Position/partialCloseContract",
            "Order/cancel",
            "Order/modify",
            "History/retrieveBars",
        ):
            return ok()
        return httpx.Response(404)


def _open_orders_with_brackets(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A working entry's bracket: the SL still suspended (8), the TP being cancelled (7)."""
    sl = next(o for o in orders if str(o.get("customTag", "")).endswith("-SL"))
    tp = next(o for o in orders if o.get("linkedOrderId"))
    suspended = {
        **copy.deepcopy(sl),
        "status": 8,
        "stopPrice": None,
        "fillVolume": 0,
        "filledPrice": None,
    }
    cancelling = {**copy.deepcopy(tp), "status": 7, "fillVolume": 0, "filledPrice": None}
    return [suspended, cancelling]


def _position() -> dict[str, Any]:
    pushed = next(e for e in fixture("stream_events.json") if e["target"] == "GatewayUserPosition")
    return {**pushed["arguments"][0]["data"], "type": 1, "size": 2}


def make_client(
    gateway: FakeGateway,
    time: FakeTime,
    *,
    rand: Callable[[], float] = lambda: 0.0,
    retry: RetryPolicy | None = None,
    api_key: str = API_KEY,
) -> GatewayRest:
    http = httpx.AsyncClient(transport=httpx.MockTransport(gateway.handler))
    return GatewayRest(
        BASE_URL,
        USERNAME,
        api_key,
        http=http,
        clock=time.monotonic,
        sleep=time.sleep,
        wall_clock=time.wall,
        rand=rand,
        retry=retry,
    )
