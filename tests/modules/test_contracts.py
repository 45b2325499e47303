"""MOD-007 ContractCache: symbol roots, exact matching, lazy loading of misses."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.modules.contracts import NOT_FOUND, PENDING, Contract, ContractCache, id_root, name_root
from tests.builders import CL, ES, MES, MNQ, NQ, fixture_json, live_contracts

UNKNOWN = "CON.F.US.ZZZ.U26"


def contract(contract_id: str = UNKNOWN, name: str = "ZZZU6") -> Contract:
    return Contract(contract_id=contract_id, name=name, tick_size=0.25, tick_value=1.25)


class FakeStore:
    def __init__(self) -> None:
        self.cached: list[Contract] = []

    def cache_contract(self, contract: Contract) -> None:
        self.cached.append(contract)


# --- symbols -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "root"),
    [
        ("ESU6", "ES"),
        ("MNQU6", "MNQ"),
        ("6BU6", "6B"),
        ("METQ6", "MET"),
        ("CLV6", "CL"),
        ("NQU6", "NQ"),
        ("M2KU6", "M2K"),
        ("ZNU6", "ZN"),
        ("QMV6", "QM"),
        ("E7U6", "E7"),
        ("HGU6", "HG"),
        ("MESZ26", "MES"),
    ],
)
def test_name_root(name: str, root: str) -> None:
    assert name_root(name) == root


def test_name_root_without_month_code() -> None:
    assert name_root("") is None
    assert name_root("ES") is None


def test_every_live_contract_has_a_symbol() -> None:
    raw = fixture_json("contracts_available.json")
    contracts = live_contracts()
    assert len(contracts) == len(raw) > 40
    for c in contracts:
        assert c.symbol and c.symbol.isalnum() and c.symbol == c.symbol.upper(), c.name
        assert name_root(c.name) == c.symbol, c.name  # from the display name, not the id
        assert c.name.startswith(c.symbol)
    by_id = {c.contract_id: c.symbol for c in contracts}
    assert by_id[ES] == "ES"
    assert by_id[NQ] == "NQ"
    assert by_id[MNQ] == "MNQ"
    assert by_id[MES] == "MES"
    assert by_id[CL] == "CL"
    assert by_id["CON.F.US.BP6.U26"] == "6B"
    assert by_id["CON.F.US.GMET.Q26"] == "MET"
    assert by_id["CON.F.US.MCLE.V26"] == "MCL"


def test_from_gateway_fields() -> None:
    c = next(c for c in live_contracts() if c.contract_id == MNQ)
    assert (c.tick_size, c.tick_value, c.symbol_id) == (0.25, 0.5, "F.US.MNQ")
    assert c.aliases == frozenset({"MNQ"})
    es = next(c for c in live_contracts() if c.contract_id == ES)
    assert es.aliases == frozenset({"ES", "EP"})


def test_id_root() -> None:
    assert id_root(MNQ) == "MNQ"
    assert id_root(ES) == "EP"
    assert id_root("con.f.us.enq.u26") == "ENQ"
    assert id_root("weird") == "WEIRD"


def test_the_name_in_words_falls_back_to_the_id_root() -> None:
    cache = ContractCache()
    assert cache.symbol(ES) == "EP"  # not yet known: words only, no rule decides on it
    cache.restore(live_contracts())
    assert cache.symbol(ES) == "ES"
    assert cache.symbol(NQ) == "NQ"


# --- matching ------------------------------------------------------------------------------------


def test_matches_is_exact() -> None:
    cache = ContractCache()
    cache.restore(live_contracts())
    assert cache.matches(ES, {"ES"}) == "ES"
    assert cache.matches(MES, {"ES"}) is None
    assert cache.matches(ES, {"MES"}) is None
    assert cache.matches(MNQ, {"NQ"}) is None
    assert cache.matches(NQ, {"NQ", "MNQ"}) == "NQ"
    assert cache.matches(ES, {"EP"}) == "EP"  # the id alias
    assert cache.matches(ES, set()) is None


def test_matches_prefers_the_display_symbol() -> None:
    cache = ContractCache()
    cache.restore(live_contracts())
    for _ in range(20):
        assert cache.matches(ES, frozenset({"EP", "ES"})) == "ES"


def test_an_unknown_contract_matches_nothing_until_its_symbol_is_known() -> None:
    """ES's id root is EP: guessing from the id would misname it. Unknown means "ask"."""
    cache = ContractCache()
    assert cache.symbol_of(ES) is PENDING
    assert cache.listed(ES, {"ES"}) is PENDING
    assert cache.matches(ES, {"ES"}) is None
    assert cache.matches(MNQ, {"MNQ"}) is None  # even where the id's root is the symbol
    assert cache.listed(MNQ, {"ES"}) is PENDING  # nor is it surely not listed
    asked: list[str] = []

    def loader(cid: str) -> Contract | None:
        asked.append(cid)
        return next((c for c in live_contracts() if c.contract_id == cid), None)

    cache.loader = loader  # the gateway client exists: what was wanted meanwhile is asked
    assert sorted(asked) == sorted([ES, MNQ])
    assert cache.symbol_of(ES) == "ES"
    assert cache.listed(ES, {"ES"}) == "ES"
    assert cache.listed(MNQ, {"ES"}) is None


