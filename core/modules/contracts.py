"""MOD-007: contract details (tick size and value, symbol) cached in memory and on disk.

The contract id's root is not always the trader's symbol (``CON.F.US.EP.U26`` is ES,
``ENQ`` is NQ), so the symbol comes from the contract's display name (``ESU6`` → ES) and the
id's root is kept as an alias. Misses are handed to a loader (``Contract/searchById`` once
the gateway client exists); until it answers, no open-P&L decision is taken for the contract,
and no rule that keys by symbol decides anything on it (:meth:`ContractCache.symbol_of`
says :data:`PENDING`, never a guess from the id). Once the lookup settles, ``on_known`` is
called so those rules judge at once; a contract the gateway does not know is
:data:`NOT_FOUND`, a symbol nobody can name.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

log = logging.getLogger(__name__)

_MONTH_YEAR = re.compile(r"^([A-Z0-9]+?)[FGHJKMNQUVXZ]\d{1,2}$")

# After a lookup that failed (the gateway unreachable, an error answer): ask again after these
# many seconds, the last one repeating, until it answers. Meanwhile the contract stays PENDING.
RETRY_AFTER = (1.0, 2.0, 5.0, 10.0, 30.0)


class Unknown(enum.Enum):
    """Why a contract's symbol cannot be named."""

    PENDING = "being looked up"  # decide nothing on it yet: the answer is on its way
    NOT_FOUND = "not known to the gateway"  # looked up, and the gateway has no such contract


