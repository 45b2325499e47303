"""MOD-001 (its state half): the enforcement audit trail, written in batches.

No in-memory state: every command the engine issues, and every outcome the gateway executor
reports, becomes one ``enforcement_log`` row. Writing must never delay enforcement itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class EnforcementRecord:
    at: datetime
    account_id: int
    rule_id: str
    action: str  # close_contract, partial_close, cancel_order, flatten, modify_stop, place_stop
    reason: str
    outcome: str  # issued, done, retry, failed
    execution_time_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


class EnforcementLogStore(Protocol):
    def log_enforcement(self, record: EnforcementRecord) -> None: ...


class EnforcementLog:
    def __init__(self, store: EnforcementLogStore | None = None) -> None:
        self._store = store

    def record(self, record: EnforcementRecord) -> None:
        if self._store is not None:
            self._store.log_enforcement(record)
