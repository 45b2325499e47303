"""Warnings before the daily loss limit: at configured fractions, once each per trading day.

A warning already given before a restart is not given again; a jump past several thresholds
gives one warning naming the highest and uses up the lower ones for the day; and a loss that
jumps straight past the limit gets no warning on top of its lock.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.config.rules import DailyRealizedLoss


class LossWarnings:
    def __init__(self) -> None:
        self._given: set[tuple[int, date, float]] = set()

    def passed(self, cfg: DailyRealizedLoss, account_id: int, day: date, net: Decimal) -> list[float]:
        """Thresholds newly passed by ``net``; each is remembered so it is never repeated."""
        limit = Decimal(str(cfg.limit))
        newly = []
        for fraction in cfg.warn_at:
            key = (account_id, day, fraction)
            # Decimal, as RULE-003 compares: 0.55 × 100 in floats is 55.000000000000007.
            if key not in self._given and net <= -Decimal(str(fraction)) * limit:
                self._given.add(key)
                newly.append(fraction)
        return newly

    def to_announce(self, cfg: DailyRealizedLoss, account_id: int, day: date, net: Decimal) -> list[float]:
        """The one threshold to announce now (the highest newly passed), if any."""
        newly = self.passed(cfg, account_id, day, net)
        # At or past the limit the lock itself is the news: no warning on top of it.
        if not newly or net <= -Decimal(str(cfg.limit)):
            return []
        return [max(newly)]

    def forget_before(self, day: date) -> None:
        self._given = {given for given in self._given if given[1] >= day}
