"""The state store: every module's rows, routed to the critical or the batched writer.

Critical (durable before anyone is told): lockouts, symbol locks, trades with their day's
totals, the reset schedule. Batched: positions, orders, contract cache, session starts and
the enforcement log.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Executable, Table, bindparam, delete, select
from sqlalchemy.dialects.sqlite import insert

from core.domain.events import OrderEvent, TradeEvent
from core.modules.contracts import Contract
from core.modules.enforcement_log import EnforcementRecord
from core.modules.lockouts import Lock, LockKind, SymbolLock
from core.modules.mirror import Position
from core.modules.pnl_tracker import DayPnl
from core.modules.reset_scheduler import ResetRecord
from core.persistence import schema
from core.persistence.database import Database
from core.persistence.writers import BatchWriter, CriticalWriter, Inbox, SubmitsWork, Work


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt is not None else None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _now() -> str:
    # Audit column only; decisions never read it, so the wall clock is fine here.
    return datetime.now(UTC).isoformat()


def _insert(table: Table, values: dict[str, Any]) -> Work:
    stmt = table.insert()

    def work(conn: Connection) -> None:
        conn.execute(stmt, values)

    return work


@functools.cache
def _upsert_statement(table: Table, keys: tuple[str, ...]) -> Executable:
    """Built once per table: compiling a statement per row cost the event loop ~200 µs/event."""
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
    )


@functools.cache
def _delete_statement(table: Table, keys: tuple[str, ...]) -> Executable:
    return delete(table).where(*(table.c[k] == bindparam(f"key_{k}") for k in keys))


def _upsert(table: Table, values: dict[str, Any], keys: list[str]) -> Work:
    stmt = _upsert_statement(table, tuple(keys))

    def work(conn: Connection) -> None:
        conn.execute(stmt, values)

    return work


def _delete(table: Table, **keys: Any) -> Work:
    stmt = _delete_statement(table, tuple(keys))
    params = {f"key_{k}": v for k, v in keys.items()}

    def work(conn: Connection) -> None:
        conn.execute(stmt, params)

    return work


class StateStore:
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
        self.critical.submit(_upsert(schema.lockouts, values, ["account_id", "rule_id"]), then)

    def delete_lock(self, lock: Lock, then: Callable[[], None]) -> None:
        work = _delete(schema.lockouts, account_id=lock.account_id, rule_id=lock.rule_id)
        self.critical.submit(work, then)

    def save_symbol_lock(self, lock: SymbolLock, then: Callable[[], None]) -> None:
        values = {
            "account_id": lock.account_id,
            "symbol": lock.symbol,
            "rule_id": lock.rule_id,
            "reason": lock.reason,
            "locked_at": _iso(lock.locked_at),
        }
        self.critical.submit(
            _upsert(schema.symbol_lockouts, values, ["account_id", "symbol"]), then
        )

    def delete_symbol_lock(self, lock: SymbolLock, then: Callable[[], None]) -> None:
        work = _delete(schema.symbol_lockouts, account_id=lock.account_id, symbol=lock.symbol)
        self.critical.submit(work, then)

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

        self.critical.submit(work, then)

    def save_reset(self, record: ResetRecord, then: Callable[[], None]) -> None:
        values = {
            "account_id": record.account_id,
            "last_reset_day": record.last_reset_day,
            "next_reset_time": _iso(record.next_reset_at),
            "reset_time_config": record.reset_time_config,
            "timezone": record.timezone,
        }
        self.critical.submit(_upsert(schema.reset_schedule, values, ["account_id"]), then)

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

    # --- loading (startup, in SPEC section 4 order) -------------------------------------------

    def load_locks(self) -> tuple[list[Lock], list[SymbolLock]]:
        with self.db.engine.connect() as conn:
            locks = [
                Lock(
                    account_id=row.account_id,
                    rule_id=row.rule_id,
                    kind=LockKind(row.kind),
                    reason=row.reason,
                    locked_at=datetime.fromisoformat(row.locked_at),
                    until=_dt(row.locked_until),
                    baseline={k: int(v) for k, v in json.loads(row.baseline or "{}").items()},
                )
                for row in conn.execute(select(schema.lockouts))
            ]
            symbol_locks = [
                SymbolLock(
                    account_id=row.account_id,
                    symbol=row.symbol,
                    rule_id=row.rule_id,
                    reason=row.reason,
                    locked_at=datetime.fromisoformat(row.locked_at),
                )
                for row in conn.execute(select(schema.symbol_lockouts))
            ]
        return locks, symbol_locks

    def load_trades(self, since_day: date) -> list[TradeEvent]:
        t = schema.trade_history
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.trading_day >= since_day).order_by(t.c.created_at))
            return [
                TradeEvent(
                    trade_id=row.trade_id,
                    account_id=row.account_id,
                    contract_id=row.contract_id,
                    created_at=datetime.fromisoformat(row.created_at),
                    price=row.price,
                    side=row.side,
                    size=row.size,
                    fees=Decimal(row.fees),
                    pnl=Decimal(row.pnl) if row.pnl is not None else None,
                    voided=bool(row.voided),
                    order_id=row.order_id,
                    commissions=Decimal(row.commissions) if row.commissions is not None else None,
                )
                for row in rows
            ]

    def load_daily_pnl(self, account_id: int, day: date) -> Decimal | None:
        t = schema.daily_pnl
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(t.c.realized_pnl).where(t.c.account_id == account_id, t.c.trading_day == day)
            ).first()
        return Decimal(row[0]) if row else None

    def load_contracts(self) -> list[Contract]:
        with self.db.engine.connect() as conn:
            return [
                Contract(
                    contract_id=row.contract_id,
                    name=row.name,
                    tick_size=row.tick_size,
                    tick_value=row.tick_value,
                    symbol_id=row.symbol_id,
                    description=row.description,
                )
                for row in conn.execute(select(schema.contract_cache))
            ]

    def load_resets(self) -> list[ResetRecord]:
        with self.db.engine.connect() as conn:
            return [
                ResetRecord(
                    account_id=row.account_id,
                    last_reset_day=row.last_reset_day,
                    next_reset_at=datetime.fromisoformat(row.next_reset_time),
                    reset_time_config=row.reset_time_config,
                    timezone=row.timezone,
                )
                for row in conn.execute(select(schema.reset_schedule))
            ]

    def load_positions(self) -> list[Position]:
        with self.db.engine.connect() as conn:
            out = []
            for row in conn.execute(select(schema.positions)):
                created = _dt(row.created_at)
                seen = _dt(row.updated_at) or datetime.now(UTC)
                out.append(
                    Position(
                        account_id=row.account_id,
                        contract_id=row.contract_id,
                        position_id=row.position_id,
                        signed_size=row.size if row.type == 1 else -row.size,
                        average_price=row.average_price,
                        created_at=created,
                        first_seen_at=created or seen,
                        last_grew_at=seen,
                    )
                )
            return out

    def load_orders(self) -> list[OrderEvent]:
        with self.db.engine.connect() as conn:
            return [
                OrderEvent(
                    order_id=row.order_id,
                    account_id=row.account_id,
                    contract_id=row.contract_id,
                    status=row.status,
                    type=row.type,
                    side=row.side,
                    size=row.size,
                    limit_price=row.limit_price,
                    stop_price=row.stop_price,
                    created_at=_dt(row.created_at),
                    updated_at=_dt(row.updated_at),
                )
                for row in conn.execute(select(schema.orders))
            ]

    def enforcement_rows(self, limit: int = 100) -> Iterator[Any]:
        t = schema.enforcement_log
        with self.db.engine.connect() as conn:
            yield from conn.execute(select(t).order_by(t.c.id.desc()).limit(limit)).all()

    # --- lifecycle -----------------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        ok = self.critical.wait_idle(timeout)
        return self.batched.wait_idle(timeout) and ok

    def close(self) -> None:
        self.critical.wait_idle()
        self.critical.close()
        self.batched.close()
        self.db.dispose()
