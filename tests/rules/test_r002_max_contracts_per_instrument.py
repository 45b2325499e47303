"""RULE-002 max_contracts_per_instrument: a cap per symbol root, all expiries counted together."""

from __future__ import annotations

from typing import Any

from core.domain.commands import CloseContract, PartialClose
from core.engine.engine import Engine
from core.engine.rules.r002_max_contracts_per_instrument import MaxContractsPerInstrumentRule
from core.modules.contracts import Contract
from tests.builders import ACCOUNT, ES, MES, MNQ, NQ, config, make_engine, position
from tests.rules.support import lock_of, sent

RULE = "RULE-002"
MNQ_DEC = "CON.F.US.MNQ.Z26"  # the December expiry: same MNQ root as MNQ (September)


def engine_with(**table: Any) -> tuple[Engine, Any, Any]:
    engine, clock, port = make_engine(config({"max_contracts_per_instrument": table}))
    engine.contracts.put(Contract(MNQ_DEC, "MNQZ6", 0.25, 0.5), persist=False)
    return engine, clock, port


def summary(port: Any) -> list[tuple[type, str, int | None]]:
    return [(type(c), c.contract_id, getattr(c, "size", None)) for c in port.commands]


def test_at_the_symbol_limit_nothing_happens() -> None:
    engine, _, port = engine_with(limits={"MNQ": 2})
    engine.handle(position(MNQ, 2, 20000.0))
    assert port.commands == []


def test_one_over_the_symbol_limit_closes_the_excess() -> None:
    engine, _, port = engine_with(limits={"MNQ": 2})
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(position(MNQ, 3, 20000.0))
    assert summary(port) == [(PartialClose, MNQ, 1)]
    command = port.commands[0]
    assert command.rule_id == RULE and command.account_id == ACCOUNT
    assert "3 MNQ contracts open, limit 2" in command.reason
    assert lock_of(engine, RULE) is None  # trade-by-trade: no lock


def test_short_side_is_limited_the_same_way() -> None:
    engine, _, port = engine_with(limits={"MNQ": 2})
    engine.handle(position(MNQ, -4, 20000.0))
    assert summary(port) == [(PartialClose, MNQ, 2)]


def test_other_symbols_are_not_held_to_a_listed_symbols_limit() -> None:
    engine, _, port = engine_with(limits={"MNQ": 1})
    engine.handle(position(NQ, 3, 20000.0))  # NQ not listed, no default, unknown = allow
    assert port.commands == []


def test_default_limit_applies_to_unlisted_symbols() -> None:
    engine, _, port = engine_with(limits={"MNQ": 5}, default_limit=1)
    engine.handle(position(MES, 1, 5000.0))
    assert port.commands == []
    engine.handle(position(MES, 2, 5000.0))
    assert summary(port) == [(PartialClose, MES, 1)]


def test_listed_limit_wins_over_the_default() -> None:
    engine, _, port = engine_with(limits={"MNQ": 5}, default_limit=1)
    engine.handle(position(MNQ, 5, 20000.0))
    assert port.commands == []


def test_unknown_symbol_block_closes_any_position_in_an_unlisted_symbol() -> None:
    engine, _, port = engine_with(limits={"MNQ": 2}, unknown_symbol="block")
    engine.handle(position(MES, 1, 5000.0))
    assert summary(port) == [(CloseContract, MES, None)]
    assert "limit 0" in port.commands[0].reason


def test_unknown_symbol_allow_leaves_unlisted_symbols_alone() -> None:
    engine, _, port = engine_with(limits={"MNQ": 2}, unknown_symbol="allow")
    engine.handle(position(MES, 40, 5000.0))
    assert port.commands == []


def test_default_limit_overrides_unknown_symbol_block() -> None:
    engine, _, port = engine_with(limits={}, default_limit=2, unknown_symbol="block")
    engine.handle(position(MES, 2, 5000.0))
    assert port.commands == []


def test_a_listed_symbol_is_not_blocked_by_unknown_symbol_block() -> None:
    engine, _, port = engine_with(limits={"MNQ": 2}, unknown_symbol="block")
    engine.handle(position(MNQ, 2, 20000.0))
    assert port.commands == []


def test_expiries_of_one_root_are_counted_together() -> None:
    engine, clock, port = engine_with(limits={"MNQ": 3})
    engine.handle(position(MNQ, 2, 20000.0))
    clock.advance(1)
    engine.handle(position(MNQ_DEC, 1, 20100.0, position_id=2))
    assert port.commands == []  # 3 MNQ in all: at the limit
    clock.advance(1)
    engine.handle(position(MNQ_DEC, 2, 20100.0, position_id=2))
    assert summary(port) == [(PartialClose, MNQ_DEC, 1)]
    assert "3 MNQ" not in port.commands[0].reason and "4 MNQ" in port.commands[0].reason


def test_an_expiry_missing_from_the_contract_cache_still_counts_by_its_id_root() -> None:
    engine, clock, port = engine_with(limits={"MNQ": 2})
    unknown_expiry = "CON.F.US.MNQ.H27"
    engine.handle(position(MNQ, 2, 20000.0))
    clock.advance(1)
    engine.handle(position(unknown_expiry, 1, 20200.0, position_id=3))
    assert summary(port) == [(CloseContract, unknown_expiry, None)]


def test_es_limit_is_not_applied_to_mes() -> None:
    engine, _, port = engine_with(limits={"ES": 1})
    engine.handle(position(MES, 3, 5000.0))
    assert port.commands == []
    engine.handle(position(ES, 2, 5000.0, position_id=2))  # ES (contract id root EP) is limited
    assert summary(port) == [(PartialClose, ES, 1)]


def test_mes_does_not_count_towards_the_es_limit() -> None:
    engine, clock, port = engine_with(limits={"ES": 1, "MES": 10})
    engine.handle(position(MES, 5, 5000.0))
    clock.advance(1)
    engine.handle(position(ES, 1, 5000.0, position_id=2))
    assert port.commands == []


def test_excess_spread_over_expiries_is_taken_newest_first() -> None:
    # Already over (a previous close pending) when a second expiry arrives.
    engine, clock, _ = engine_with(limits={"MNQ": 1})
    engine.mirror.apply_position(position(MNQ, 2, 20000.0), clock.now())
    clock.advance(1)
    newest = position(MNQ_DEC, 2, 20100.0, position_id=2)
    engine.mirror.apply_position(newest, clock.now())
    rule = MaxContractsPerInstrumentRule(engine.config.rules.max_contracts_per_instrument)
    [breach] = rule.evaluate(engine.context(ACCOUNT, clock.now()), newest)
    assert [(type(c), c.contract_id, getattr(c, "size", None)) for c in breach.commands] == [
        (CloseContract, MNQ_DEC, None),  # 4 open, limit 1: 2 of December (all of it)…
        (PartialClose, MNQ, 1),  # …then 1 of September
    ]


def test_a_closed_position_event_is_not_judged() -> None:
    engine, _, port = engine_with(limits={}, unknown_symbol="block")
    engine.handle(position(MES, 0, 0.0))  # a flat position arrives: nothing to close
    assert sent(port, RULE) == []
