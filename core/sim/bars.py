"""History/retrieveBars: plausible OHLCV bars that end at the simulated market's price."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from core.sim.models import SimContract, clean_number, round_price

# AggregateBarUnit → seconds; weeks and months as fixed spans are close enough for a simulator.
UNIT_SECONDS = {1: 1, 2: 60, 3: 3600, 4: 86_400, 5: 604_800, 6: 2_592_000}
MAX_BARS = 20_000


def retrieve_bars(
    contract: SimContract,
    last_price: float,
    *,
    start: datetime,
    end: datetime,
    unit: int,
    unit_number: int,
    limit: int,
    include_partial: bool,
    now: datetime,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Bars newest first (as the docs' example), walking back from ``last_price``.

    Deterministic for the same arguments, so a client that re-requests a window sees the same
    history.
    """
    period = UNIT_SECONDS[unit] * unit_number
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def bucket(when: datetime) -> int:
        return math.floor((when - epoch).total_seconds() / period) * period

    newest = bucket(min(end, now))
    if not include_partial and newest == bucket(now):
        newest -= period
    oldest = bucket(start)
    if start > epoch + timedelta(seconds=oldest):
        oldest += period  # a bar that began before the window is not in it
    rng = random.Random(f"{seed}:{contract.id}:{newest}:{period}")
    tick = contract.tick_size
    scale = max(1, int(math.sqrt(period / 60) * 4))
    close = round_price(last_price, tick)
    bars: list[dict[str, Any]] = []
    t = newest
    while t >= oldest and len(bars) < min(limit, MAX_BARS):
        open_ = round_price(max(close + rng.randint(-2 * scale, 2 * scale) * tick, tick), tick)
        high = round_price(max(open_, close) + rng.randint(0, scale) * tick, tick)
        low = round_price(max(min(open_, close) - rng.randint(0, scale) * tick, tick), tick)
        bars.append({
            "t": (epoch + timedelta(seconds=t)).isoformat(),
            "o": clean_number(open_),
            "h": clean_number(high),
            "l": clean_number(low),
            "c": clean_number(close),
            "v": rng.randint(10, 500) * unit_number,
        })
        close = open_
        t -= period
    return bars
