"""The state database schema (table names from the seed design), versioned.

Ids from the gateway are 64-bit (order and trade ids exceed int32): SQLite INTEGER holds them.
Money is stored as decimal text so the day's P&L read back is exactly what was summed.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 4  # 2: trade_history.commissions; 3: mll_state; 4: app_state

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", String, nullable=False),
)

# MOD-002: one row per (account, rule); several may be active, the most restrictive wins.
lockouts = Table(
    "lockouts",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("rule_id", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("locked_at", String, nullable=False),
    Column("locked_until", String, nullable=True),  # NULL = until an API event (RULE-010)
    Column("baseline", Text, nullable=False, default="{}"),  # cooldown: sizes at its start
    Column("updated_at", String, nullable=False),
)

symbol_lockouts = Table(
    "symbol_lockouts",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("symbol", String, primary_key=True),
    Column("rule_id", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("locked_at", String, nullable=False),
)

# MOD-005: the day's net and the trades it came from (trade_history), both durable per trade.
daily_pnl = Table(
    "daily_pnl",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("trading_day", Date, primary_key=True),
    Column("realized_pnl", String, nullable=False),  # net: gross − fees, decimal text
    Column("gross_pnl", String, nullable=False),
    Column("fees", String, nullable=False),
    Column("trade_count", Integer, nullable=False),
    Column("last_updated", String, nullable=False),
)

trade_history = Table(
    "trade_history",
    metadata,
    Column("trade_id", Integer, primary_key=True, autoincrement=False),
    Column("account_id", Integer, nullable=False),
    Column("contract_id", String, nullable=False),
    Column("created_at", String, nullable=False),
    Column("trading_day", Date, nullable=False),
    Column("price", Float, nullable=False),
    Column("side", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("pnl", String, nullable=True),  # NULL on a half-turn that opened or added
    Column("fees", String, nullable=False),
    Column("voided", Boolean, nullable=False),
    Column("order_id", Integer, nullable=True),
    Column("commissions", String, nullable=True),  # NULL: not reported (REST leaves it out)
    Index("ix_trade_history_account_day", "account_id", "trading_day"),
)

# MOD-008: when the current counting session began, per account.
session_state = Table(
    "session_state",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("session_start", String, nullable=False),
    Column("trading_day", Date, nullable=False),
    Column("updated_at", String, nullable=False),
)

# MOD-004
reset_schedule = Table(
    "reset_schedule",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("last_reset_day", Date, nullable=False),
    Column("next_reset_time", String, nullable=False),
    Column("reset_time_config", String, nullable=False),
    Column("timezone", String, nullable=False),
)

# MOD-007
contract_cache = Table(
    "contract_cache",
    metadata,
    Column("contract_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("description", String, nullable=False),
    Column("tick_size", Float, nullable=False),
    Column("tick_value", Float, nullable=False),
    Column("symbol_id", String, nullable=False),
    Column("cached_at", String, nullable=False),
)

# MOD-009: one net position per account and contract; working orders only.
positions = Table(
    "positions",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("contract_id", String, primary_key=True),
    Column("position_id", Integer, nullable=False),
    Column("type", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("average_price", Float, nullable=False),
    Column("created_at", String, nullable=True),
    Column("updated_at", String, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", Integer, primary_key=True, autoincrement=False),
    Column("account_id", Integer, nullable=False),
    Column("contract_id", String, nullable=False),
    Column("status", Integer, nullable=False),
    Column("type", Integer, nullable=False),
    Column("side", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("limit_price", Float, nullable=True),
    Column("stop_price", Float, nullable=True),
    Column("created_at", String, nullable=True),
    Column("updated_at", String, nullable=False),
    Index("ix_orders_account", "account_id"),
)

# MOD-010: the Topstep account's trailing Maximum Loss Limit floor
mll_state = Table(
    "mll_state",
    metadata,
    Column("account_id", Integer, primary_key=True, autoincrement=False),
    Column("plan_id", String, nullable=False),
    Column("starting_balance", Float, nullable=False),
    Column("mll_amount", Float, nullable=False),
    Column("eod_high", Float, nullable=True),
    Column("floor", Float, nullable=False),
    Column("eod_balance", Float, nullable=True),
    Column("eod_day", Date, nullable=True),
    Column("updated_at", String, nullable=False),
)

# MOD-001
enforcement_log = Table(
    "enforcement_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("timestamp", String, nullable=False),
    Column("account_id", Integer, nullable=False),
    Column("rule_id", String, nullable=False),
    Column("action", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("outcome", String, nullable=False),  # issued, done, retry, failed
    Column("details", Text, nullable=False, default="{}"),
    Column("execution_time_ms", Float, nullable=True),
    Index("ix_enforcement_log_account_time", "account_id", "timestamp"),
)

# What the app keeps beside the modules' state, one JSON value per key: the config in force and
# the one waiting for the reset, the admin password's hash, autostart, the run's heartbeat and
# a note that the state file was rebuilt. Read and written rarely (start-up, settings, ticks).
app_state = Table(
    "app_state",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),  # JSON
    Column("updated_at", String, nullable=False),
)
