"""The REST half of the simulated gateway: ``POST /api/<Controller>/<action>`` with the envelope.

Order of checks per request mirrors what a client can observe live: scripted faults and delays
first (they stand for the network and the load balancer), then the bearer token (bare 401), then
the per-token rate limit (bare 429), then validation (400) and the business answer (200).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from core.sim.bars import UNIT_SECONDS, retrieve_bars
from core.sim.exchange import SimExchange
from core.sim.market import MarketSimulator
from core.sim.models import SimResult
from core.sim.order_query import parse_order_query, run_order_query
from core.sim.request import BadRequest, Body, problem_details
from core.sim.request import bracket as _bracket
from core.sim.request import field as _field
from core.sim.request import timestamp as _time
from core.sim.security import FaultPlan, RateLimiter, TokenStore, bearer, normalize_path

Payload = dict[str, Any]
Handler = Callable[[Body, str], Awaitable[Payload]]

PUBLIC = {"auth/loginkey", "auth/loginapp", "status/ping"}
_JSON_TYPES = ("application/json", "text/json", "application/*+json")

BarSource = Callable[[str, datetime, datetime, int], list[dict[str, Any]] | None]


def envelope(success: bool = True, code: int = 0, message: str | None = None,
             **payload: Any) -> Payload:
    return {"success": success, "errorCode": code, "errorMessage": message, **payload}


def from_result(result: SimResult, **payload: Any) -> Payload:
    return envelope(result.success, result.error_code, result.error_message, **payload)


def wants_json(accept: str | None) -> bool:
    """ASP.NET content negotiation for a string result: the highest-ranked media type in
    ``Accept`` that a formatter can write wins; ``*/*``, ``text/*`` and no header get the
    plain-text formatter, which comes first."""
    if not accept:
        return False
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranked.append((-quality, index, media.lower()))
    for _, _, media in sorted(ranked):
        if media in _JSON_TYPES or (media.startswith("application/") and media.endswith("+json")):
            return True
        if media in ("text/plain", "text/*", "*/*"):
            return False
    return False