def test_another_expiry_of_a_known_id_root_has_its_symbol() -> None:
    cache = ContractCache()
    cache.put(next(c for c in live_contracts() if c.contract_id == ES))
    december = "CON.F.US.EP.Z26"
    assert cache.symbol_of(december) == "ES"
    assert cache.matches(december, {"ES"}) == "ES"


def test_a_contract_the_gateway_does_not_know_is_not_found_and_not_asked_again() -> None:
    asked: list[str] = []

    def loader(cid: str) -> None:
        asked.append(cid)

    cache = ContractCache(loader=loader)
    assert cache.symbol_of(UNKNOWN) is NOT_FOUND
    assert cache.listed(UNKNOWN, {"ZZZ"}) is NOT_FOUND  # its id's letters name nothing
    assert cache.matches(UNKNOWN, {"ZZZ"}) is None
    assert cache.get(UNKNOWN) is None
    assert cache.symbol_of(UNKNOWN) is NOT_FOUND
    assert asked == [UNKNOWN]
    cache.put(contract())  # learned later (a new session's contract list)
    assert cache.symbol_of(UNKNOWN) == "ZZZ"


# --- cache and loader ----------------------------------------------------------------------------


def test_miss_without_loader_returns_none() -> None:
    cache = ContractCache()
    assert cache.get(UNKNOWN) is None
    assert len(cache) == 0


def test_put_persists_only_new_or_changed() -> None:
    store = FakeStore()
    cache = ContractCache(store)
    c = contract()
    cache.put(c)
    cache.put(c)
    assert store.cached == [c]
    changed = Contract(UNKNOWN, "ZZZU6", 0.5, 2.5)
    cache.put(changed)
    assert store.cached == [c, changed]
    cache.restore([contract("CON.F.US.YYY.U26", "YYYU6")])
    assert len(store.cached) == 2  # restored rows came from the store already
    assert len(cache) == 2


def test_sync_loader_result_is_cached() -> None:
    store = FakeStore()
    calls: list[str] = []

    def loader(cid: str) -> Contract:
        calls.append(cid)
        return contract(cid)

    cache = ContractCache(store, loader)
    first = cache.get(UNKNOWN)
    assert first is not None and first.contract_id == UNKNOWN
    assert cache.get(UNKNOWN) is first
    assert calls == [UNKNOWN]
    assert store.cached == [first]
    assert cache.symbol(UNKNOWN) == "ZZZ"


def test_failing_loader_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def loader(cid: str) -> Contract:
        calls.append(cid)
        raise ConnectionError("gateway down")

    cache = ContractCache(loader=loader)
    with caplog.at_level(logging.ERROR, logger="core.modules.contracts"):
        assert cache.get(UNKNOWN) is None
    assert any(UNKNOWN in r.getMessage() for r in caplog.records)
    assert cache.get(UNKNOWN) is None  # asked again later
    assert calls == [UNKNOWN, UNKNOWN]


