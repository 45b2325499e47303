"""Reading the state file back at start-up, in SPEC section 4 order: lockouts, daily P&L,
contracts, reset schedule, trade counts, positions and orders (and the MLL floors)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core.domain.events import OrderEvent, TradeEvent
from core.modules.contracts import Contract
from core.modules.lockouts import Lock, LockKind, SymbolLock
from core.modules.mirror import Position
from core.modules.mll_tracker import MllRecord
from core.modules.reset_scheduler import ResetRecord
from core.persistence import schema
from core.persistence.database import Database
from core.persistence.statements import _dt


class StateLoader:
    db: Database

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

    def load_mll(self) -> list[MllRecord]:
        t = schema.mll_state
        with self.db.engine.connect() as conn:
            return [
                MllRecord(
                    account_id=row.account_id,
                    plan_id=row.plan_id,
                    starting_balance=row.starting_balance,
                    mll_amount=row.mll_amount,
                    eod_high=row.eod_high,
                    floor=row.floor,
                    eod_balance=row.eod_balance,
                    eod_day=row.eod_day,
                )
                for row in conn.execute(select(t))
            ]
