"""RULE-001 max_contracts: too many contracts open across the account → cut the newest back."""

from __future__ import annotations

from typing import Any

from core.domain.commands import CloseContract, PartialClose
from core.engine.engine import Engine
from core.engine.rules.r001_max_contracts import MaxContractsRule
from tests.builders import ACCOUNT, MES, MNQ, NQ, OTHER_ACCOUNT, config, make_engine, position
from tests.rules.support import lock_of, sent

RULE = "RULE-001"
MNQ_DEC = "CON.F.US.MNQ.Z26"  # the same root as MNQ, a later expiry


def engine_with(**table: Any) -> tuple[Engine, Any, Any]:
    return make_engine(config({"max_contracts": table}))


def test_at_the_limit_nothing_happens() -> None:
    engine, _, port = engine_with(limit=5)
    engine.handle(position(MNQ, 5, 20000.0))
    assert port.commands == []


def test_one_contract_over_the_limit_partially_closes_the_excess() -> None:
    engine, _, port = engine_with(limit=5)
    engine.handle(position(MNQ, 5, 20000.0))
    engine.handle(position(MNQ, 6, 20000.0))
    assert len(port.commands) == 1
    command = port.commands[0]
    assert isinstance(command, PartialClose)
    assert (command.rule_id, command.account_id, command.contract_id, command.size) == (
        RULE,
        ACCOUNT,
        MNQ,
        1,
    )
    assert "6 contracts" in command.reason and "limit 5" in command.reason


def test_trade_by_trade_rule_sets_no_lock() -> None:
    engine, _, port = engine_with(limit=5)
    engine.handle(position(MNQ, 6, 20000.0))
    assert sent(port, RULE)
    assert lock_of(engine, RULE) is None
    assert engine.lockouts.locks(ACCOUNT) == []


def test_short_positions_count_by_their_size() -> None:
    engine, _, port = engine_with(limit=5)
    engine.handle(position(MNQ, -5, 20000.0))
    assert port.commands == []
    engine.handle(position(MNQ, -7, 20000.0))
    assert port.commands == [
        PartialClose(
            account_id=ACCOUNT,
            rule_id=RULE,
            reason=port.commands[0].reason,
            event_at=port.commands[0].event_at,
            contract_id=MNQ,
            size=2,
            from_size=-7,  # what the engine saw: the executor can send without reading first
        )
    ]


def test_net_never_offsets_one_root_against_another() -> None:
    # MNQ long 5 and MES short 3 are different roots: net = |5| + |−3| = 8, 3 over a limit of 5;
    # the newest position (MES, 3) goes.
    engine, clock, port = engine_with(limit=5, count_type="net")
    engine.handle(position(MNQ, 5, 20000.0))
    assert port.commands == []
    clock.advance(1)
    engine.handle(position(MES, -3, 5000.0, position_id=2))
    [command] = port.commands
    assert isinstance(command, CloseContract) and command.contract_id == MES
    assert "8 contracts open (net)" in command.reason


def test_a_calendar_spread_nets_within_its_root() -> None:
    # Long 4 September, short 3 December of MNQ: the root's net is 1.
    engine, clock, port = engine_with(limit=5, count_type="net")
    engine.handle(position(MNQ, 4, 20000.0))
    clock.advance(1)
    engine.handle(position(MNQ_DEC, -3, 20100.0, position_id=2))
    assert port.commands == []
    clock.advance(1)
    engine.handle(position(MES, 5, 5000.0, position_id=3))  # 1 + 5 = 6: one over
    [command] = port.commands
    assert isinstance(command, PartialClose)
    assert (command.contract_id, command.size) == (MES, 1)


def test_gross_count_adds_long_and_short() -> None:
    # long 5 + short 3 = gross 8: 3 over a limit of 5; the newest (the short) goes whole.
    engine, clock, port = engine_with(limit=5, count_type="gross")
    engine.handle(position(MNQ, 5, 20000.0))
    assert port.commands == []
    clock.advance(1)
    engine.handle(position(MES, -3, 5000.0, position_id=2))
    assert len(port.commands) == 1
    command = port.commands[0]
    assert isinstance(command, CloseContract)  # excess 3 == the whole MES position
    assert command.contract_id == MES
    assert "8 contracts open (gross)" in command.reason


def test_gross_limit_exactly_reached_is_not_a_breach() -> None:
    engine, clock, port = engine_with(limit=8, count_type="gross")
    engine.handle(position(MNQ, 5, 20000.0))
    clock.advance(1)
    engine.handle(position(MES, -3, 5000.0, position_id=2))
    assert port.commands == []


