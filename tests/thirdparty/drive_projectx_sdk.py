"""Drive ``projectx-sdk`` (sync, requests + signalrcore 0.9.2 with negotiation) through the
ProjectX surface.

Runs in that client's own venv. The REST base is overridden with ``ProjectXClient(base_url=...)``
and the hubs with the public ``SyncRealTimeClient(user_hub_url=..., market_hub_url=...)``
(``client.realtime`` would take them from its table of firms).
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from driver_common import (
    Events,
    Report,
    last_price,
    payloads,
    sandbox,
    settle,
    ticks_from,
    wait_until,
)
from projectx_sdk import OrderSide, OrderType, ProjectXClient, ProjectXError
from projectx_sdk.realtime import SyncRealTimeClient


def main() -> None:
    cfg = sandbox()
    report = Report()
    events = Events()
    account = cfg["account_id"]
    client = ProjectXClient(username=cfg["username"], api_key=cfg["api_key"],
                            base_url=cfg["base_url"])
    report.steps["login"] = {"token": bool(client.auth.get_token())}
    realtime = SyncRealTimeClient(auth_token=client.auth.get_token(), environment="sandbox",
                                  user_hub_url=cfg["user_hub"], market_hub_url=cfg["market_hub"])
    try:
        run(client, realtime, account, report, events)
    finally:
        report.steps["event_counts"] = events.counts()
        # Its stop() can wait on signalrcore's receive thread; give it a moment, no more.
        stopper = threading.Thread(target=realtime.stop, daemon=True)
        stopper.start()
        stopper.join(3)
        report.steps["hub_stop"] = "returned" if not stopper.is_alive() else "still closing"
        report.emit()
    os._exit(0)


def run(client: ProjectXClient, realtime: SyncRealTimeClient, account: int, report: Report,
        events: Events) -> None:
    report.step("accounts", lambda: [a.id for a in client.accounts.search(
        only_active_accounts=True)])

    def contracts() -> Any:
        found = client.contracts.search(search_text="MNQ", live=False)
        # This client reads Contract/searchById's answer as a "contracts" list, the shape of
        # the gateway's old docs; live (and the sandbox) answer one "contract" object.
        by_id = client.contracts.search_by_id(found[0].id)
        return {"search": [c.id for c in found], "tick": found[0].tick_size,
                "by_id": None if by_id is None else by_id.id}
    info = report.step("contracts", contracts)
    if not info:
        return
    mnq, tick = info["search"][0], info["tick"]

    def bars() -> Any:
        end = datetime.now(UTC)
        found = client.history.retrieve_bars(
            contract_id=mnq, start_time=end - timedelta(hours=1), end_time=end, unit=2,
            unit_number=5, limit=5, include_partial_bar=False, live=False)
        return {"count": len(found)}
    report.step("bars", bars)

    def hubs() -> Any:
        realtime.start()
        realtime.user.subscribe_accounts(events.recorder("user_account"))
        realtime.user.subscribe_orders(account, events.recorder("user_order"))
        realtime.user.subscribe_positions(account, events.recorder("user_position"))
        realtime.user.subscribe_trades(account, events.recorder("user_trade"))
        realtime.market.subscribe_quotes(mnq, events.recorder("quote"))
        realtime.market.subscribe_trades(mnq, events.recorder("trade"))
        realtime.market.subscribe_market_depth(mnq, events.recorder("depth"))
        got = wait_until(lambda: all(events.of(k) for k in ("quote", "trade", "depth")), 20)
        return {"connected": realtime.is_connected(), "market_events": bool(got),
                "counts": events.counts()}
    report.step("hubs", hubs)
    last = wait_until(lambda: last_price(events))
    if last is None:
        report.failures.append("no quote with a lastPrice")
        return

    def place(order_type: OrderType, side: OrderSide, size: int, **prices: Any) -> int:
        order_id: int = client.orders.place(account_id=account, contract_id=mnq,
                                            order_type=order_type, side=side, size=size,
                                            **prices)
        return order_id

    def open_orders() -> dict[int, Any]:
        return {o.id: o for o in client.orders.search_open(account)}

    def market_buy() -> Any:
        order_id = place(OrderType.MARKET, OrderSide.BUY, 2)
        filled = wait_until(lambda: any(
            p.get("id") == order_id and p.get("status") == 2
            for a in events.of("user_order") for p in payloads(a)))
        positions = client.positions.search_open(account)
        return {"order_id": order_id, "filled_event": bool(filled),
                "positions": [(p.contract_id, p.type, p.size) for p in positions]}
    report.step("market_order", market_buy)

    def limit_modify_cancel() -> Any:
        order_id = place(OrderType.LIMIT, OrderSide.BUY, 1,
                         limit_price=ticks_from(last, -40, tick))
        new_price = ticks_from(last, -60, tick)
        client.orders.modify(account_id=account, order_id=order_id, limit_price=new_price,
                             size=2)
        modified = open_orders()[order_id]
        client.orders.cancel(account_id=account, order_id=order_id)
        return {"modified": [modified.limit_price, modified.size], "wanted": [new_price, 2],
                "gone_after_cancel": order_id not in open_orders()}
    report.step("limit_modify_cancel", limit_modify_cancel)

    def stop_order() -> Any:
        order_id = place(OrderType.STOP, OrderSide.SELL, 1,
                         stop_price=ticks_from(last, -40, tick))
        moved = ticks_from(last, -30, tick)
        client.orders.modify(account_id=account, order_id=order_id, stop_price=moved)
        after = open_orders()[order_id].stop_price
        client.orders.cancel(account_id=account, order_id=order_id)
        return {"stop_after_modify": after, "wanted": moved}
    report.step("stop_order", stop_order)

    def trailing_stop() -> Any:
        level = ticks_from(last_price(events) or last, -20, tick)
        order_id = place(OrderType.TRAILING_STOP, OrderSide.SELL, 1, trail_price=level)
        working = open_orders()[order_id]
        client.orders.modify(account_id=account, order_id=order_id,
                             trail_price=ticks_from(last_price(events) or last, -30, tick))
        after = open_orders()[order_id]
        try:
            place(OrderType.TRAILING_STOP, OrderSide.SELL, 1,
                  trail_price=ticks_from(last, -2000, tick))  # 2000 ticks: over the maximum
            too_far = "accepted"
        except ProjectXError as exc:
            too_far = str(exc)
        client.orders.cancel(account_id=account, order_id=order_id)
        return {"type": working.type, "stop_price": working.stop_price, "level": level,
                "trail_read_back": [working.trail_price, after.trail_price],
                "too_far": too_far}
    report.step("trailing_stop", trailing_stop)

    def closes() -> Any:
        client.positions.partial_close_contract(account_id=account, contract_id=mnq, size=1)
        after_partial = [p.size for p in client.positions.search_open(account)]
        client.positions.close_contract(account_id=account, contract_id=mnq)
        after_close = [p.size for p in client.positions.search_open(account)]
        try:
            client.positions.close_contract(account_id=account, contract_id=mnq)
            again = "accepted"
        except ProjectXError as exc:
            again = str(exc)
        removed = wait_until(lambda: any(
            p.get("size") == 0 for a in events.of("user_position") for p in payloads(a)))
        return {"after_partial": after_partial, "after_close": after_close,
                "close_when_flat": again, "removal_event": bool(removed)}
    report.step("closes", closes)

    def history() -> Any:
        since = datetime.now(UTC) - timedelta(hours=1)
        trades = client.trades.search(account_id=account, start_timestamp=since)
        orders = client.orders.search(account_id=account, start_timestamp=since)
        return {"trades": len(trades), "closing_pnl": sum(
            1 for t in trades if t.profit_and_loss is not None), "orders": len(orders)}
    report.step("history", history)

    def user_events() -> Any:
        settle(events, ("user_account", "user_order", "user_position", "user_trade"))
        return {kind: len(events.of("user_" + kind))
                for kind in ("account", "order", "position", "trade")}
    report.step("user_events", user_events)


if __name__ == "__main__":
    main()
