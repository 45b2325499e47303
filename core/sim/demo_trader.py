"""A scripted, slightly reckless trader for demo mode.

It trades MNQ and MES on the demo account straight against the exchange so that the usual rules
trip within the first two minutes: it scales over a 5-contract limit, sits in a loser while the
market leans against it, takes losing round trips, and protects itself only sometimes. Every
rejection (the risk manager has locked the account, a position was already closed for it) is
shrugged off: the script goes on and tries again, so enforcement is visible again and again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Awaitable, Callable

from core.sim.exchange import SimExchange
from core.sim.market import MarketSimulator
from core.sim.models import BUY, MARKET, SELL, STOP, Bracket, SimResult, round_price

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class DemoTrader:
    def __init__(
        self,
        exchange: SimExchange,
        account_id: int,
        *,
        market: MarketSimulator | None = None,
        step_seconds: float = 3.0,
        seed: int = 0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.exchange = exchange
        self.account_id = account_id
        self.market = market
        self.step_seconds = step_seconds
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._tags = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self.mnq = self._contract("MNQ")
        self.mes = self._contract("MES")
        self.cycles = 0
        self.accepted = 0
        self.rejected = 0
        self.journal: list[str] = []  # what it tried, newest last (trimmed)

    def _contract(self, root: str) -> str:
        for contract in self.exchange.contracts.values():
            if contract.root == root:
                return contract.id
        raise LookupError(f"demo trader needs a {root} contract")

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="sim-demo-trader")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.run_cycle()
                except asyncio.CancelledError:
                    raise
                except Exception:  # the demo must keep trading whatever happened
                    log.exception("demo trader cycle failed; starting over")
                    await self._pause(1)
        finally:
            self._lean(self.mnq, 0.0)
            self._lean(self.mes, 0.0)

    async def run_cycle(self) -> None:
        """One scripted session of about 28 steps (85 s at the default pace)."""
        self.cycles += 1
        # 1. Open 3 MNQ with a protective stop, then scale to 7 (over a max-contracts limit of 5).
        self._buy(self.mnq, 3, stop_ticks=160)
        await self._pause(1)
        self._buy(self.mnq, 4)
        # 2. Sit in it while the market leans against the position: about $10 of open loss a
        #    second on 5 MNQ, so a $300 open-loss limit trips after ~30 s.
        self._lean(self.mnq, -0.85)
        for _ in range(12):
            await self._pause(1)
            if self.exchange.position(self.account_id, self.mnq) is None:
                break  # the risk manager closed it for us
        self._lean(self.mnq, 0.0)
        self._flatten(self.mnq)
        await self._pause(1)
        # 3. Revenge trades: a few quick losing round trips in MES, a stop only on some.
        for attempt in range(3):
            size = 4 + self._rng.randint(0, 2)
            self._buy(self.mes, size)
            stop_id = self._protect(self.mes, size, ticks=40) if attempt == 1 else None
            self._lean(self.mes, -0.8)
            await self._pause(2)
            self._lean(self.mes, 0.0)
            self._flatten(self.mes)
            if stop_id is not None:
                self._act("cancel stop", self.exchange.cancel_order(self.account_id, stop_id))
            await self._pause(1)
        # 4. Flip short to long in MNQ without a stop, then get out.
        self._sell(self.mnq, 2)
        await self._pause(1)
        self._buy(self.mnq, 3)
        await self._pause(1.5)
        self._flatten(self.mnq)
        await self._pause(2)

    # ------------------------------------------------------------------ actions
    async def _pause(self, steps: float) -> None:
        jitter = 0.8 + 0.4 * self._rng.random()
        await self._sleep(self.step_seconds * steps * jitter)

    def _lean(self, contract_id: str, bias: float) -> None:
        if self.market is not None and contract_id in self.market.contract_ids:
            self.market.set_bias(contract_id, bias)

    def _tag(self) -> str:
        return f"demo-{self.cycles}-{next(self._tags)}-{self._rng.randrange(16**6):06x}"

    def _buy(self, contract_id: str, size: int, stop_ticks: int | None = None) -> None:
        bracket = None if stop_ticks is None else Bracket(-stop_ticks, STOP)
        result = self.exchange.place_order(self.account_id, contract_id, MARKET, BUY, size,
                                           custom_tag=self._tag(), stop_loss_bracket=bracket)
        self._act(f"buy {size} {contract_id}", result)

    def _sell(self, contract_id: str, size: int) -> None:
        result = self.exchange.place_order(self.account_id, contract_id, MARKET, SELL, size,
                                           custom_tag=self._tag())
        self._act(f"sell {size} {contract_id}", result)

    def _protect(self, contract_id: str, size: int, ticks: int) -> int | None:
        position = self.exchange.position(self.account_id, contract_id)
        if position is None:
            return None
        contract = self.exchange.contracts[contract_id]
        last = self.exchange.quote(contract_id).last
        side = SELL if position.net > 0 else BUY
        offset = -ticks if side == SELL else ticks
        price = round_price(last + offset * contract.tick_size, contract.tick_size)
        result = self.exchange.place_order(self.account_id, contract_id, STOP, side, size,
                                           stop_price=price, custom_tag=self._tag())
        self._act(f"stop {size} {contract_id} @ {price}", result)
        return result.order_id if result.success else None

    def _flatten(self, contract_id: str) -> None:
        """Close what is left and cancel leftover orders so no orphan stop opens a position."""
        if self.exchange.position(self.account_id, contract_id) is not None:
            self._act(f"close {contract_id}",
                      self.exchange.close_position(self.account_id, contract_id))
        for order in self.exchange.open_orders(self.account_id):
            if order.contract.id == contract_id:
                self._act(f"cancel {order.id}", self.exchange.cancel_order(self.account_id,
                                                                           order.id))
        for order in self.exchange.orders(self.account_id):
            if order.contract.id == contract_id and order.status == 8:
                self.exchange.cancel_order(self.account_id, order.id)

    def _act(self, what: str, result: SimResult) -> None:
        if result.success:
            self.accepted += 1
        else:
            self.rejected += 1
            reason = f": {result.error_message}" if result.error_message else ""
            what += f" rejected (code {result.error_code}{reason})"
            log.info("demo trader: %s", what)
        self.journal.append(what)
        del self.journal[:-200]
