"""Small helpers shared by the rule tests: Chicago wall time and reading what the engine did."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.domain.commands import EnforcementCommand, RecordingPort
from core.engine.engine import Engine
from core.modules.lockouts import Lock
from tests.builders import ACCOUNT

CHICAGO = ZoneInfo("America/Chicago")


def ct(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time in America/Chicago (the trading-day and session timezone)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=CHICAGO)


def sent(port: RecordingPort, rule_id: str) -> list[EnforcementCommand]:
    """The commands a given rule (or the gate acting for its lock) sent."""
    return [c for c in port.commands if c.rule_id == rule_id]


def lock_of(engine: Engine, rule_id: str, account_id: int = ACCOUNT) -> Lock | None:
    return engine.lockouts.get(account_id, rule_id)