class RestApi:
    def __init__(self, exchange: SimExchange, market: MarketSimulator, tokens: TokenStore,
                 limiter: RateLimiter, faults: FaultPlan, credentials: tuple[str, str],
                 seed: int = 0) -> None:
        self.exchange = exchange
        self.market = market
        self.tokens = tokens
        self.limiter = limiter
        self.faults = faults
        self.credentials = credentials
        self.seed = seed
        self.requests = 0
        # History/retrieveBars from recorded bars instead of the walk back from the live price
        # (a replay's month): (contract id, start, end, limit) → bars newest first, or None.
        self.bar_source: BarSource | None = None
        self._routes: dict[str, Handler] = {
            "auth/validate": self._validate, "auth/logout": self._logout,
            "account/search": self._accounts,
            "position/searchopen": self._positions, "position/closecontract": self._close,
            "position/partialclosecontract": self._partial_close,
            "order/search": self._orders, "order/searchopen": self._open_orders,
            "order/searchbyid": self._order_by_id, "order/v2/query": self._query_orders,
            "order/place": self._place, "order/cancel": self._cancel, "order/modify": self._modify,
            "trade/search": self._trades,
            "contract/search": self._contract_search, "contract/searchbyid": self._contract_by_id,
            "contract/available": self._contracts_available,
            "history/retrievebars": self._bars,
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        path = normalize_path(request.match_info.get("tail", ""))
        fault = self.faults.take(path)
        if self.faults.delay_ms > 0:
            await asyncio.sleep(self.faults.delay_ms / 1000)
        if fault is not None:
            return web.Response(status=fault)
        if path == "status/ping":
            if request.method != "GET":
                return web.Response(status=405)
            if wants_json(request.headers.get("Accept")):
                return web.json_response("pong")
            return web.Response(text="pong")
        if request.method != "POST":
            return web.Response(status=405)
        if path not in PUBLIC and path not in self._routes:
            return web.Response(status=404)
        token = bearer(request.headers.get("Authorization"))
        username = self.tokens.username(token)
        if path not in PUBLIC:
            if username is None or token is None:
                return web.Response(status=401)
            if not self.limiter.allow(token, path):
                return web.Response(status=429)
        try:
            raw = await request.text()
        except ConnectionError:  # the client went away mid-request (it stopped): nobody to answer
            return web.Response(status=400)
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise BadRequest("$", "The request body must be a JSON object.")
            if path == "auth/loginkey":
                return web.json_response(self._login(body, "apiKey"))
            if path == "auth/loginapp":
                return web.json_response(self._login(body, "password"))
            assert token is not None
            return web.json_response(await self._routes[path](body, token))
        except (ValueError, BadRequest) as exc:
            name = exc.name if isinstance(exc, BadRequest) else "$"
            return web.json_response(status=400, data=problem_details(name, str(exc)))

    # ------------------------------------------------------------------ auth
    def _login(self, body: Body, secret_field: str) -> Payload:
        user = _field(body, "userName", str)
        secret = _field(body, secret_field, str)
        known_user, known_secret = self.credentials
        # The docs: "Case does not matter" for the user name; the key is compared exactly.
        if user.casefold() != known_user.casefold() or secret != known_secret:
            return envelope(False, 3, None, token=None)  # InvalidCredentials, no text (live)
        return envelope(token=self.tokens.issue(known_user))

    async def _validate(self, body: Body, token: str) -> Payload:
        user = self.tokens.username(token) or ""
        return envelope(newToken=self.tokens.issue(user))

    async def _logout(self, body: Body, token: str) -> Payload:
        self.tokens.revoke(token)
        return envelope()

    # ------------------------------------------------------------------ accounts and positions
    async def _accounts(self, body: Body, token: str) -> Payload:
        only_active = _field(body, "onlyActiveAccounts", bool)
        rows = [a.payload() for a in self.exchange.accounts.values()
                if a.active or not only_active]
        return envelope(accounts=rows)

    def _account(self, body: Body) -> int | None:
        account_id: int = _field(body, "accountId", int)
        return account_id if account_id in self.exchange.accounts else None

    async def _positions(self, body: Body, token: str) -> Payload:
        account_id = self._account(body)
        if account_id is None:
            return envelope(False, 1, None, positions=[])
        rows = [p.payload(stream=False) for p in self.exchange.positions(account_id)]
        return envelope(positions=rows)

    async def _close(self, body: Body, token: str) -> Payload:
        account_id: int = _field(body, "accountId", int)
        contract_id: str = _field(body, "contractId", str)
        return from_result(self.exchange.close_position(account_id, contract_id))

    async def _partial_close(self, body: Body, token: str) -> Payload:
        account_id: int = _field(body, "accountId", int)
        contract_id: str = _field(body, "contractId", str)
        size: int = _field(body, "size", int)
        return from_result(self.exchange.partial_close_position(account_id, contract_id, size))

    # ------------------------------------------------------------------ orders and trades
    def _window(self, body: Body) -> tuple[datetime, datetime | None]:
        start = _time(body, "startTimestamp", required=True)
        assert start is not None
        return start, _time(body, "endTimestamp", required=False)

    async def _orders(self, body: Body, token: str) -> Payload:
        account_id = self._account(body)
        start, end = self._window(body)
        if account_id is None:
            return envelope(False, 1, None, orders=[])
        rows = [o.payload(stream=False) for o in self.exchange.orders(account_id)
                if o.status != 8 and o.created >= start and (end is None or o.created <= end)]
        return envelope(orders=rows)

    async def _open_orders(self, body: Body, token: str) -> Payload:
        account_id = self._account(body)
        if account_id is None:
            return envelope(False, 1, None, orders=[])
        rows = [o.payload(stream=False) for o in self.exchange.open_orders(account_id)]
        return envelope(orders=rows)

    async def _order_by_id(self, body: Body, token: str) -> Payload:
        account_id: int = _field(body, "accountId", int)
        order = self.exchange.order(_field(body, "orderId", int))
        if order is None or order.account_id != account_id:
            return envelope(False, 1, None, order=None)  # SearchOrderByIdErrorCode.OrderNotFound
        return envelope(order=order.payload(stream=False))

    async def _query_orders(self, body: Body, token: str) -> Payload:
        query = parse_order_query(body)
        if query.account_id not in self.exchange.accounts:
            return envelope(False, 1, None, orders=[], totalCount=0)
        page, total = run_order_query(self.exchange.orders(query.account_id), query)
        return envelope(orders=[o.payload(stream=False) for o in page],
                        totalCount=total if query.include_total else None)

    async def _place(self, body: Body, token: str) -> Payload:
        result = self.exchange.place_order(
            _field(body, "accountId", int), _field(body, "contractId", str),
            _field(body, "type", int), _field(body, "side", int), _field(body, "size", int),
            limit_price=_field(body, "limitPrice", float, required=False),
            stop_price=_field(body, "stopPrice", float, required=False),
            trail_price=_field(body, "trailPrice", float, required=False),
            custom_tag=_field(body, "customTag", str, required=False),
            stop_loss_bracket=_bracket(body, "stopLossBracket"),
            take_profit_bracket=_bracket(body, "takeProfitBracket"),
        )
        return from_result(result, orderId=result.order_id)

    async def _cancel(self, body: Body, token: str) -> Payload:
        return from_result(self.exchange.cancel_order(
            _field(body, "accountId", int), _field(body, "orderId", int)))

    async def _modify(self, body: Body, token: str) -> Payload:
        return from_result(self.exchange.modify_order(
            _field(body, "accountId", int), _field(body, "orderId", int),
            size=_field(body, "size", int, required=False),
            limit_price=_field(body, "limitPrice", float, required=False),
            stop_price=_field(body, "stopPrice", float, required=False),
            trail_price=_field(body, "trailPrice", float, required=False),
        ))

    async def _trades(self, body: Body, token: str) -> Payload:
        account_id = self._account(body)
        start, end = self._window(body)
        if account_id is None:
            return envelope(False, 1, None, trades=[])
        rows = [t.payload(stream=False) for t in reversed(self.exchange.trades(account_id))
                if t.created >= start and (end is None or t.created <= end)]
        return envelope(trades=rows)  # newest first, as live

    # ------------------------------------------------------------------ contracts and history
    async def _contract_search(self, body: Body, token: str) -> Payload:
        text: str = _field(body, "searchText", str)
        _field(body, "live", bool)
        return envelope(contracts=[c.payload() for c in self.exchange.search_contracts(text)])

    async def _contract_by_id(self, body: Body, token: str) -> Payload:
        contract = self.exchange.contracts.get(_field(body, "contractId", str))
        if contract is None:
            return envelope(False, 1, None, contract=None)
        return envelope(contract=contract.payload())

    async def _contracts_available(self, body: Body, token: str) -> Payload:
        _field(body, "live", bool)
        rows = [c.payload() for c in self.exchange.contracts.values() if c.active]
        return envelope(contracts=rows)

    async def _bars(self, body: Body, token: str) -> Payload:
        contract = self.exchange.contracts.get(_field(body, "contractId", str))
        start = _time(body, "startTime", required=True)
        end = _time(body, "endTime", required=True)
        unit, unit_number = _field(body, "unit", int), _field(body, "unitNumber", int)
        limit: int = _field(body, "limit", int)
        include_partial = bool(_field(body, "includePartialBar", bool, required=False))
        assert start is not None and end is not None
        if contract is None:
            return envelope(False, 1, None, bars=[])
        if unit not in UNIT_SECONDS:
            return envelope(False, 2, None, bars=[])
        if unit_number < 1:
            return envelope(False, 3, None, bars=[])
        if limit < 1:
            return envelope(False, 4, None, bars=[])
        if self.bar_source is not None:
            recorded = self.bar_source(contract.id, start, end, limit)
            if recorded is not None:
                return envelope(bars=recorded)
        last = (self.market.last_price(contract.id) if contract.id in self.market.contract_ids
                else self.exchange.quote(contract.id).last)
        bars = retrieve_bars(contract, last, start=start, end=end, unit=unit,
                             unit_number=unit_number, limit=limit,
                             include_partial=include_partial, now=self.exchange.now(),
                             seed=self.seed)
        return envelope(bars=bars)
