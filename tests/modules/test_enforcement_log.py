"""MOD-001 (state half): every enforcement record goes to the store's log_enforcement."""

from __future__ import annotations

from datetime import timedelta

from core.modules.enforcement_log import EnforcementLog, EnforcementRecord
from tests.builders import ACCOUNT, MNQ, T0


class FakeStore:
    def __init__(self) -> None:
        self.records: list[EnforcementRecord] = []

    def log_enforcement(self, record: EnforcementRecord) -> None:
        self.records.append(record)


def record(outcome: str, seconds: float = 0, **kw: object) -> EnforcementRecord:
    return EnforcementRecord(
        at=T0 + timedelta(seconds=seconds),
        account_id=ACCOUNT,
        rule_id="RULE-003",
        action="flatten",
        reason="daily realized loss -510.00 <= -500",
        outcome=outcome,
        **kw,  # type: ignore[arg-type]
    )


def test_records_go_to_the_store_in_order() -> None:
    store = FakeStore()
    log = EnforcementLog(store)
    issued = record("issued", details={"contract_id": MNQ})
    done = record("done", 0.05, execution_time_ms=48.5)
    log.record(issued)
    log.record(done)
    assert store.records == [issued, done]
    assert store.records[0].details == {"contract_id": MNQ}
    assert store.records[1].execution_time_ms == 48.5


def test_without_a_store_recording_is_a_no_op() -> None:
    EnforcementLog().record(record("failed"))


def test_record_defaults() -> None:
    r = record("issued")
    assert r.execution_time_ms is None and r.details == {}
    assert record("issued").details is not r.details  # no shared mutable default