def test_net_excess_is_taken_from_the_dominant_side_only() -> None:
    # Long 6 September (old), short 1 December (newest) of MNQ: net 5. A limit lowered to 4 is
    # judged at once; closing the newest (the short) would raise the net, so only the long
    # side is cut back.
    engine, clock, port = engine_with(limit=10, count_type="net")
    engine.handle(position(MNQ, 6, 20000.0))
    clock.advance(1)
    engine.handle(position(MNQ_DEC, -1, 20100.0, position_id=2))
    assert port.commands == []
    engine.apply_config(config({"max_contracts": {"limit": 4, "count_type": "net"}}))
    assert port.commands == [
        PartialClose(
            account_id=ACCOUNT,
            rule_id=RULE,
            reason=port.commands[0].reason,
            event_at=port.commands[0].event_at,
            contract_id=MNQ,
            size=1,
            from_size=6,
        )
    ]
    assert "5 contracts open (net), limit 4" in port.commands[0].reason


def test_reduce_to_limit_cuts_only_the_excess_of_the_newest_position() -> None:
    engine, clock, port = engine_with(limit=5, reduce_to_limit=True)
    engine.handle(position(MNQ, 3, 20000.0))
    clock.advance(5)
    engine.handle(position(MES, 4, 5000.0, position_id=2))  # 7 open, 2 too many
    assert [(type(c), c.contract_id, getattr(c, "size", None)) for c in port.commands] == [
        (PartialClose, MES, 2)
    ]


def test_reduce_to_limit_off_closes_the_newest_position_whole() -> None:
    engine, clock, port = engine_with(limit=5, reduce_to_limit=False)
    engine.handle(position(MNQ, 3, 20000.0))
    clock.advance(5)
    engine.handle(position(MES, 4, 5000.0, position_id=2))
    assert [(type(c), c.contract_id) for c in port.commands] == [(CloseContract, MES)]


def test_excess_bigger_than_the_newest_position_spills_to_the_next_newest() -> None:
    # Already over (an earlier close not confirmed yet) when the newest arrives: 2 + 1 + 2 = 5
    # against a limit of 2 is three too many: all of MES (2), then 1 of NQ, MNQ untouched.
    engine, clock, _ = engine_with(limit=2, reduce_to_limit=True)
    for seconds, event in ((0, position(MNQ, 2, 20000.0)), (1, position(NQ, 1, 20000.0, position_id=2))):
        clock.advance(seconds)
        engine.mirror.apply_position(event, clock.now())
    clock.advance(1)
    newest = position(MES, 2, 5000.0, position_id=3)
    engine.mirror.apply_position(newest, clock.now())
    rule = MaxContractsRule(engine.config.rules.max_contracts)
    [breach] = rule.evaluate(engine.context(ACCOUNT, clock.now()), newest)
    assert [(type(c), c.contract_id) for c in breach.commands] == [  # type: ignore[union-attr]
        (CloseContract, MES),
        (CloseContract, NQ),
    ]


def test_excess_spills_without_reduce_closes_whole_positions_until_under() -> None:
    engine, clock, port = engine_with(limit=2, reduce_to_limit=False)
    engine.handle(position(MNQ, 2, 20000.0))
    clock.advance(1)
    engine.handle(position(NQ, 2, 20000.0, position_id=2))  # 4 open: NQ closed whole
    assert [(type(c), c.contract_id) for c in port.commands] == [(CloseContract, NQ)]


def test_the_position_that_just_grew_counts_as_the_newest() -> None:
    engine, clock, port = engine_with(limit=5)
    engine.handle(position(MNQ, 2, 20000.0))
    clock.advance(1)
    engine.handle(position(MES, 3, 5000.0, position_id=2))
    clock.advance(1)
    engine.handle(position(MNQ, 4, 20000.0))  # the old MNQ adds: 7 open
    assert [(type(c), c.contract_id, getattr(c, "size", None)) for c in port.commands] == [
        (PartialClose, MNQ, 2)
    ]


def test_each_account_has_its_own_count() -> None:
    engine, _, port = engine_with(limit=5)
    engine.handle(position(MNQ, 4, 20000.0))
    engine.handle(position(MNQ, 4, 20000.0, account_id=OTHER_ACCOUNT))
    assert port.commands == []


def test_limit_zero_closes_any_position() -> None:
    engine, _, port = engine_with(limit=0, reduce_to_limit=True)
    engine.handle(position(MES, 1, 5000.0))
    assert [(type(c), c.contract_id) for c in port.commands] == [(CloseContract, MES)]


def test_evaluated_directly_through_the_context() -> None:
    engine, clock, _ = engine_with(limit=5)
    engine.mirror.apply_position(position(MNQ, 5, 20000.0), clock.now())
    rule = MaxContractsRule(engine.config.rules.max_contracts)
    ctx = engine.context(ACCOUNT, clock.now())
    assert rule.evaluate(ctx, position(MNQ, 5, 20000.0)) == []
    grown = position(MNQ, 6, 20000.0)
    engine.mirror.apply_position(grown, clock.now())
    [breach] = rule.evaluate(ctx, grown)
    assert breach.rule_id == RULE and breach.account_id == ACCOUNT
    assert breach.lock is None and breach.symbol_lock is None
    assert [(type(c), c.size) for c in breach.commands] == [(PartialClose, 1)]  # type: ignore[union-attr]
