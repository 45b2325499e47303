"""The firm's end of day on the simulator's own clock, for the accounts a Topstep plan names.

Topstep's trading day runs 17:00 CT to 15:10 CT, Sunday to Friday (reference
``topstep-rules.md``). Each weekday, on the exchange's clock:

- at the firm's close, 15:10 CT, Topstep's desk cancels every working order of a plan account
  and closes every open position at the market, with the order, trade, position and account
  events a live gateway sends for them;
- at the settlement, 17:00 CT, each plan account's balance is settled and pushed as an account
  event: the end-of-day balance the Maximum Loss Limit trails on.

An account is a plan account when its name says a plan (``50KTC-…``), read as the app reads it
(:func:`core.config.plans.detect_plan`); practice accounts (``PRAC-…``) are left alone, as
Topstep leaves them. Nothing here sleeps or reads the wall clock: :meth:`FirmDay.catch_up` runs,
in order, every close and settlement the exchange's clock has passed since it last looked, so a
test that moves the clock across several days gets each of them once. The server calls it on a
timer; tests may call it themselves.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.config.plans import PlanError, PlanTable, detect_plan, load_plan_table
from core.domain.trading_day import local_instant
from core.domain.words import money
from core.sim.exchange import SimExchange
from core.sim.models import SimAccount

log = logging.getLogger(__name__)

FIRM_ZONE = ZoneInfo("America/Chicago")
FIRM_CLOSE = time(15, 10)
SETTLEMENT = time(17, 0)
# A clock moved further than this at once only gets the last stretch's ends of day: there is
# nothing to flatten twice, and a replayed year must not stall the server.
MAX_CATCH_UP = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class DeskClose:
    """What Topstep's desk did to one account at the firm's close."""

    account_id: int
    day: date  # the trading day that closed
    closed: tuple[str, ...]  # contract ids
    cancelled: tuple[int, ...]  # order ids


@dataclass(frozen=True, slots=True)
class Settlement:
    account_id: int
    day: date  # the trading day it ends
    balance: float


@functools.cache
def _plan_table() -> PlanTable | None:
    try:
        return load_plan_table()
    except PlanError as exc:
        log.warning("the simulated gateway runs no end of day: %s", exc)
        return None


class FirmDay:
    def __init__(self, exchange: SimExchange, plans: PlanTable | None = None) -> None:
        self._exchange = exchange
        self._plans = plans if plans is not None else _plan_table()
        self._seen = exchange.now()  # the last instant already run
        self.closes: list[DeskClose] = []
        self.settlements: list[Settlement] = []

    def is_plan_account(self, account: SimAccount) -> bool:
        return self._plans is not None and detect_plan(account.name, self._plans) is not None

    def catch_up(self) -> list[DeskClose | Settlement]:
        """Run every close and settlement in (last look, now]; a clock moved back runs none."""
        now = self._exchange.now()
        if now <= self._seen:
            return []
        done: list[DeskClose | Settlement] = []
        for kind, day in _boundaries(max(self._seen, now - MAX_CATCH_UP), now):
            done.extend(self._close(day) if kind == "close" else self._settle(day))
        self._seen = now
        return done

    def closed_to(self, account: SimAccount) -> str | None:
        """Why a plan account may not open anything now (the firm is closed from 15:10 CT to
        the next session's 17:00 CT, and over the weekend), or None."""
        if not self.is_plan_account(account) or firm_open(self._exchange.now()):
            return None
        return ("Topstep accounts trade from 17:00 to 15:10 CT, Sunday to Friday: the firm "
                "is closed now")

    def _plan_accounts(self) -> list[SimAccount]:
        return [a for a in self._exchange.accounts.values() if a.active and self.is_plan_account(a)]

    def _close(self, day: date) -> list[DeskClose]:
        exchange = self._exchange
        done = []
        for account in self._plan_accounts():
            # Orders first: a stop left working after its position closed could open a new one.
            cancelled = tuple(o.id for o in exchange.open_orders(account.id)
                              if exchange.cancel_order(account.id, o.id).success)
            closed = tuple(p.contract.id for p in exchange.positions(account.id)
                           if exchange.close_position(account.id, p.contract.id).success)
            if not (closed or cancelled):
                continue
            done.append(DeskClose(account.id, day, closed, cancelled))
            names = [exchange.contracts[c].name for c in closed]
            what = ", ".join(filter(None, [
                "closed " + ", ".join(names) if names else "",
                f"cancelled {len(cancelled)} order" + ("s" if len(cancelled) != 1 else "")
                if cancelled else "",
            ]))
            log.info("Topstep desk (simulated): the firm's 15:10 CT close flattened %s (%s)",
                     account.name, what)
        self.closes.extend(done)
        return done

    def _settle(self, day: date) -> list[Settlement]:
        done = []
        for account in self._plan_accounts():
            balance = round(account.balance, 2)
            self._exchange.set_balance(account.id, balance)  # pushes the account event
            done.append(Settlement(account.id, day, balance))
            log.info("settlement (simulated): %s ends %s at %s", account.name,
                     f"{day:%a %Y-%m-%d}", money(balance))
        self.settlements.extend(done)
        return done


def _boundaries(after: datetime, until: datetime) -> list[tuple[str, date]]:
    """Each weekday's close and settlement in (after, until], in order. Each is placed on its
    own local date in Chicago, so a DST change moves it in UTC as it moves on the desk."""
    found = []
    day = after.astimezone(FIRM_ZONE).date()
    last = until.astimezone(FIRM_ZONE).date()
    while day <= last:
        if day.weekday() < 5:  # Monday to Friday: Sunday 17:00 opens a day, it ends none
            for kind, wall in (("close", FIRM_CLOSE), ("settle", SETTLEMENT)):
                at = local_instant(day, wall, FIRM_ZONE)
                if after < at <= until:
                    found.append((kind, day))
        day += timedelta(days=1)
    return found


def firm_open(now: datetime) -> bool:
    """Inside a Topstep trading day: 17:00 CT to 15:10 CT, Sunday evening to Friday."""
    local = now.astimezone(FIRM_ZONE)
    wall, weekday = local.time(), local.weekday()
    if wall >= SETTLEMENT:
        return weekday in (6, 0, 1, 2, 3)  # an evening open: Sunday to Thursday
    return weekday < 5 and wall < FIRM_CLOSE  # Monday to Friday, before the close
