"""Rules that key by symbol root never guess a contract's symbol from its id.

ES's contract id is ``CON.F.US.EP.U26``: its id root is EP, not ES. Until the contract's
details are known the per-symbol rules take no decision on it and the contract is looked up;
the answer is judged at once; a contract the gateway does not know is an unknown symbol
(RULE-002's ``unknown_symbol``, SPEC section 3). The gateway's ``Contract/searchById`` is
played by a loader whose answer the test releases, as the service's REST client is awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.config.io import parse_config
from core.domain.commands import CancelOrder, CloseContract, Flatten, PartialClose, RecordingPort
from core.domain.events import AccountEvent
from core.engine.engine import Engine
from core.modules.contracts import Contract
from tests.builders import ACCOUNT, ES, MNQ, config, live_contracts, make_engine, order, position

CT = ZoneInfo("America/Chicago")
LIVE = {c.contract_id: c for c in live_contracts()}
NOT_LISTED = "CON.F.US.NOPE.Z99"  # a contract the gateway does not know


class Gateway:
    """``Contract/searchById`` answering only once :meth:`answer` is called."""

    def __init__(self, known: dict[str, Contract]) -> None:
        self.known = known
        self.asked: list[str] = []
        self._release = asyncio.Event()

    def __call__(self, contract_id: str) -> Awaitable[Contract | None]:
        self.asked.append(contract_id)
        return self._lookup(contract_id)

    async def _lookup(self, contract_id: str) -> Contract | None:
        await self._release.wait()
        return self.known.get(contract_id)

    async def answer(self) -> None:
        self._release.set()
        for _ in range(10):
            await asyncio.sleep(0)


def engine_with_lookup(cfg: Any, clock_at: datetime | None = None) -> tuple[Engine, Any, RecordingPort, Gateway]:
    """An engine that knows no contract yet, with the gateway's lookup plugged in."""
    engine, clock, port = make_engine(cfg, with_contracts=False)
    if clock_at is not None:
        clock.set(clock_at)
    gateway = Gateway(LIVE)
    engine.contracts.loader = gateway
    return engine, clock, port, gateway


def summary(port: RecordingPort) -> list[tuple[str, str, str, int | None]]:
    return [
        (type(c).__name__, c.rule_id, getattr(c, "contract_id", ""), getattr(c, "size", None))
        for c in port.commands
    ]


PER_SYMBOL = {"max_contracts_per_instrument": {"limits": {"ES": 2, "MNQ": 3}, "unknown_symbol": "block"}}


# --- RULE-002 --------------------------------------------------------------------------------------


async def test_002_no_close_before_the_lookup_and_es_within_its_limit_is_left_alone() -> None:
    engine, _, port, gateway = engine_with_lookup(config(PER_SYMBOL))
    engine.handle(position(ES, 1, 5000.0))
    assert port.commands == []  # EP is not a listed symbol, but EP is not the symbol either
    assert gateway.asked == [ES]
    await gateway.answer()
    assert port.commands == []  # 1 ES of 2: allowed
    assert engine.contracts.symbol_of(ES) == "ES"


async def test_002_es_over_its_limit_is_cut_back_as_soon_as_the_lookup_answers() -> None:
    engine, _, port, gateway = engine_with_lookup(config(PER_SYMBOL))
    engine.handle(position(ES, 3, 5000.0))
    assert port.commands == []
    await gateway.answer()  # no new event: the answer itself is judged
    assert summary(port) == [("PartialClose", "RULE-002", ES, 1)]
    assert port.commands[0].reason == "3 ES contracts open, limit 2"


async def test_002_a_contract_the_gateway_does_not_know_is_an_unlisted_symbol() -> None:
    engine, _, port, gateway = engine_with_lookup(config(PER_SYMBOL))
    engine.handle(position(NOT_LISTED, 1, 10.0))
    assert port.commands == []
    await gateway.answer()
    assert summary(port) == [("CloseContract", "RULE-002", NOT_LISTED, None)]  # block
    assert port.commands[0].reason == "1 NOPE (unknown to the gateway) contracts open, limit 0"


async def test_002_unknown_to_the_gateway_and_unlisted_symbols_allowed() -> None:
    cfg = config({"max_contracts_per_instrument": {"limits": {"ES": 2}, "unknown_symbol": "allow"}})
    engine, _, port, gateway = engine_with_lookup(cfg)
    engine.handle(position(NOT_LISTED, 5, 10.0))
    await gateway.answer()
    assert port.commands == []


