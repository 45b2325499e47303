"""A generated month of trading for the replay's demo and its benchmark: minute bars for MNQ and
MES, and a scripted trader whose orders go through the simulated exchange, so every trade,
order, fee and profit in the history is the exchange's own (as the gateway would report it).

The trader is ordinary most of the time (one to three contracts, a protective stop, a few
minutes in each trade) and has the habits rules exist for: after a loss it sometimes re-enters
at once with more size, sometimes adds contracts the stop does not cover, and on a few bad days
trades big without stops. Everything is seeded: the same arguments give the same month.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.domain.parse import parse_order, parse_trade
from core.modules.contracts import Contract
from core.replay.inputs import BAR_LENGTH, Bar, ReplayInput, sorted_trades
from core.replay.prices import QUOTE_OFFSETS, bar_path
from core.sim.exchange import SimExchange
from core.sim.models import BUY, MARKET, SELL, STOP, SUSPENDED, SimAccount, round_price
from core.sim.server import DEMO_ACCOUNT_ID

CHICAGO = ZoneInfo("America/Chicago")
MNQ, MES = "CON.F.US.MNQ.U26", "CON.F.US.MES.U26"
# Per-minute volatility in ticks and the usual stop distance, per contract.
VOLATILITY = {MNQ: 9.0, MES: 5.0}
STOP_TICKS = {MNQ: 60, MES: 24}
SESSION_OPEN, SESSION_CLOSE = time(17, 0), time(16, 0)  # Globex, Chicago time
DAY_OPEN, DAY_CLOSE = time(8, 30), time(15, 0)  # when this trader trades


class MonthClock:
    """The exchange's clock while the month is written, then parked after its end."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at


@dataclass
class DemoMonth:
    exchange: SimExchange
    clock: MonthClock
    account_id: int
    first_day: date
    last_day: date
    start: datetime
    end: datetime
    bars: dict[str, tuple[Bar, ...]] = field(default_factory=dict)

    def contracts(self) -> dict[str, Contract]:
        return {
            c.id: Contract.from_gateway(c.payload())
            for c in self.exchange.contracts.values() if c.id in self.bars
        }

    def replay_input(self) -> ReplayInput:
        """The month as the gateway would hand it over, parsed by the same parsers, in process
        (the demo command fetches it over REST instead)."""
        acct = self.account_id
        trades = [parse_trade(t.payload(stream=False)) for t in self.exchange.trades(acct)]
        orders = [parse_order(o.payload(stream=False)) for o in self.exchange.orders(acct)
                  if o.status != SUSPENDED]
        return ReplayInput(
            account_id=acct, start=self.start, end=self.end, trades=sorted_trades(trades),
            orders=tuple(sorted(orders, key=lambda o: (o.created_at or self.start, o.order_id))),
            bars=self.bars, contracts=self.contracts(),
            source=f"a generated demo month of account {acct}",
            price_source="generated one-minute bars",
        )


def month_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The trading days' span at the 17:00 Chicago reset: the evening before the first day to
    17:00 on the last."""
    start = datetime.combine(first_day - timedelta(days=1), SESSION_OPEN, CHICAGO).astimezone(UTC)
    end = datetime.combine(last_day, SESSION_OPEN, CHICAGO).astimezone(UTC)
    return start, end


def generate_month(
    first_day: date,
    last_day: date,
    *,
    seed: int = 7,
    fills_per_day: int = 20,
    exchange: SimExchange | None = None,
    clock: MonthClock | None = None,
    account_id: int = DEMO_ACCOUNT_ID,
) -> DemoMonth:
    """Bars for [first_day, last_day] and a trader's month written into ``exchange``."""
    if last_day < first_day:
        raise ValueError("the month's last day is before its first")
    start, end = month_bounds(first_day, last_day)
    clock = clock or MonthClock(start)
    if exchange is None:
        exchange = SimExchange(now=clock.now, accounts=[SimAccount(account_id, "PRAC-V2-DEMO", 50_000.0)])
    rng = random.Random(seed)
    month = DemoMonth(exchange, clock, account_id, first_day, last_day, start, end)
    for contract_id in (MNQ, MES):
        contract = exchange.contracts[contract_id]
        month.bars[contract_id] = _bars(contract.start_price, contract.tick_size,
                                         VOLATILITY[contract_id], start, end, rng)
    _Trader(month, rng, fills_per_day).run()
    clock.at = end + timedelta(hours=1)
    return month


def _session_minutes(start: datetime, end: datetime) -> Iterator[datetime]:
    """Every minute Globex trades in [start, end): Sunday 17:00 to Friday 16:00 Chicago time,
    with the daily 16:00–17:00 break."""
    at = start
    while at < end:
        local = at.astimezone(CHICAGO)
        weekday, clock = local.weekday(), local.time()
        closed = (
            weekday == 5
            or (weekday == 4 and clock >= SESSION_CLOSE)
            or (weekday == 6 and clock < SESSION_OPEN)
            or SESSION_CLOSE <= clock < SESSION_OPEN
        )
        if not closed:
            yield at
        at += BAR_LENGTH


def _bars(price: float, tick: float, volatility: float, start: datetime, end: datetime,
          rng: random.Random) -> tuple[Bar, ...]:
    bars = []
    sub = volatility / math.sqrt(6)
    for at in _session_minutes(start, end):
        path = [price]
        for _ in range(6):
            path.append(round_price(max(path[-1] + round(rng.gauss(0, sub)) * tick, tick * 100), tick))
        bars.append(Bar(at, path[0], max(path), min(path), path[-1], rng.randint(50, 900)))
        price = path[-1]
    return tuple(bars)


