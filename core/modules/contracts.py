"""MOD-007: contract details (tick size and value, symbol) cached in memory and on disk.

The contract id's root is not always the trader's symbol (``CON.F.US.EP.U26`` is ES,
``ENQ`` is NQ), so the symbol comes from the contract's display name (``ESU6`` → ES) and the
id's root is kept as an alias. Misses are handed to a loader (``Contract/searchById`` once
the gateway client exists); until it answers, no open-P&L decision is taken for the contract.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

_MONTH_YEAR = re.compile(r"^([A-Z0-9]+?)[FGHJKMNQUVXZ]\d{1,2}$")


def id_root(contract_id: str) -> str:
    """``CON.F.US.MNQ.U26`` → ``MNQ``; anything else is its own root."""
    parts = contract_id.split(".")
    return parts[3].upper() if len(parts) >= 5 else contract_id.upper()


def name_root(name: str) -> str | None:
    """``MNQU6`` → ``MNQ``, ``6BU6`` → ``6B``, ``ESU6`` → ``ES``."""
    match = _MONTH_YEAR.match(name.strip().upper())
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class Contract:
    contract_id: str
    name: str
    tick_size: float
    tick_value: float
    symbol_id: str = ""
    description: str = ""
    symbol: str = field(default="")  # the trader's root, derived when not given

    def __post_init__(self) -> None:
        if not self.symbol:
            object.__setattr__(
                self, "symbol", name_root(self.name) or id_root(self.contract_id)
            )

    @property
    def aliases(self) -> frozenset[str]:
        return frozenset({self.symbol, id_root(self.contract_id)})

    @classmethod
    def from_gateway(cls, payload: Mapping[str, Any]) -> Contract:
        return cls(
            contract_id=str(payload["id"]),
            name=str(payload.get("name") or ""),
            tick_size=float(payload["tickSize"]),
            tick_value=float(payload["tickValue"]),
            symbol_id=str(payload.get("symbolId") or ""),
            description=str(payload.get("description") or ""),
        )


ContractLoader = Callable[[str], "Contract | None | Awaitable[Contract | None]"]


class ContractStore(Protocol):
    def cache_contract(self, contract: Contract) -> None: ...


class ContractCache:
    def __init__(
        self, store: ContractStore | None = None, loader: ContractLoader | None = None
    ) -> None:
        self._store = store
        self.loader = loader
        self._contracts: dict[str, Contract] = {}
        # Read on every quote by open P&L: tick value / tick size, per contract.
        self.point_values: dict[str, float] = {}
        self._symbols: dict[str, str] = {}
        # Id root → trader's symbol (EP → ES) learned from known contracts, so a new expiry
        # of a known root matches its symbol before its own details arrive.
        self._root_symbols: dict[str, str] = {}
        self._loading: set[str] = set()
        # The event loop keeps only weak references to tasks: hold them until they finish.
        self._tasks: set[asyncio.Future[Contract | None]] = set()

    def get(self, contract_id: str) -> Contract | None:
        contract = self._contracts.get(contract_id)
        if contract is None:
            self._request(contract_id)
            contract = self._contracts.get(contract_id)  # a synchronous loader answers at once
        return contract

    def point_value(self, contract_id: str) -> float | None:
        """Dollars per one point of price for one contract (tick value / tick size)."""
        value = self.point_values.get(contract_id)
        if value is None:
            contract = self.get(contract_id)
            if contract is None or contract.tick_size <= 0:
                return None
            value = self.point_values[contract_id] = contract.tick_value / contract.tick_size
        return value

    def put(self, contract: Contract, persist: bool = True) -> None:
        self.point_values.pop(contract.contract_id, None)
        known = self._contracts.get(contract.contract_id)
        self._contracts[contract.contract_id] = contract
        self._symbols[contract.contract_id] = contract.symbol
        self._root_symbols[id_root(contract.contract_id)] = contract.symbol
        self._loading.discard(contract.contract_id)
        if persist and self._store is not None and known != contract:
            self._store.cache_contract(contract)

    def restore(self, contracts: Iterable[Contract]) -> None:
        for contract in contracts:
            self.put(contract, persist=False)

    def symbol(self, contract_id: str) -> str:
        """The trader's symbol root for a contract, even before its details are known."""
        symbol = self._symbols.get(contract_id)
        if symbol is None:
            root = id_root(contract_id)
            symbol = self._root_symbols.get(root, root)
        return symbol

    def matches(self, contract_id: str, symbols: frozenset[str] | set[str]) -> str | None:
        """The configured symbol this contract belongs to (exact root: ES is not MES)."""
        contract = self._contracts.get(contract_id)
        root = id_root(contract_id)
        # The display-name symbol first, then the id's root: deterministic when both are listed.
        symbol = contract.symbol if contract else self._root_symbols.get(root)
        names = (symbol, root) if symbol else (root,)
        for name in names:
            if name in symbols:
                return name
        return None

    def __len__(self) -> int:
        return len(self._contracts)

    def _request(self, contract_id: str) -> None:
        if self.loader is None or contract_id in self._loading:
            return
        self._loading.add(contract_id)
        try:
            result = self.loader(contract_id)
        except Exception:
            log.exception("contract lookup for %s failed", contract_id)
            self._loading.discard(contract_id)
            return
        if isinstance(result, Contract):
            self._loading.discard(contract_id)
            self.put(result)
        elif result is None:
            self._loading.discard(contract_id)
        else:
            try:
                future = asyncio.ensure_future(result, loop=asyncio.get_running_loop())
            except RuntimeError:
                # No running loop (a worker thread, a sync caller): nothing would ever run it.
                close = getattr(result, "close", None)
                if close is not None:
                    close()
                log.warning("contract lookup for %s needs a running event loop", contract_id)
                self._loading.discard(contract_id)
                return
            self._tasks.add(future)

            def done(f: asyncio.Future[Contract | None], cid: str = contract_id) -> None:
                self._loaded(cid, f)

            future.add_done_callback(done)

    def _loaded(self, contract_id: str, future: asyncio.Future[Contract | None]) -> None:
        self._tasks.discard(future)
        self._loading.discard(contract_id)
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            log.warning("contract lookup for %s failed: %s", contract_id, error)
            return
        contract = future.result()
        if contract is not None:
            self.put(contract)