async def test_002_unknown_to_the_gateway_takes_the_default_limit() -> None:
    cfg = config({"max_contracts_per_instrument": {"limits": {"ES": 2}, "default_limit": 1}})
    engine, _, port, gateway = engine_with_lookup(cfg)
    engine.handle(position(NOT_LISTED, 3, 10.0))
    await gateway.answer()
    assert summary(port) == [("PartialClose", "RULE-002", NOT_LISTED, 2)]


async def test_002_a_known_root_is_judged_while_another_contract_is_looked_up() -> None:
    engine, _, port, gateway = engine_with_lookup(config(PER_SYMBOL))
    engine.contracts.put(LIVE[MNQ], persist=False)
    engine.handle(position(ES, 1, 5000.0))
    engine.handle(position(MNQ, 4, 20000.0, position_id=2))
    assert summary(port) == [("PartialClose", "RULE-002", MNQ, 1)]  # 4 MNQ of 3: sure now
    await gateway.answer()
    assert len(port.commands) == 1


# --- RULE-011 --------------------------------------------------------------------------------------


async def test_011_a_blocked_symbol_is_closed_once_the_lookup_names_it() -> None:
    engine, _, port, gateway = engine_with_lookup(config({"symbol_blocks": {"symbols": ["ES"]}}))
    engine.handle(position(ES, 1, 5000.0))
    stop = order(ES, side=1, stop_price=4990.0, size=3)  # bigger than the position: an opener
    engine.handle(stop)
    assert port.commands == []
    await gateway.answer()
    assert sorted(summary(port)) == [
        ("CancelOrder", "RULE-011", ES, None),
        ("CloseContract", "RULE-011", ES, None),
    ]
    assert [lock.symbol for lock in engine.lockouts.symbol_locks(ACCOUNT)] == ["ES"]


async def test_011_an_order_alone_in_a_blocked_symbol_is_cancelled_once_known() -> None:
    engine, _, port, gateway = engine_with_lookup(config({"symbol_blocks": {"symbols": ["ES"]}}))
    engine.handle(order(ES, side=0, type=1, limit_price=4900.0))
    assert port.commands == []
    await gateway.answer()
    assert [type(c) for c in port.commands] == [CancelOrder]


async def test_011_a_contract_the_gateway_does_not_know_is_in_no_blocked_symbol() -> None:
    engine, _, port, gateway = engine_with_lookup(config({"symbol_blocks": {"symbols": ["NOPE"]}}))
    engine.handle(position(NOT_LISTED, 1, 10.0))
    await gateway.answer()
    assert port.commands == []  # its id says NOPE, but nothing names its symbol


async def test_a_symbol_lock_catches_a_new_contract_once_it_is_known() -> None:
    engine, _, port, gateway = engine_with_lookup(config({"symbol_blocks": {"symbols": ["ES"]}}))
    engine.contracts.put(LIVE[ES], persist=False)
    engine.handle(position(ES, 1, 5000.0))
    engine.handle(position(ES, 0, 5000.0))
    assert [lock.symbol for lock in engine.lockouts.symbol_locks(ACCOUNT)] == ["ES"]
    port.clear()
    # Another contract of another id root, which the lookup says is ES too (as EP is).
    other = "CON.F.US.ESX.Z26"
    gateway.known[other] = Contract(other, "ESZ6", 0.25, 12.5)
    engine.handle(position(other, 1, 5000.0, position_id=2))
    assert port.commands == []  # the gate does not guess either
    await gateway.answer()
    assert summary(port) == [("CloseContract", "RULE-011", other, None)]


# --- RULE-001 (net), RULE-009, RULE-015, RULE-016 ------------------------------------------------------


async def test_001_net_count_waits_for_the_symbol_that_could_net() -> None:
    """MNQ Sep long and an unnamed contract short: a calendar spread if it is MNQ Dec."""
    cfg = config({"max_contracts": {"limit": 2, "count_type": "net"}})
    engine, _, port, gateway = engine_with_lookup(cfg)
    engine.contracts.put(LIVE[MNQ], persist=False)
    december = "CON.F.US.MNQX.Z26"  # an id root nobody has seen yet
    gateway.known[december] = Contract(december, "MNQZ6", 0.25, 0.5)
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(position(december, -2, 20100.0, position_id=2))
    assert port.commands == []  # 4 if apart, 0 if a spread: not decided yet
    await gateway.answer()
    assert port.commands == []  # MNQ Dec: the spread nets to 0