PENDING: Final = Unknown.PENDING
NOT_FOUND: Final = Unknown.NOT_FOUND


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
        self,
        store: ContractStore | None = None,
        loader: ContractLoader | None = None,
        retry_after: Sequence[float] = RETRY_AFTER,
    ) -> None:
        self._store = store
        self._loader = loader
        self.retry_after = tuple(retry_after) or RETRY_AFTER
        # Told the contract id once an asynchronous lookup has settled (found or not found),
        # so the rules that waited for its symbol judge at once (the engine sets it).
        self.on_known: Callable[[str], None] | None = None
        self._contracts: dict[str, Contract] = {}
        # Read on every quote by open P&L: tick value / tick size, per contract.
        self.point_values: dict[str, float] = {}
        self._symbols: dict[str, str] = {}
        # Id root → trader's symbol (EP → ES) learned from known contracts: every expiry of
        # one id root is the same product, so a new expiry of a known root has its symbol
        # before its own details arrive.
        self._root_symbols: dict[str, str] = {}
        self._loading: set[str] = set()
        self._missing: set[str] = set()  # looked up: the gateway has no such contract
        self._wanted: set[str] = set()  # asked for before there was a loader to ask
        self._failures: dict[str, int] = {}
        self._retries: dict[str, asyncio.TimerHandle] = {}
        # The event loop keeps only weak references to tasks: hold them until they finish.
        self._tasks: set[asyncio.Future[Contract | None]] = set()

    @property
    def loader(self) -> ContractLoader | None:
        return self._loader

    @loader.setter
    def loader(self, loader: ContractLoader | None) -> None:
        """A new loader (the gateway client now exists) is asked at once for every contract
        wanted meanwhile; what an earlier gateway did not know is asked again."""
        self._loader = loader
        self._missing.clear()
        wanted, self._wanted = self._wanted, set()
        for contract_id in sorted(wanted):
            if contract_id not in self._contracts:
                self._request(contract_id)

    def get(self, contract_id: str) -> Contract | None:
        contract = self._contracts.get(contract_id)
        if contract is None:
            if contract_id in self._missing:
                return None  # asked already: no request to the gateway on every quote
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
        self._missing.discard(contract.contract_id)
        self._wanted.discard(contract.contract_id)
        if persist and self._store is not None and known != contract:
            self._store.cache_contract(contract)

    def restore(self, contracts: Iterable[Contract]) -> None:
        for contract in contracts:
            self.put(contract, persist=False)

    def symbol(self, contract_id: str) -> str:
        """A name for the contract in the trader's words, even before its details are known
        (then the id's root). For words only: a rule decides with :meth:`symbol_of`."""
        symbol = self._symbols.get(contract_id)
        if symbol is None:
            root = id_root(contract_id)
            symbol = self._root_symbols.get(root, root)
        return symbol

    def symbol_of(self, contract_id: str) -> str | Unknown:
        """The trader's symbol root when it is sure: from the contract's details, or from a
        known expiry of the same id root. Otherwise :data:`PENDING` (and the contract is
        looked up) or :data:`NOT_FOUND`; never the id's root, which is not always the
        symbol (``CON.F.US.EP.U26`` is ES)."""
        symbol = self._symbols.get(contract_id) or self._root_symbols.get(id_root(contract_id))
        if symbol is not None:
            return symbol
        if contract_id in self._missing:
            return NOT_FOUND
        self._request(contract_id)
        # A synchronous loader has answered already.
        return self._symbols.get(contract_id) or (NOT_FOUND if contract_id in self._missing else PENDING)

    def listed(self, contract_id: str, symbols: Collection[str]) -> str | None | Unknown:
        """The configured symbol this contract belongs to (exact root: ES is not MES), None
        when its symbol is known and not among them, or why its symbol is not known."""
        symbol = self.symbol_of(contract_id)
        if isinstance(symbol, Unknown):
            return symbol
        if symbol in symbols:  # the display-name symbol first: deterministic when both are listed
            return symbol
        root = id_root(contract_id)  # the id's root, a known contract's alias (EP for ES)
        return root if root in symbols else None

    def matches(self, contract_id: str, symbols: Collection[str]) -> str | None:
        """The configured symbol this contract surely belongs to; None when it does not, or
        when that is not known yet (a lookup is asked for)."""
        listed = self.listed(contract_id, symbols)
        return listed if isinstance(listed, str) else None

    def __len__(self) -> int:
        return len(self._contracts)

    def __contains__(self, contract_id: object) -> bool:
        """Whether the contract's details are held (asks nobody)."""
        return contract_id in self._contracts

    def close(self) -> None:
        """Stop asking: lookups on their way and retries waiting are dropped (shutdown)."""
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._loading.clear()

    def _request(self, contract_id: str) -> None:
        if contract_id in self._loading:
            return
        loader = self._loader
        if loader is None:
            self._wanted.add(contract_id)  # asked as soon as a loader is set
            return
        self._loading.add(contract_id)
        try:
            result = loader(contract_id)
        except Exception:
            log.exception("contract lookup for %s failed", contract_id)
            self._loading.discard(contract_id)
            return
        if isinstance(result, Contract) or result is None:
            self._loading.discard(contract_id)
            self._answered(contract_id, result)
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
                self._wanted.add(contract_id)
                return
            self._tasks.add(future)

            def done(f: asyncio.Future[Contract | None], cid: str = contract_id) -> None:
                self._loaded(cid, f)

            future.add_done_callback(done)

    def _answered(self, contract_id: str, contract: Contract | None) -> None:
        self._failures.pop(contract_id, None)
        if contract is not None:
            self.put(contract)
        if contract_id not in self._contracts:
            # Not found, or (an older gateway) another contract answered: nobody can name
            # this one's symbol.
            self._missing.add(contract_id)
            log.warning("contract %s is not known to the gateway", contract_id)

    def _loaded(self, contract_id: str, future: asyncio.Future[Contract | None]) -> None:
        self._tasks.discard(future)
        self._loading.discard(contract_id)
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            log.warning("contract lookup for %s failed: %s", contract_id, error)
            self._retry_later(contract_id)
            return
        self._answered(contract_id, future.result())
        on_known = self.on_known
        if on_known is not None:
            try:
                on_known(contract_id)
            except Exception:
                log.exception("judging after the lookup of %s failed", contract_id)

    def _retry_later(self, contract_id: str) -> None:
        failures = self._failures.get(contract_id, 0)
        self._failures[contract_id] = failures + 1
        delay = self.retry_after[min(failures, len(self.retry_after) - 1)]
        # Still "loading" until the retry: a rule asking again meanwhile adds no request.
        self._loading.add(contract_id)
        self._retries[contract_id] = asyncio.get_running_loop().call_later(
            delay, self._retry, contract_id
        )

    def _retry(self, contract_id: str) -> None:
        self._retries.pop(contract_id, None)
        self._loading.discard(contract_id)
        if contract_id not in self._contracts:
            self._request(contract_id)
