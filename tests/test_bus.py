"""The notice bus and the commands it reports: a broken listener never stops enforcement."""

from __future__ import annotations

from typing import Any

from core.domain.bus import EventBus
from core.domain.commands import CloseContract, Flatten, RecordingPort
from core.engine.notices import BreachDetected, EnforcementIssued, LockSet
from tests.builders import ACCOUNT, MNQ, T0, config, make_engine, position, trade


def test_subscribers_get_only_the_kind_they_asked_for() -> None:
    bus = EventBus()
    everything: list[Any] = []
    ints: list[Any] = []
    bus.subscribe(everything.append)
    bus.subscribe(ints.append, int)
    bus.publish(1)
    bus.publish("two")
    assert everything == [1, "two"]
    assert ints == [1]


def test_unsubscribe_stops_delivery_and_may_be_called_twice() -> None:
    bus = EventBus()
    seen: list[Any] = []
    unsubscribe = bus.subscribe(seen.append)
    bus.publish(1)
    unsubscribe()
    unsubscribe()
    bus.publish(2)
    assert seen == [1]


def test_a_subscriber_that_unsubscribes_while_called_does_not_skip_the_next_one() -> None:
    bus = EventBus()
    seen: list[Any] = []
    unsubscribe = bus.subscribe(lambda n: unsubscribe())
    bus.subscribe(seen.append)
    bus.publish("x")
    assert seen == ["x"]


def test_a_failing_listener_never_stops_enforcement_or_the_other_listeners() -> None:
    engine, _, port = make_engine(config({"daily_realized_loss": {"limit": 300}}))

    def broken(notice: Any) -> None:
        raise RuntimeError("a dialog crashed")

    engine.bus.subscribe(broken)
    seen: list[Any] = []
    engine.bus.subscribe(seen.append)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(trade("-400", fees="0", at=T0))
    assert [type(c) for c in port.commands] == [Flatten]
    assert [type(n) for n in seen][-3:] == [
        LockSet,
        BreachDetected,
        EnforcementIssued,
    ]
    engine.handle(position(MNQ, 2, 20000.0))  # the gate still works afterwards
    assert [type(c) for c in port.commands] == [Flatten, CloseContract]


def test_enforcement_issued_carries_the_command_with_its_event_time() -> None:
    engine, _, port = make_engine(config({"max_contracts": {"limit": 1}}))
    issued: list[EnforcementIssued] = []
    engine.bus.subscribe(issued.append, EnforcementIssued)
    engine.handle(position(MNQ, 2, 20000.0))
    assert [n.command for n in issued] == port.commands
    assert issued[0].command.account_id == ACCOUNT
    assert issued[0].command.event_at > 0
    assert port.arrived_at[0] >= issued[0].command.event_at


def test_a_repeated_hard_breach_during_its_lock_is_not_enforced_or_reported_again() -> None:
    engine, clock, port = make_engine(config({"daily_realized_loss": {"limit": 300}}))
    breaches: list[BreachDetected] = []
    engine.bus.subscribe(breaches.append, BreachDetected)
    engine.handle(trade("-400", fees="0", at=T0))
    clock.advance(60)
    engine.handle(trade("-50", fees="0", at=clock.now()))
    assert [type(c) for c in port.commands] == [Flatten]
    assert len(breaches) == 1


def test_recording_port_filters_and_clears() -> None:
    port = RecordingPort()
    close = CloseContract(account_id=1, rule_id="RULE-001", reason="r", contract_id=MNQ)
    flat = Flatten(account_id=1, rule_id="RULE-003", reason="r")
    port.submit(close)
    port.submit(flat)
    assert port.of_type(Flatten) == [flat]
    assert len(port.arrived_at) == 2
    port.clear()
    assert port.commands == [] and port.arrived_at == []
