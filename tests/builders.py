"""Shared test builders: events, configs and engines with the live contract list loaded."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.config import AppConfig
from core.config.io import DEFAULT_CONFIG_RESOURCE, parse_config
from core.domain.clock import ManualClock
from core.domain.commands import RecordingPort
from core.domain.events import AccountEvent, OrderEvent, PositionEvent, QuoteEvent, TradeEvent
from core.engine.engine import Engine
from core.modules.contracts import Contract
from core.persistence.store import StateStore

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "projectx-live"

ACCOUNT = 26282486
OTHER_ACCOUNT = 25775680
MNQ = "CON.F.US.MNQ.U26"  # tick 0.25, $0.50 a tick: $2 a point
MES = "CON.F.US.MES.U26"  # tick 0.25, $1.25 a tick: $5 a point
ES = "CON.F.US.EP.U26"  # tick 0.25, $12.50 a tick: $50 a point
NQ = "CON.F.US.ENQ.U26"  # tick 0.25, $5 a tick: $20 a point
CL = "CON.F.US.CLE.V26"

# A Wednesday inside the default 08:30-15:10 America/Chicago window (10:00 CDT).
T0 = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)

_ids = itertools.count(5_000_000_000)


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def live_contracts() -> list[Contract]:
    return [Contract.from_gateway(c) for c in fixture_json("contracts_available.json")]


def config(rules: dict[str, dict[str, Any]] | None = None, **sections: dict[str, Any]) -> AppConfig:
    """A config with every rule off except those given: ``config({"max_contracts": {"limit": 2}})``.

    Each given rule table is enabled unless it says ``enabled: False``.
    """
    data: dict[str, Any] = {"rules": {}}
    for key, table in (rules or {}).items():
        data["rules"][key] = {"enabled": True, **table}
    data.update(sections)
    return parse_config(data)


def default_config() -> AppConfig:
    import tomllib

    return parse_config(tomllib.loads(DEFAULT_CONFIG_RESOURCE.read_text()))


def make_engine(
    cfg: AppConfig | None = None,
    *,
    clock: ManualClock | None = None,
    store: StateStore | None = None,
    with_contracts: bool = True,
) -> tuple[Engine, ManualClock, RecordingPort]:
    clock = clock or ManualClock(T0)
    port = RecordingPort()
    engine = Engine(cfg or config(), clock, port, store=store)
    if with_contracts:
        for contract in live_contracts():
            engine.contracts.put(contract, persist=False)
    return engine, clock, port


def position(
    contract_id: str,
    signed_size: int,
    average_price: float,
    *,
    account_id: int = ACCOUNT,
    created_at: datetime | None = None,
    position_id: int = 1,
) -> PositionEvent:
    return PositionEvent(
        position_id=position_id,
        account_id=account_id,
        contract_id=contract_id,
        type=0 if signed_size == 0 else (1 if signed_size > 0 else 2),
        size=abs(signed_size),
        average_price=average_price,
        created_at=created_at,
    )


def trade(
    pnl: float | str | None,
    *,
    at: datetime,
    fees: float | str = "0.36",
    contract_id: str = MNQ,
    account_id: int = ACCOUNT,
    trade_id: int | None = None,
    voided: bool = False,
    side: int = 1,
    size: int = 1,
    price: float = 100.0,
    order_id: int | None = None,
    commissions: float | str | None = None,
) -> TradeEvent:
    return TradeEvent(
        trade_id=trade_id if trade_id is not None else next(_ids),
        account_id=account_id,
        contract_id=contract_id,
        created_at=at,
        price=price,
        side=side,
        size=size,
        fees=Decimal(str(fees)),
        pnl=None if pnl is None else Decimal(str(pnl)),
        voided=voided,
        order_id=order_id,
        commissions=None if commissions is None else Decimal(str(commissions)),
    )


def quote(contract_id: str, last: float | None = None, bid: float | None = None, ask: float | None = None) -> QuoteEvent:
    return QuoteEvent(contract_id=contract_id, last_price=last, bid=bid, ask=ask)


def order(
    contract_id: str,
    *,
    side: int,
    type: int = 4,
    size: int = 1,
    stop_price: float | None = None,
    limit_price: float | None = None,
    status: int = 1,
    order_id: int | None = None,
    account_id: int = ACCOUNT,
    created_at: datetime | None = None,
) -> OrderEvent:
    return OrderEvent(
        order_id=order_id if order_id is not None else next(_ids),
        account_id=account_id,
        contract_id=contract_id,
        status=status,
        type=type,
        side=side,
        size=size,
        stop_price=stop_price,
        limit_price=limit_price,
        created_at=created_at,
    )


def account(can_trade: bool | None, account_id: int = ACCOUNT) -> AccountEvent:
    return AccountEvent(account_id=account_id, can_trade=can_trade)


def open_store(path: Path | str, executor: Any = None, batch_interval: float = 5.0) -> StateStore:
    """A StateStore on a real SQLite file, drained by hand (no event loop attached)."""
    from core.persistence.database import Database
    from core.persistence.writers import Inbox

    return StateStore(Database(path), Inbox(), executor, batch_interval=batch_interval)
