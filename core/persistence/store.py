"""The state store: every module's rows, routed to the critical or the batched writer.

Critical (durable before anyone is told): lockouts, symbol locks, trades with their day's
totals, the reset schedule, the MLL floors. Batched: positions, orders, contract cache, session starts and
the enforcement log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from core.domain.events import OrderEvent, TradeEvent
from core.modules.contracts import Contract
from core.modules.enforcement_log import EnforcementRecord
from core.modules.lockouts import Lock, SymbolLock
from core.modules.mirror import Position
from core.modules.mll_tracker import MllRecord
from core.modules.pnl_tracker import DayPnl
from core.modules.reset_scheduler import ResetRecord
from core.persistence import schema
from core.persistence.app_state import put_work
from core.persistence.database import Database
from core.persistence.loader import StateLoader
from core.persistence.statements import _delete, _insert, _iso, _now, _upsert
from core.persistence.writers import BatchWriter, CriticalWriter, Inbox, SubmitsWork


class StateStore(StateLoader):
    def __init__(
        self,
        db: Database,
        inbox: Inbox,
        executor: Executor | SubmitsWork | None = None,
        batch_interval: float = 5.0,
    ) -> None:
        self.db = db
        self.inbox = inbox
        self.critical = CriticalWriter(db.engine, inbox)
        self.batched = BatchWriter(db.engine, executor, interval=batch_interval, name="state")

    # --- critical ------------------------------------------------------------------------------

    def save_lock(self, lock: Lock, then: Callable[[], None]) -> None:
        values = {
            "account_id": lock.account_id,
            "rule_id": lock.rule_id,
            "kind": lock.kind.value,
            "reason": lock.reason,
            "locked_at": _iso(lock.locked_at),
            "locked_until": _iso(lock.until),
            "baseline": json.dumps(dict(lock.baseline)),
            "updated_at": _now(),
        }
        self.critical.submit(_upsert(schema.lockouts, values, ["account_id", "rule_id"]), then,
                             f"the {lock.rule_id} lock of account {lock.account_id}")

    def delete_lock(self, lock: Lock, then: Callable[[], None]) -> None:
        work = _delete(schema.lockouts, account_id=lock.account_id, rule_id=lock.rule_id)
        self.critical.submit(work, then, f"the end of the {lock.rule_id} lock of account {lock.account_id}")

    def save_symbol_lock(self, lock: SymbolLock, then: Callable[[], None]) -> None:
        values = {
            "account_id": lock.account_id,
            "symbol": lock.symbol,
            "rule_id": lock.rule_id,
            "reason": lock.reason,
            "locked_at": _iso(lock.locked_at),
        }
        self.critical.submit(
            _upsert(schema.symbol_lockouts, values, ["account_id", "symbol"]), then,
            f"the {lock.symbol} lock of account {lock.account_id}",
        )

    def delete_symbol_lock(self, lock: SymbolLock, then: Callable[[], None]) -> None:
        work = _delete(schema.symbol_lockouts, account_id=lock.account_id, symbol=lock.symbol)
        self.critical.submit(work, then, f"the end of the {lock.symbol} lock of account {lock.account_id}")

    def save_trade(self, trade: TradeEvent, day: date, totals: DayPnl, then: Callable[[], None]) -> None:
        trade_row = _upsert(
            schema.trade_history,
            {
                "trade_id": trade.trade_id,
                "account_id": trade.account_id,
                "contract_id": trade.contract_id,
                "created_at": _iso(trade.created_at),
                "trading_day": day,
                "price": trade.price,
                "side": trade.side,
                "size": trade.size,
                "pnl": str(trade.pnl) if trade.pnl is not None else None,
                "fees": str(trade.fees),
                "voided": trade.voided,
                "order_id": trade.order_id,
                "commissions": str(trade.commissions) if trade.commissions is not None else None,
            },
            ["trade_id"],
        )
        day_row = _upsert(
            schema.daily_pnl,
            {
                "account_id": trade.account_id,
                "trading_day": day,
                "realized_pnl": str(totals.net),
                "gross_pnl": str(totals.gross),
                "fees": str(totals.fees),
                "trade_count": totals.trade_count,
                "last_updated": _now(),
            },
            ["account_id", "trading_day"],
        )

        def work(conn: Connection) -> None:
            trade_row(conn)  # the trade and the total it produced commit together
            day_row(conn)

        self.critical.submit(work, then, f"trade {trade.trade_id} of account {trade.account_id}")

    def save_mll(self, record: MllRecord, then: Callable[[], None]) -> None:
        values = {
            "account_id": record.account_id,
            "plan_id": record.plan_id,
            "starting_balance": record.starting_balance,
            "mll_amount": record.mll_amount,
            "eod_high": record.eod_high,
            "floor": record.floor,
            "eod_balance": record.eod_balance,
            "eod_day": record.eod_day,
            "updated_at": _now(),
        }
        self.critical.submit(_upsert(schema.mll_state, values, ["account_id"]), then,
                             f"the loss-limit floor of account {record.account_id}")

    def save_reset(self, record: ResetRecord, then: Callable[[], None]) -> None:
        values = {
            "account_id": record.account_id,
            "last_reset_day": record.last_reset_day,
            "next_reset_time": _iso(record.next_reset_at),
            "reset_time_config": record.reset_time_config,
            "timezone": record.timezone,
        }
        self.critical.submit(_upsert(schema.reset_schedule, values, ["account_id"]), then,
                             f"the daily reset of account {record.account_id}")

    # --- batched -------------------------------------------------------------------------------

    def save_position(self, position: Position) -> None:
        values = {
            "account_id": position.account_id,
            "contract_id": position.contract_id,
            "position_id": position.position_id,
            "type": 1 if position.signed_size > 0 else 2,
            "size": abs(position.signed_size),
            "average_price": position.average_price,
            "created_at": _iso(position.created_at),
            "updated_at": _iso(position.last_grew_at) or _now(),
        }
        key = ("position", position.account_id, position.contract_id)
        self.batched.put(key, _upsert(schema.positions, values, ["account_id", "contract_id"]))

    def delete_position(self, account_id: int, contract_id: str) -> None:
        work = _delete(schema.positions, account_id=account_id, contract_id=contract_id)
        self.batched.put(("position", account_id, contract_id), work)

    def save_order(self, order: OrderEvent) -> None:
        values = {
            "order_id": order.order_id,
            "account_id": order.account_id,
            "contract_id": order.contract_id,
            "status": order.status,
            "type": order.type,
            "side": order.side,
            "size": order.size,
            "limit_price": order.limit_price,
            "stop_price": order.stop_price,
            "created_at": _iso(order.created_at),
            "updated_at": _iso(order.updated_at) or _now(),
        }
        self.batched.put(("order", order.order_id), _upsert(schema.orders, values, ["order_id"]))

    def delete_order(self, order_id: int) -> None:
        self.batched.put(("order", order_id), _delete(schema.orders, order_id=order_id))

    def cache_contract(self, contract: Contract) -> None:
        values = {
            "contract_id": contract.contract_id,
            "name": contract.name,
            "description": contract.description,
            "tick_size": contract.tick_size,
            "tick_value": contract.tick_value,
            "symbol_id": contract.symbol_id,
            "cached_at": _now(),
        }
        self.batched.put(
            ("contract", contract.contract_id),
            _upsert(schema.contract_cache, values, ["contract_id"]),
        )

    def save_session(self, account_id: int, start: datetime, day: date) -> None:
        values = {
            "account_id": account_id,
            "session_start": _iso(start),
            "trading_day": day,
            "updated_at": _now(),
        }
        self.batched.put(("session", account_id), _upsert(schema.session_state, values, ["account_id"]))

    def save_app_state(self, key: str, value: Any) -> None:
        """A small app value (the heartbeat) with the batched rows: latest value wins."""
        self.batched.put(("app_state", key), put_work(key, value))

    def log_enforcement(self, record: EnforcementRecord) -> None:
        values = {
            "timestamp": _iso(record.at),
            "account_id": record.account_id,
            "rule_id": record.rule_id,
            "action": record.action,
            "reason": record.reason,
            "outcome": record.outcome,
            "details": json.dumps(record.details, default=str),
            "execution_time_ms": record.execution_time_ms,
        }
        self.batched.append(_insert(schema.enforcement_log, values))

    # --- lifecycle -----------------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        ok = self.critical.wait_idle(timeout)
        return self.batched.wait_idle(timeout) and ok

    def close(self) -> None:
        self.critical.wait_idle()
        self.critical.close()
        self.batched.close()
        self.db.dispose()