class _Trader:
    def __init__(self, month: DemoMonth, rng: random.Random, fills_per_day: int) -> None:
        self.month = month
        self.exchange = month.exchange
        self.rng = rng
        self.fills_per_day = fills_per_day
        self.starts = {c: [b.start for b in bars] for c, bars in month.bars.items()}
        self.tag = 0
        self.exit_time = month.start

    def price_at(self, contract_id: str, at: datetime) -> float:
        """The bar path's price at ``at`` (its last point at or before it)."""
        bars = self.month.bars[contract_id]
        i = bisect.bisect_right(self.starts[contract_id], at) - 1
        bar = bars[max(i, 0)]
        path = bar_path(bar)
        seconds = (at - bar.start).total_seconds()
        index = max(j for j, off in enumerate(QUOTE_OFFSETS) if off.total_seconds() <= max(seconds, 0))
        return path[index] if 0 <= seconds < 60 else bar.close

    def move(self, contract_id: str, at: datetime) -> None:
        self.month.clock.at = at
        price = self.price_at(contract_id, at)
        self.exchange.set_price(contract_id, price, bid=price, ask=price)

    def walk(self, contract_id: str, start: datetime, end: datetime) -> None:
        """Every bar price between two moments, so resting stops fill where the bars say."""
        at = start.replace(second=0, microsecond=0)
        while at <= end:
            for offset in QUOTE_OFFSETS:
                moment = at + offset
                if start < moment <= end:
                    self.move(contract_id, moment)
            at += BAR_LENGTH

    def order(self, contract_id: str, side: int, size: int, at: datetime,
              stop: float | None = None) -> int | None:
        self.move(contract_id, at)
        self.tag += 1
        result = self.exchange.place_order(
            self.month.account_id, contract_id, STOP if stop is not None else MARKET, side, size,
            stop_price=stop, custom_tag=f"demo-{self.tag}",
        )
        return result.order_id if result.success else None

    def held(self, contract_id: str) -> int:
        position = self.exchange.position(self.month.account_id, contract_id)
        return position.net if position is not None else 0

    def run(self) -> None:
        day = self.month.first_day
        while day <= self.month.last_day:
            if day.weekday() < 5:
                self.trade_day(day)
            day += timedelta(days=1)

    def trade_day(self, day: date) -> None:
        rng = self.rng
        bad_day = rng.random() < 0.2
        opens = datetime.combine(day, DAY_OPEN, CHICAGO).astimezone(UTC)
        closes = datetime.combine(day, DAY_CLOSE, CHICAGO).astimezone(UTC)
        trips = max(1, round(self.fills_per_day / 2.3 * rng.uniform(0.7, 1.3)))
        cycle = (closes - opens).total_seconds() / trips
        at = opens + timedelta(seconds=rng.uniform(0, cycle))
        if rng.random() < 0.2:  # now and then an evening trade, outside most trading hours
            evening = datetime.combine(day - timedelta(days=1), time(19, 30), CHICAGO).astimezone(UTC)
            self.round_trip(evening + timedelta(seconds=rng.uniform(0, 3600)), cycle, False, False)
        tilted = False
        while at < closes:
            loss = self.round_trip(at, cycle, bad_day, tilted)
            tilted = loss >= 60 and rng.random() < 0.7
            gap = rng.uniform(10, 50) if tilted else rng.uniform(0.2, 1.4) * cycle * 0.5
            at = self.exit_time + timedelta(seconds=gap)

    def round_trip(self, at: datetime, cycle: float, bad_day: bool, tilted: bool) -> float:
        """One trade from entry to flat; returns what it lost (positive) or 0."""
        rng = self.rng
        contract = MNQ if rng.random() < 0.75 else MES
        tick = self.exchange.contracts[contract].tick_size
        side = rng.choice((BUY, SELL))
        size = rng.choice((1, 1, 1, 2, 2, 3))
        if bad_day:
            size = rng.choice((3, 4, 5, 6, 7))
        elif tilted:
            size = min(8, size * 2 + 1)
        before = len(self.exchange.trades(self.month.account_id))
        if self.order(contract, side, size, at) is None:
            self.exit_time = at
            return 0.0
        stop_id = None
        if rng.random() < (0.3 if bad_day else 0.85):
            entry = self.price_at(contract, at)
            distance = STOP_TICKS[contract] * tick * (1 if side == SELL else -1)
            stop_at = at + timedelta(seconds=rng.uniform(1, 20))
            stop_id = self.order(contract, 1 - side, size, stop_at,
                                 stop=round_price(entry + distance, tick))
            at = stop_at
        hold = timedelta(seconds=rng.uniform(0.2, 0.9) * cycle * (3.0 if bad_day else 1.0))
        exit_at = at + hold
        if rng.random() < 0.12:  # adds contracts the stop does not cover
            add_at = at + hold / 2
            self.walk(contract, at, add_at)
            if self.held(contract):
                self.order(contract, side, rng.choice((1, 2, 3)), add_at)
            at = add_at
        self.walk(contract, at, exit_at)
        held = self.held(contract)
        self.month.clock.at = exit_at  # the stop goes as the exit goes, not before
        if stop_id is not None:
            stop = self.exchange.order(stop_id)
            if stop is not None and stop.working:
                self.exchange.cancel_order(self.month.account_id, stop_id)
        if held:
            self.order(contract, SELL if held > 0 else BUY, abs(held), exit_at)
        booked = self.exchange.trades(self.month.account_id)[before:]
        # A stop may have taken the trader out earlier: that is when a tilted trader re-enters.
        self.exit_time = max((t.created for t in booked), default=exit_at)
        result = sum((t.profit_and_loss or 0.0) - t.fees for t in booked)
        return max(0.0, -result)
