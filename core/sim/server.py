"""SimulatedGateway: the REST API and both SignalR hubs on 127.0.0.1, over one exchange and market.

Used by demo mode and by tests. Everything runs on the event loop that called :meth:`start`;
drive the exchange and the hooks from that loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from core.sim.demo_trader import DemoTrader
from core.sim.end_of_day import DeskClose, FirmDay, Settlement
from core.sim.exchange import Now, SimExchange
from core.sim.hub import RS, HubKind, SignalRHub, encode
from core.sim.market import MarketEvent, MarketSimulator
from core.sim.models import ACCOUNT_EVENT, TRADE_EVENT, SimAccount, UserEvent
from core.sim.rest_api import RestApi
from core.sim.security import FaultPlan, Monotonic, RateLimiter, TokenStore

log = logging.getLogger(__name__)

DEMO_USERNAME = "demo"
DEMO_API_KEY = "demo-api-key"
DEMO_ACCOUNT_ID = 13_370_001


DEMO_COMBINE_ID = 13_370_002


def demo_accounts() -> list[SimAccount]:
    return [
        SimAccount(DEMO_ACCOUNT_ID, "PRAC-V2-DEMO-13370001", 50_000.0),
        # A 50K Trading Combine that has lost $1,500: $500 above its Maximum Loss Limit
        # floor (48,000), so the demo shows the Topstep account guard at work.
        SimAccount(DEMO_COMBINE_ID, "50KTC-V2-DEMO-13370002", 48_500.0),
    ]


MalformedKind = Literal["not_object", "bare_string", "invalid_json", "no_arguments"]


END_OF_DAY_EVERY = 1.0  # seconds: how often the demo and the sandbox look for the desk's times


class SimulatedGateway:
    def __init__(
        self,
        *,
        username: str = DEMO_USERNAME,
        api_key: str = DEMO_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: Iterable[SimAccount] | None = None,
        contracts: Iterable[Mapping[str, Any]] | None = None,
        now: Now | None = None,
        monotonic: Monotonic = time.monotonic,
        seed: int = 0,
        market_interval: float | None = 0.25,
        market_contracts: Iterable[str] | None = None,
        partial_quote_probability: float = 0.25,
        ping_interval: float | None = 15.0,
        client_timeout: float | None = 30.0,
        token_lifetime: timedelta = timedelta(hours=24),
        rate_limit: tuple[int, float] = (200, 60.0),
        bars_rate_limit: tuple[int, float] = (50, 30.0),
        end_of_day_interval: float | None = None,
    ) -> None:
        self.host = host
        self._port = port
        self.exchange = SimExchange(
            contracts, now=now, accounts=demo_accounts() if accounts is None else accounts)
        self.market = MarketSimulator(self.exchange, seed=seed, contract_ids=market_contracts,
                                      partial_probability=partial_quote_probability)
        self.market_interval = market_interval
        # The firm's 15:10 CT close and 17:00 CT settlement, looked for every this many real
        # seconds on the exchange's own clock (None: only when run_end_of_day is called). Off
        # unless asked for: a test on the wall clock must not meet the desk by the time of day;
        # the demo and `main.py sim` ask for it (END_OF_DAY_EVERY).
        self.firm_day = FirmDay(self.exchange)
        self.end_of_day_interval = end_of_day_interval
        self.tokens = TokenStore(self.exchange.now, token_lifetime)
        self.faults = FaultPlan()
        self.limiter = RateLimiter(monotonic, rate_limit, bars_rate_limit)
        self.user_hub = SignalRHub("user", self._authorize, ping_interval=ping_interval,
                                   client_timeout=client_timeout)
        self.market_hub = SignalRHub("market", self._authorize, ping_interval=ping_interval,
                                     client_timeout=client_timeout)
        self.rest = RestApi(self.exchange, self.market, self.tokens, self.limiter, self.faults,
                            (username, api_key), seed)
        self.exchange.subscribe(self.user_hub.push_user_event)
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._traders: list[DemoTrader] = []

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{tail:.*}", self.rest.handle)
        for path, hub in (("/hubs/user", self.user_hub), ("/hubs/market", self.market_hub)):
            app.router.add_get(path, hub.handle)
            app.router.add_post(path + "/negotiate", hub.negotiate)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        if self.market_interval is not None:
            self._tasks.append(asyncio.create_task(self._market_loop(self.market_interval)))
        if self.end_of_day_interval is not None:
            self.exchange.entry_gate = self.firm_day.closed_to  # the desk's hours, as live
            self._tasks.append(asyncio.create_task(self._end_of_day_loop(self.end_of_day_interval)))
        log.info("simulated gateway listening on %s", self.base_url)

    async def stop(self) -> None:
        for trader in self._traders:
            await trader.stop()
        self._traders.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        # Abort sockets first: a graceful WebSocket close would wait on clients that never answer.
        self.drop_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimulatedGateway:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def user_hub_url(self) -> str:
        return self.base_url + "/hubs/user"

    @property
    def market_hub_url(self) -> str:
        return self.base_url + "/hubs/market"

    # ------------------------------------------------------------------ market
    def step_market(self, steps: int = 1, contract_ids: Iterable[str] | None = None) -> None:
        ids = None if contract_ids is None else list(contract_ids)
        for _ in range(steps):
            self._publish(self.market.step(ids))

    def set_market_price(self, contract_id: str, price: float) -> None:
        self._publish(self.market.set_price(contract_id, price))

    def _publish(self, events: Iterable[MarketEvent]) -> None:
        for event in events:
            if self.market_hub.wants(event.target, event.contract_id):
                self.market_hub.push_market_event(event)

    async def _market_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                self._publish(self.market.step())
            except Exception:  # the demo market must keep moving whatever one step did
                log.exception("simulated market step failed")

    # ------------------------------------------------------------------ end of day
    def run_end_of_day(self) -> list[DeskClose | Settlement]:
        """Run every firm close and settlement the exchange's clock has passed (the timer does
        this too): what was done, oldest first."""
        return self.firm_day.catch_up()

    async def _end_of_day_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                self.run_end_of_day()
            except Exception:  # one bad end of day must not stop the next
                log.exception("simulated end of day failed")

    def start_demo_trader(self, account_id: int = DEMO_ACCOUNT_ID, *,
                          step_seconds: float = 3.0, seed: int = 0) -> DemoTrader:
        trader = DemoTrader(self.exchange, account_id, market=self.market,
                            step_seconds=step_seconds, seed=seed)
        trader.start()
        self._traders.append(trader)
        return trader

    # ------------------------------------------------------------------ test hooks: auth
    def issue_token(self, lifetime: timedelta | None = None) -> str:
        """A valid token without a login round trip (as Auth/loginKey would return)."""
        return self.tokens.issue(self.rest.credentials[0], lifetime)

    def expire_tokens(self) -> None:
        """Every token issued so far now gets 401 on REST and at the hub upgrade."""
        self.tokens.expire_all()

    def rotate_token(self) -> str:
        """Expire every token and hand out a fresh one. Open sockets stay open, as ASP.NET
        keeps them; call :meth:`drop_connections` too to force clients through a new upgrade."""
        self.tokens.expire_all()
        return self.issue_token()

    def _authorize(self, token: str | None) -> bool:
        return self.tokens.username(token) is not None

    # ------------------------------------------------------------------ test hooks: REST faults
    def inject_rest_failures(self, status: int, count: int = 1, path: str | None = None) -> None:
        """Answer the next ``count`` REST calls (to ``path``, e.g. ``"Order/place"``) with a bare
        HTTP ``status`` (401, 429, 500, ...) before they reach auth or the exchange."""
        self.faults.inject(status, count, path)

    def reject_next_orders(self, count: int = 1) -> None:
        """Order/place still answers success with an orderId, then the stream shows status 5."""
        self.exchange.reject_next += count

    def set_rest_delay(self, milliseconds: float) -> None:
        self.faults.delay_ms = max(0.0, milliseconds)

    def clear_faults(self) -> None:
        self.faults.clear()
        self.limiter.reset()

    # ------------------------------------------------------------------ test hooks: hubs
    def _hubs(self, hub: HubKind | None) -> list[SignalRHub]:
        if hub is None:
            return [self.user_hub, self.market_hub]
        return [self.user_hub if hub == "user" else self.market_hub]

    def connection_count(self, hub: HubKind | None = None) -> int:
        return sum(len(h.connections) for h in self._hubs(hub))

    def drop_connections(self, hub: HubKind | None = None) -> int:
        """Cut every hub socket abruptly (no SignalR Close message), like a network drop."""
        return sum(h.drop_all() for h in self._hubs(hub))

    def close_connections(self, hub: HubKind | None = None, error: str | None = None) -> int:
        """A polite server close: ``{"type":7}`` with allowReconnect, then the socket closes."""
        return sum(h.close_all(error) for h in self._hubs(hub))

    def push_event(self, hub: HubKind, target: str, arguments: list[Any], *,
                   subscribed_only: bool = True) -> int:
        """Push any invocation, e.g. a fixture from stream_events.json, to the hub's clients.

        Routed like real events (by account id / contract id when the arguments carry one)
        unless ``subscribed_only`` is False. Returns the number of connections it went to.
        """
        target_hub = self.user_hub if hub == "user" else self.market_hub
        if not subscribed_only:
            return target_hub.push(target, arguments)
        if hub == "market":
            contract = arguments[0] if arguments and isinstance(arguments[0], str) else None
            return target_hub.push(target, arguments, SignalRHub.market_filter(target, contract))
        return target_hub.push(target, arguments,
                               SignalRHub.user_filter(target, _account_of(target, arguments)))

    def push_user_event(self, target: str, data: dict[str, Any], action: int = 1) -> int:
        return self.user_hub.push_user_event(UserEvent(target, action, data))

    def push_market_event(self, target: str, contract_id: str,
                          data: dict[str, Any] | list[dict[str, Any]]) -> int:
        return self.market_hub.push_market_event(MarketEvent(target, contract_id, data))

    def push_malformed(self, target: str = TRADE_EVENT, kind: MalformedKind = "not_object",
                       account_id: int | None = None) -> int:
        """Send a broken push to the target's subscribers: ``not_object`` (an envelope whose
        data is a string), ``bare_string``, ``no_arguments`` or ``invalid_json`` (a frame that
        does not parse)."""
        is_user = target.startswith("GatewayUser")
        hub = self.user_hub if is_user else self.market_hub
        accept = (SignalRHub.user_filter(target, account_id) if is_user
                  else SignalRHub.market_filter(target, None))
        arguments: list[Any]
        if kind == "invalid_json":
            return hub.push_frame('{"type":1,"target":"' + target + '","arguments":[{"act' + RS,
                                  accept)
        if kind == "not_object":
            arguments = [{"action": 0, "data": "not-an-object"}]
        elif kind == "bare_string":
            arguments = ["not-an-object"]
        else:
            arguments = []
        return hub.push_frame(encode({"type": 1, "target": target, "arguments": arguments}),
                              accept)


def _account_of(target: str, arguments: list[Any]) -> int | None:
    if not arguments or not isinstance(arguments[0], dict):
        return None
    item = arguments[0]
    data = item.get("data") if "data" in item and "action" in item else item
    if not isinstance(data, dict):
        return None
    value = data.get("id" if target == ACCOUNT_EVENT else "accountId")
    return value if isinstance(value, int) and not isinstance(value, bool) else None
