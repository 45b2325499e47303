"""Drive ``topstep-client-py`` (async, httpx + signalrcore) through the whole ProjectX surface.

Runs in that client's own venv. Hub URLs are overridden through the client's public
``MarketHub(token, hub_url=...)`` / ``UserHub(token, hub_url=...)`` constructors; the REST
base through ``TopstepClient.create(base_url=...)``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from driver_common import Events, Report, last_price, payloads, sandbox, settle, ticks_from
from topstep import (
    APIError,
    BarUnit,
    Bracket,
    MarketHub,
    OrderSide,
    OrderType,
    PlaceOrderRequest,
    TopstepClient,
    UserHub,
)

USER_KINDS = ("user_account", "user_order", "user_position", "user_trade")


async def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)


async def step(report: Report, name: str, action: Callable[[], Awaitable[Any]]) -> Any:
    try:
        result = await action()
    except Exception as exc:
        report.failures.append(f"{name}: {type(exc).__name__}: {exc}")
        return None
    report.steps[name] = result
    return result


async def main() -> None:
    cfg = sandbox()
    report = Report()
    events = Events()
    account = cfg["account_id"]
    client = await TopstepClient.create(cfg["username"], cfg["api_key"],
                                        base_url=cfg["base_url"])
    report.steps["login"] = {"token": bool(client.token)}
    market = MarketHub(client.token or "", hub_url=cfg["market_hub"])
    user = UserHub(client.token or "", hub_url=cfg["user_hub"])
    try:
        await run(client, market, user, account, report, events)
    finally:
        report.steps["event_counts"] = events.counts()
        # signalrcore's stop() waits for its receive thread, which sits in recv() until the
        # server next sends something (a keep-alive ping comes every 15 s): do not wait.
        stops = [asyncio.ensure_future(hub.stop()) for hub in (market, user)]
        done, _ = await asyncio.wait(stops, timeout=2)
        report.steps["hub_stop"] = f"{len(done)} of 2 returned within 2 s"
        report.emit()
    os._exit(0)  # leave signalrcore's threads behind rather than wait on them


async def run(client: TopstepClient, market: MarketHub, user: UserHub, account: int,
              report: Report, events: Events) -> None:
    async def accounts() -> Any:
        found = await client.accounts.search()
        return [a.id for a in found]
    await step(report, "accounts", accounts)

    async def contracts() -> Any:
        found = await client.contracts.search("MNQ")
        one = await client.contracts.search_by_id(found[0].id)
        available = await client.contracts.available()
        return {"search": [c.id for c in found], "by_id": one.id, "tick": one.tick_size,
                "available": len(available)}
    info = await step(report, "contracts", contracts)
    if not info:
        return
    mnq, tick = info["search"][0], info["tick"]

    async def bars() -> Any:
        end = datetime.now(UTC)
        found = await client.history.retrieve_bars(mnq, end - timedelta(hours=1), end,
                                                   unit=BarUnit.MINUTE, unit_number=5, limit=5)
        return {"count": len(found)}
    await step(report, "bars", bars)

    market.on_quote(events.recorder("quote"))
    market.on_trade(events.recorder("trade"))
    market.on_depth(events.recorder("depth"))
    for kind in ("account", "order", "position", "trade"):
        getattr(user, "on_" + kind)(events.recorder("user_" + kind))

    opened = {"market": asyncio.Event(), "user": asyncio.Event()}
    market.on_open(opened["market"].set)
    user.on_open(opened["user"].set)

    async def hubs() -> Any:
        # connect() returns once the socket is up, before signalrcore has sent the SignalR
        # handshake from its own thread; a Subscribe sent in between would be read as a bad
        # handshake (by live ASP.NET too). Wait for on_open, as the client lets us.
        await market.connect()
        await user.connect()
        for hub in ("market", "user"):
            await asyncio.wait_for(opened[hub].wait(), 10)
        await market.subscribe_all(mnq)
        await user.subscribe_all(account)
        got_market = await wait_for(lambda: all(events.of(k) for k in ("quote", "trade",
                                                                         "depth")), 20)
        return {"market_events": bool(got_market), "counts": events.counts()}
    await step(report, "hubs", hubs)
    last = await wait_for(lambda: last_price(events))
    if last is None:
        report.failures.append("no quote with a lastPrice")
        return

    async def place(**fields: Any) -> int:
        return await client.orders.place(PlaceOrderRequest(account_id=account, contract_id=mnq,
                                                           **fields))

    async def open_orders() -> dict[int, Any]:
        return {o.id: o for o in await client.orders.search_open(account)}

    async def market_buy() -> Any:
        order_id = await place(type=OrderType.MARKET, side=OrderSide.BUY, size=3)
        filled = await wait_for(lambda: any(
            p.get("id") == order_id and p.get("status") == 2
            for a in events.of("user_order") for p in payloads(a)))
        positions = await client.positions.search_open(account)
        return {"order_id": order_id, "filled_event": bool(filled),
                "positions": [(p.contract_id, int(p.type), p.size) for p in positions]}
    await step(report, "market_order", market_buy)

    async def limit_modify_cancel() -> Any:
        order_id = await place(type=OrderType.LIMIT, side=OrderSide.BUY, size=1,
                               limit_price=ticks_from(last, -40, tick))
        new_price = ticks_from(last, -60, tick)
        await client.orders.modify(account, order_id, limit_price=new_price, size=2)
        modified = (await open_orders())[order_id]
        await client.orders.cancel(account, order_id)
        return {"modified": [modified.limit_price, modified.size], "wanted": [new_price, 2],
                "gone_after_cancel": order_id not in await open_orders()}
    await step(report, "limit_modify_cancel", limit_modify_cancel)

    async def stop_order() -> Any:
        order_id = await place(type=OrderType.STOP, side=OrderSide.SELL, size=1,
                               stop_price=ticks_from(last, -40, tick))
        moved = ticks_from(last, -30, tick)
        await client.orders.modify(account, order_id, stop_price=moved)
        after = (await open_orders())[order_id].stop_price
        await client.orders.cancel(account, order_id)
        return {"stop_after_modify": after, "wanted": moved}
    await step(report, "stop_order", stop_order)

    async def trailing_stop() -> Any:
        level = ticks_from(last_price(events) or last, -20, tick)
        order_id = await place(type=OrderType.TRAILING_STOP, side=OrderSide.SELL, size=1,
                               trail_price=level)
        working = (await open_orders())[order_id]
        await client.orders.modify(account, order_id,
                                   trail_price=ticks_from(last_price(events) or last, -30, tick))
        try:
            await place(type=OrderType.TRAILING_STOP, side=OrderSide.SELL, size=1)
            missing = "accepted"
        except APIError as exc:
            missing = str(exc)
        await client.orders.cancel(account, order_id)
        return {"type": int(working.type), "stop_price": working.stop_price, "level": level,
                "without_trail_price": missing}
    await step(report, "trailing_stop", trailing_stop)

    tag = f"tp-{time.time_ns()}"  # custom tags must be unique per account, as live

    async def bracket() -> Any:
        order_id = await place(type=OrderType.LIMIT, side=OrderSide.BUY, size=1,
                               limit_price=ticks_from(last, -80, tick), custom_tag=tag,
                               stop_loss_bracket=Bracket(ticks=-20, type=4),
                               take_profit_bracket=Bracket(ticks=40, type=1))
        def children() -> list[str]:
            return sorted({p.get("customTag") for a in events.of("user_order")
                           for p in payloads(a) if p.get("parentOrderId") == order_id})
        await wait_for(lambda: len(children()) >= 2)
        kids = children()
        listed = sorted(o.custom_tag or "" for o in (await open_orders()).values()
                        if o.custom_tag and o.custom_tag.startswith(tag))
        await client.orders.cancel(account, order_id)
        return {"children_on_stream": kids, "in_search_open": listed}
    await step(report, "bracket", bracket)

    async def closes() -> Any:
        await client.positions.partial_close(account, mnq, 1)
        after_partial = [p.size for p in await client.positions.search_open(account)]
        await client.positions.close(account, mnq)
        after_close = [p.size for p in await client.positions.search_open(account)]
        removed = await wait_for(lambda: any(
            p.get("size") == 0 for a in events.of("user_position") for p in payloads(a)))
        return {"after_partial": after_partial, "after_close": after_close,
                "removal_event": bool(removed)}
    await step(report, "closes", closes)

    async def history() -> Any:
        since = datetime.now(UTC) - timedelta(hours=1)
        trades = await client.trades.search(account, since)
        orders = await client.orders.search(account, since)
        return {"trades": len(trades), "closing_pnl": sum(
            1 for t in trades if t.profit_and_loss is not None),
            "fees": round(sum(t.fees for t in trades), 2), "orders": len(orders)}
    await step(report, "history", history)

    async def user_events() -> Any:
        await asyncio.to_thread(settle, events, USER_KINDS)
        return {kind: len(events.of("user_" + kind))
                for kind in ("account", "order", "position", "trade")}
    await step(report, "user_events", user_events)

    async def unsubscribe() -> Any:
        await market.unsubscribe_all(mnq)
        await user.unsubscribe_all(account)
        return True
    await step(report, "unsubscribe", unsubscribe)


if __name__ == "__main__":
    asyncio.run(main())