async def test_async_loader_result_is_cached_once_the_loop_runs_it() -> None:
    store = FakeStore()
    calls: list[str] = []
    release = asyncio.Event()

    async def loader(cid: str) -> Contract:
        calls.append(cid)
        await release.wait()
        return contract(cid)

    cache = ContractCache(store, loader)
    assert cache.get(UNKNOWN) is None
    assert cache.get(UNKNOWN) is None  # still loading: not asked twice
    for _ in range(3):
        await asyncio.sleep(0)
    assert calls == [UNKNOWN]
    assert cache.get(UNKNOWN) is None
    release.set()
    for _ in range(5):
        await asyncio.sleep(0)
    loaded = cache.get(UNKNOWN)
    assert loaded is not None and loaded.contract_id == UNKNOWN
    assert calls == [UNKNOWN]
    assert store.cached == [loaded]


async def test_failing_async_loader_does_not_raise_and_is_retried_after_a_pause() -> None:
    calls: list[str] = []
    known: list[str] = []

    async def loader(cid: str) -> Contract:
        calls.append(cid)
        if len(calls) < 3:
            raise ConnectionError("gateway down")
        return contract(cid)

    cache = ContractCache(loader=loader, retry_after=(0.01, 0.02))
    cache.on_known = known.append
    assert cache.symbol_of(UNKNOWN) is PENDING
    for _ in range(3):
        await asyncio.sleep(0)
    assert calls == [UNKNOWN]
    assert cache.symbol_of(UNKNOWN) is PENDING  # a failure is not "not found"
    assert cache.get(UNKNOWN) is None
    assert calls == [UNKNOWN]  # a retry is waiting: asking again adds no request
    for _ in range(50):
        await asyncio.sleep(0.01)
        if known:
            break
    assert calls == [UNKNOWN] * 3
    assert known == [UNKNOWN]  # told once, when it is known
    assert cache.symbol_of(UNKNOWN) == "ZZZ"


async def test_a_settled_lookup_is_told_found_or_not_found() -> None:
    release = asyncio.Event()
    known: list[str] = []

    async def loader(cid: str) -> Contract | None:
        await release.wait()
        return contract(cid) if cid == UNKNOWN else None

    cache = ContractCache(loader=loader)
    cache.on_known = known.append
    missing = "CON.F.US.NOPE.Z99"
    assert cache.symbol_of(UNKNOWN) is PENDING
    assert cache.symbol_of(missing) is PENDING
    assert known == []
    release.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert sorted(known) == sorted([UNKNOWN, missing])
    assert cache.symbol_of(UNKNOWN) == "ZZZ"
    assert cache.symbol_of(missing) is NOT_FOUND


async def test_close_drops_lookups_and_retries() -> None:
    calls: list[str] = []

    async def loader(cid: str) -> Contract:
        calls.append(cid)
        raise ConnectionError("gateway down")

    cache = ContractCache(loader=loader, retry_after=(0.01,))
    cache.on_known = lambda cid: pytest.fail("nothing is told after close")
    cache.symbol_of(UNKNOWN)
    for _ in range(3):
        await asyncio.sleep(0)
    assert calls == [UNKNOWN]
    cache.close()
    await asyncio.sleep(0.05)
    assert calls == [UNKNOWN]


async def test_async_loader_answering_none() -> None:
    async def loader(cid: str) -> Contract | None:
        return None

    cache = ContractCache(loader=loader)
    assert cache.get(UNKNOWN) is None
    for _ in range(3):
        await asyncio.sleep(0)
    assert cache.get(UNKNOWN) is None
    assert len(cache) == 0


def test_async_loader_without_a_running_loop_does_not_raise() -> None:
    calls: list[str] = []

    async def loader(cid: str) -> Contract:
        calls.append(cid)
        return contract(cid)

    cache = ContractCache(loader=loader)
    assert cache.get(UNKNOWN) is None
    assert calls == []  # the coroutine was closed, never run
    assert cache.get(UNKNOWN) is None  # and the miss is not stuck "loading"