async def test_001_net_count_over_the_limit_once_the_symbol_is_known() -> None:
    cfg = config({"max_contracts": {"limit": 2, "count_type": "net"}})
    engine, clock, port, gateway = engine_with_lookup(cfg)
    engine.contracts.put(LIVE[MNQ], persist=False)
    engine.handle(position(MNQ, 2, 20000.0))
    clock.advance(1)
    engine.handle(position(ES, -2, 5000.0, position_id=2))
    assert port.commands == []
    await gateway.answer()  # ES: no netting against MNQ, 4 of 2: the newest goes
    assert summary(port) == [("CloseContract", "RULE-001", ES, None)]


def session_config(**symbols: Any) -> Any:
    return config({"session_block_outside": {"start": "08:30", "end": "15:00", "symbols": symbols}})


async def test_009_per_symbol_hours_wait_for_the_symbol() -> None:
    at = datetime(2026, 8, 19, 15, 30, tzinfo=CT)  # after the table's 15:00, before ES's 16:00
    engine, _, port, gateway = engine_with_lookup(
        session_config(ES={"start": "08:30", "end": "16:00"}), at
    )
    engine.handle(position(ES, 1, 5000.0))
    engine.tick()
    assert port.commands == []  # EP would have had the table's hours: a false close
    await gateway.answer()
    engine.tick()
    assert port.commands == []  # ES trades until 16:00


async def test_009_a_contract_the_gateway_does_not_know_has_the_tables_hours() -> None:
    at = datetime(2026, 8, 19, 15, 30, tzinfo=CT)
    engine, _, port, gateway = engine_with_lookup(
        session_config(NOPE={"start": "08:30", "end": "16:00"}), at
    )
    engine.handle(position(NOT_LISTED, 1, 10.0))
    assert port.commands == []
    await gateway.answer()
    assert [type(c) for c in port.commands] == [Flatten]


COMBINE = 13370001


def plan_engine(rules: dict[str, Any], at: datetime) -> tuple[Engine, RecordingPort, Gateway]:
    cfg = parse_config({"rules": {name: {"enabled": True, **table} for name, table in rules.items()}})
    engine, _, port, gateway = engine_with_lookup(cfg, at)
    engine.handle(AccountEvent(COMBINE, name="50KTC-V2-645601-13370001", balance=50_000.0, can_trade=True))
    return engine, port, gateway


async def test_015_micros_wait_for_their_symbol_before_a_cut() -> None:
    """A 50K Combine allows 5 lots, 50 micros: 20 micro crude (MCL, id root MCLE) is 2 lots;
    20 of anything else would be 20."""
    micro_crude = "CON.F.US.MCLE.V26"
    engine, port, gateway = plan_engine({"plan_position_size": {}}, datetime(2026, 8, 19, 10, tzinfo=CT))
    engine.handle(position(micro_crude, 20, 65.0, account_id=COMBINE))
    assert port.commands == []
    await gateway.answer()
    assert port.commands == []
    engine.handle(position(micro_crude, 60, 65.0, account_id=COMBINE))
    assert [(type(c), c.rule_id, getattr(c, "size", None)) for c in port.commands] == [
        (PartialClose, "RULE-015", 10)
    ]


async def test_016_an_early_closing_product_is_closed_once_its_symbol_is_known() -> None:
    corn = "CON.F.US.ZCE.Z26"  # ZC closes at 13:20 CT; its id's root is ZCE
    engine, port, gateway = plan_engine({"firm_close": {}}, datetime(2026, 8, 19, 13, 18, tzinfo=CT))
    engine.handle(position(corn, 1, 450.0, account_id=COMBINE))
    assert port.commands == []
    await gateway.answer()
    assert [(type(c), c.rule_id) for c in port.commands] == [(CloseContract, "RULE-016")]


# --- what the dashboard shows meanwhile ----------------------------------------------------------


async def test_the_per_symbol_bar_says_a_position_is_not_judged_while_its_symbol_is_looked_up() -> None:
    from core.app.snapshot_builder import take_snapshot

    engine, _, _, gateway = engine_with_lookup(config(PER_SYMBOL))
    engine.handle(position(ES, 1, 5000.0))
    [usage] = take_snapshot(engine, ACCOUNT, status="protected").limits
    assert "symbol not known yet, not judged" in usage.text  # never shown as within its limit
    await gateway.answer()
    [usage] = take_snapshot(engine, ACCOUNT, status="protected").limits
    assert usage.text == "ES: 1 of 2 contracts"
