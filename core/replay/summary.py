"""Build the report from the input and each candidate's run: days, totals, rules, assumptions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from core.domain.events import TradeEvent
from core.domain.trading_day import TradingCalendar
from core.modules.contracts import id_root
from core.replay.book import ZERO, cents
from core.replay.inputs import ReplayInput
from core.replay.outcome import RunOutcome
from core.replay.prices import PriceTape
from core.replay.report import (
    CandidateSummary,
    Curve,
    DayResult,
    DayRow,
    EventLine,
    ReplayReport,
    RuleRow,
)
from core.replay.words import RULE_TABLES, rule_name, signed_money

TABLE_RULES = {table: rule_id for rule_id, table in RULE_TABLES.items()}


def curve(steps: Iterable[tuple[datetime, Decimal]]) -> Curve:
    total, points = ZERO, []
    for at, net in steps:
        total += net
        points.append((at, total))
    return tuple(points)


def drawdown(steps: Iterable[Decimal]) -> Decimal:
    """The worst fall of a running sum from its highest point so far (starting at 0)."""
    running = peak = worst = ZERO
    for net in steps:
        running += net
        peak = max(peak, running)
        worst = min(worst, running - peak)
    return cents(worst)


class ReportBuilder:
    def __init__(self, data: ReplayInput, calendar: TradingCalendar, first_day: date,
                 last_day: date, slippage_ticks: int, enabled: Sequence[Sequence[str]]) -> None:
        self.data = data
        self.calendar = calendar
        self.first_day, self.last_day = first_day, last_day
        self.slippage_ticks = slippage_ticks
        self.enabled = enabled  # per candidate: the rule tables switched on
        self.tape = PriceTape(data.bars)

    def symbol(self, contract_id: str) -> str:
        contract = self.data.contracts.get(contract_id)
        return contract.symbol if contract is not None else id_root(contract_id)

    def day(self, at: datetime) -> date:
        return self.calendar.trading_day(at)

    def build(self, runs: Sequence[RunOutcome]) -> ReplayReport:
        data = self.data
        trades = [t for t in data.trades if not t.voided and data.start <= t.created_at < data.end]
        actual_steps = [(t.created_at, t.net_pnl) for t in trades]
        by_day: dict[date, list[TradeEvent]] = defaultdict(list)
        for t in trades:
            by_day[self.day(t.created_at)].append(t)
        run_days = [_RunDays(run, self.day) for run in runs]
        days = sorted(set(by_day).union(*(r.days() for r in run_days)))
        rows = tuple(self._row(day, by_day.get(day, []), run_days) for day in days)
        actual_total = cents(sum((net for _, net in actual_steps), ZERO))
        summaries = tuple(
            self._candidate(run, actual_total, enabled)
            for run, enabled in zip(runs, self.enabled, strict=True)
        )
        assumptions = self._assumptions(runs)
        if any(c.unattributed for c in summaries):
            assumptions += (
                "\"Not attributed to a rule\" is the part of the difference the rule rows do not "
                "explain: cents of rounding on average prices, and the replay's P&L on positions "
                "you still held at the end.",
            )
        cal = self.calendar
        return ReplayReport(
            account_id=data.account_id,
            first_day=self.first_day,
            last_day=self.last_day,
            zone=cal.zone.key,
            day_rule=f"{cal.reset_time:%H:%M} to {cal.reset_time:%H:%M} {cal.zone.key}",
            source=data.source,
            price_source=data.price_source,
            slippage_ticks=self.slippage_ticks,
            days=rows,
            actual_total=actual_total,
            actual_drawdown=drawdown(net for _, net in actual_steps),
            actual_curve=curve(actual_steps),
            candidates=summaries,
            assumptions=assumptions,
            missing=self._missing_overall(runs),
        )

    # --- days ----------------------------------------------------------------------------------

    def _row(self, day: date, todays: Sequence[TradeEvent], runs: Sequence[_RunDays]) -> DayRow:
        actual = [t.net_pnl for t in todays]
        results = []
        for run in runs:
            nets = [s.net for s in run.steps.get(day, ())]
            results.append(DayResult(
                net=cents(sum(nets, ZERO)),
                drawdown=drawdown(nets),
                breaches=len(run.breaches.get(day, ())),
                prevented=sum(p.size for p in run.prevented.get(day, ())),
                closed=sum(c.size for c in run.closes.get(day, ())),
            ))
        return DayRow(day, len(todays), DayResult(cents(sum(actual, ZERO)), drawdown(actual)),
                      tuple(results), self._missing_on(day, todays, runs))

    def _missing_on(self, day: date, todays: Sequence[TradeEvent],
                    runs: Sequence[_RunDays]) -> tuple[str, ...]:
        notes: list[str] = []
        if self.tape.has_bars:
            start, end = self.calendar.bounds(day)
            traded = sorted({t.contract_id for t in todays})
            notes += [f"no price bars for {self.symbol(c)}" for c in traded
                      if not self.tape.covers(c, start, end)]
            late = sorted({self.symbol(c.contract_id) for run in runs for c in run.closes.get(day, ())
                           if c.priced_by != "next bar open"})
            notes += [f"a {s} close priced at the last known price (no later bar)" for s in late]
        unpriced = sorted({self.symbol(c) for run in runs for c in run.unpriced.get(day, ())})
        notes += [f"{s}: no tick value, counted at no profit" for s in unpriced]
        return tuple(notes)

    # --- candidates ----------------------------------------------------------------------------

    def _candidate(self, run: RunOutcome, actual_total: Decimal, enabled: Sequence[str]) -> CandidateSummary:
        steps = [(s.at, s.net) for s in run.steps]
        total = cents(sum((net for _, net in steps), ZERO))
        rules = self._rules(run, enabled)
        explained = sum((a.amount for a in run.attributions
                         if a.amount is not None and not a.open_at_end), ZERO)
        locks = _distinct_locks(run)
        return CandidateSummary(
            name=run.name,
            total=total,
            drawdown=drawdown(net for _, net in steps),
            breaches=len(run.breaches),
            locks=len(locks),
            prevented=sum(p.size for p in run.prevented),
            closed=sum(c.size for c in run.closes),
            rules=rules,
            unattributed=cents(total - actual_total - explained),
            events=self._events(run, locks),
            curve=curve(steps),
            not_replayed=tuple(rule_name(TABLE_RULES[t]) for t in run.not_replayed),
        )

    def _rules(self, run: RunOutcome, enabled: Sequence[str]) -> tuple[RuleRow, ...]:
        ids = [TABLE_RULES[t] for t in enabled if t in TABLE_RULES and t not in run.not_replayed]
        seen = (
            [b.rule_id for b in run.breaches] + [p.rule_id for p in run.prevented]
            + [c.rule_id for c in run.closes] + [a.rule_id for a in run.attributions]
        )
        ids += [r for r in seen if r not in ids]
        saved: dict[str, Decimal] = defaultdict(lambda: ZERO)
        open_part: dict[str, Decimal] = defaultdict(lambda: ZERO)
        unpriced: dict[str, int] = defaultdict(int)
        for a in run.attributions:
            if a.amount is None:
                unpriced[a.rule_id] += a.size
                continue
            saved[a.rule_id] += a.amount
            if a.open_at_end:
                open_part[a.rule_id] += a.amount
        locks = _distinct_locks(run)
        return tuple(
            RuleRow(
                rule_id=r,
                name=rule_name(r),
                breaches=sum(1 for b in run.breaches if b.rule_id == r),
                locks=sum(1 for lk in locks if lk[1] == r),
                prevented=sum(p.size for p in run.prevented if p.rule_id == r),
                closed=sum(c.size for c in run.closes if c.rule_id == r),
                saved=cents(saved[r]),
                open_part=cents(open_part[r]),
                unpriced=unpriced[r],
            )
            for r in sorted(dict.fromkeys(ids), key=_rule_order)
        )

    def _events(self, run: RunOutcome, locks: dict[tuple[datetime, str, str], tuple[datetime | None, str]]) -> tuple[EventLine, ...]:
        zone = self.calendar.zone
        lines = [EventLine(b.at, "breach", b.rule_id, b.reason) for b in run.breaches]
        for (at, rule_id, kind), (until, reason) in locks.items():
            if kind == "symbol":
                what = "symbol locked while it is blocked"
            elif until is None:
                what = f"{kind} lock until the gateway allows trading"
            else:
                what = f"{'hard lock' if kind == 'hard' else 'cooldown'} until {until.astimezone(zone):%a %H:%M}"
            lines.append(EventLine(at, "lock", rule_id, f"{what}: {reason}"))
        for p in run.prevented:
            lines.append(EventLine(p.at, "prevented", p.rule_id,
                                   f"entry of {p.size} {self.symbol(p.contract_id)} at {p.price} prevented"))
        for c in run.closes:
            price = f"at {c.price}" if c.price is not None else "(no price known)"
            lines.append(EventLine(c.at, "closed", c.rule_id,
                                   f"{c.size} {self.symbol(c.contract_id)} closed {price}: {c.reason}"))
        order = {"breach": 0, "lock": 1, "closed": 2, "prevented": 3}
        return tuple(sorted(lines, key=lambda e: (e.at, order[e.kind], e.rule_id, e.text)))

    # --- honesty -------------------------------------------------------------------------------

    def _assumptions(self, runs: Sequence[RunOutcome]) -> tuple[str, ...]:
        n = self.slippage_ticks
        ticks = f"{n} tick{'s' if n != 1 else ''}"
        out = [f"Prices: {self.data.price_source}."]
        if self.tape.has_bars:
            out.append(
                "A close the rules ask for is taken at once and priced at the open of the next "
                f"one-minute bar (the bar starting at or after that moment), {ticks} of slippage "
                "against you; with no later bar, at the last known price."
            )
            out.append(
                "Within a bar the price is taken to go open, low, high, close (open, high, low, close on a "
                "falling bar), 15 seconds apart: an open-loss limit can trigger at the bar's worst price."
            )
        else:
            out.append(
                f"A close the rules ask for is priced at the last fill price before it, {ticks} of "
                "slippage against you: without bars, open P&L between your fills is not known."
            )
        out.append(
            "An entry made while a lock would have held is counted as not made (prevented). Your later "
            "exits take first the contracts that rules prevented or closed (oldest first), and those "
            "exits are left out of the replay."
        )
        out.append(
            "Profit on a fill: the gateway's own number while the replay holds what you held; "
            "otherwise average-price basis with the contract's tick size and value, to the cent. "
            "Costs of a simulated close: your own fees per contract on that contract."
        )
        for run in runs:
            label = f"{run.name}: " if len(runs) > 1 else ""
            m = run.model
            if m.compared:
                agreed = m.compared - m.differed
                text = f"{label}the model reproduced the gateway's profit on {agreed} of {m.compared} fills"
                out.append(text + (f" (off by {signed_money(m.difference)} in total)." if m.differed else "."))
            for table in run.not_replayed:
                out.append(f"{label}not replayed: {rule_name(TABLE_RULES[table])} ({_why_not(table)}).")
            if run.stop_changes:
                out.append(f"{label}{run.stop_changes} stop change(s) the rules asked for (trade management, "
                           "stops following a cut position) were not simulated: stops fill where yours did.")
            open_total = sum((a.amount for a in run.attributions if a.open_at_end and a.amount), ZERO)
            if any(a.open_at_end for a in run.attributions):
                out.append(f"{label}contracts you never exited in the data are valued at the last known "
                           f"price ({signed_money(cents(open_total))} of the rule amounts).")
            for text in run.rule_errors:
                out.append(f"{label}a rule failed during the replay: {text}.")
        out.append(
            f"Days are trading days ({self.calendar.reset_time:%H:%M} to {self.calendar.reset_time:%H:%M} "
            f"{self.calendar.zone.key}); P&L is realized and net of fees and commissions; a day's worst "
            "drawdown is the largest fall of its realized P&L from the day's high. Positions still open "
            "at the end are not in the P&L columns."
        )
        return tuple(out)

    def _missing_overall(self, runs: Sequence[RunOutcome]) -> tuple[str, ...]:
        notes = list(self.data.notes)
        carried = runs[0].carried_in if runs else []
        if carried:
            notes.append(
                f"{len(carried)} fill(s) closed positions opened before the range; their entry price "
                "was read back from the gateway's profit on the fill."
            )
        unknown = sorted({self.symbol(t.contract_id) for t in self.data.trades
                          if t.contract_id not in self.data.contracts})
        if unknown:
            notes.append(f"No contract details (tick size and value) for {', '.join(unknown)}.")
        return tuple(notes)


class _RunDays:
    """One run's records grouped by trading day (each looked up once, not once per day)."""

    def __init__(self, run: RunOutcome, day_of: Callable[[datetime], date]) -> None:
        self.steps = _group(run.steps, lambda s: day_of(s.at))
        self.breaches = _group(run.breaches, lambda b: day_of(b.at))
        self.prevented = _group(run.prevented, lambda p: day_of(p.at))
        self.closes = _group(run.closes, lambda c: day_of(c.at))
        self.unpriced: dict[date, list[str]] = defaultdict(list)
        for at, contract in run.unpriced:
            self.unpriced[day_of(at)].append(contract)

    def days(self) -> set[date]:
        return set(self.steps) | set(self.breaches)


T = TypeVar("T")


def _group(items: Sequence[T], key: Callable[[T], date]) -> dict[date, list[T]]:
    out: dict[date, list[T]] = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return out


def _distinct_locks(run: RunOutcome) -> dict[tuple[datetime, str, str], tuple[datetime | None, str]]:
    """Each lock once, at its first start, with the latest end it reached."""
    locks: dict[tuple[datetime, str, str], tuple[datetime | None, str]] = {}
    for lk in run.locks:
        locks[(lk.at, lk.rule_id, lk.kind)] = (lk.until, lk.reason)
    return locks


def _why_not(table: str) -> str:
    if table == "auth_loss_guard":
        return "the gateway keeps no history of trading permission"
    if table == "max_loss_guard":
        return "past trades do not carry the account's balance, which it is judged on"
    if table in ("plan_position_size", "firm_close"):
        return ("past trades do not say which Topstep plan the account is on: name it under "
                "[accounts] in the rule set (an Express Funded scaling tier needs the balance too)")
    return "no order history, so your stops are unknown"


def _rule_order(rule_id: str) -> tuple[int, str]:
    return (0, rule_id) if rule_id.startswith("RULE-") else (1, rule_id)
