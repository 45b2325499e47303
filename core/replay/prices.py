"""Prices from one-minute bars: the quotes a bar stands for, and the next bar's open.

Within a bar the price is taken to visit open, then the extreme nearer the open's side of the
move, then the other, then the close: open → low → high → close on an up bar, open → high →
low → close on a down bar, at 0, 15, 30 and 45 seconds into the minute. So an open-loss limit
can trigger at the bar's worst price, as it could have live.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta

from core.replay.inputs import BAR_LENGTH, Bar

QUOTE_OFFSETS = (timedelta(0), timedelta(seconds=15), timedelta(seconds=30), timedelta(seconds=45))


def bar_path(bar: Bar) -> tuple[float, float, float, float]:
    if bar.close >= bar.open:
        return bar.open, bar.low, bar.high, bar.close
    return bar.open, bar.high, bar.low, bar.close


class PriceTape:
    def __init__(self, bars: Mapping[str, tuple[Bar, ...]] | None) -> None:
        self.has_bars = bars is not None
        self._bars: dict[str, tuple[Bar, ...]] = dict(bars or {})
        self._starts = {c: [b.start for b in bars_] for c, bars_ in self._bars.items()}

    def covers(self, contract_id: str, start: datetime, end: datetime) -> bool:
        """Whether any bar of the contract starts in [start, end)."""
        starts = self._starts.get(contract_id)
        if not starts:
            return False
        i = bisect.bisect_left(starts, start)
        return i < len(starts) and starts[i] < end

    def next_open(self, contract_id: str, at: datetime) -> tuple[datetime, float] | None:
        """The open of the first bar starting at or after ``at``: a close asked for on a
        minute's first instant fills at that minute's open, one asked for later in the minute
        at the next one's."""
        starts = self._starts.get(contract_id)
        if not starts:
            return None
        i = bisect.bisect_left(starts, at)
        if i == len(starts):
            return None
        bar = self._bars[contract_id][i]
        return bar.start, bar.open

    def last_close(self, contract_id: str, at: datetime) -> tuple[datetime, float] | None:
        """The close of the last bar that had ended by ``at``."""
        starts = self._starts.get(contract_id)
        if not starts:
            return None
        i = bisect.bisect_right(starts, at - BAR_LENGTH)
        if i == 0:
            return None
        bar = self._bars[contract_id][i - 1]
        return bar.start + BAR_LENGTH, bar.close

    def quotes_after(self, contract_id: str, after: datetime) -> Iterator[tuple[datetime, float]]:
        """Every bar quote later than ``after``, in time order."""
        bars = self._bars.get(contract_id)
        if not bars:
            return
        starts = self._starts[contract_id]
        # By index, not a slice: a slice would copy the rest of the month at every new stream.
        for i in range(max(0, bisect.bisect_right(starts, after) - 1), len(bars)):
            bar = bars[i]
            for offset, price in zip(QUOTE_OFFSETS, bar_path(bar), strict=True):
                at = bar.start + offset
                if at > after:
                    yield at, price
