"""The replay report for the terminal: plain text, the same every time for the same input."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from core.domain.words import money
from core.replay.report import CandidateSummary, ReplayReport
from core.replay.words import local_time, rule_name, signed_money


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """Columns padded to their widest cell; the first ``left`` columns align left."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def render_text(report: ReplayReport) -> str:
    zone = ZoneInfo(report.zone)
    lines = [
        f"What would these rules have done? Account {report.account_id}, trading days "
        f"{report.first_day} to {report.last_day}",
        f"Trades: {report.source} ({report.trade_count} fills). Prices: {report.price_source}.",
        "Candidates: " + "; ".join(c.name for c in report.candidates),
        "",
    ]
    lines += _days(report)
    for candidate in report.candidates:
        lines += ["", *_candidate(candidate, zone)]
    lines += ["", "Assumptions"]
    lines += [f"  - {text}" for text in report.assumptions]
    missing = list(report.missing) + [
        f"{row.day}: {'; '.join(row.missing)}" for row in report.days if row.missing
    ]
    lines += ["", "Missing data"]
    lines += [f"  - {text}" for text in missing] or ["  none"]
    return "\n".join(lines) + "\n"


def _days(report: ReplayReport) -> list[str]:
    headers = ["Trading day", "Fills", "Actual", "Drawdown"]
    for c in report.candidates:
        headers += [f"With {c.name}", "Difference", "Drawdown", "Breaches", "Prevented", "Closed"]
    rows = []
    for row in report.days:
        cells = [str(row.day), str(row.trades), money(row.actual.net), money(row.actual.drawdown)]
        for result in row.candidates:
            cells += [money(result.net), signed_money(result.net - row.actual.net),
                      money(result.drawdown), str(result.breaches), str(result.prevented),
                      str(result.closed)]
        rows.append(cells)
    total = ["Total", str(report.trade_count), money(report.actual_total), money(report.actual_drawdown)]
    for c in report.candidates:
        total += [money(c.total), signed_money(c.total - report.actual_total), money(c.drawdown),
                  str(c.breaches), str(c.prevented), str(c.closed)]
    rows.append(total)
    return table(headers, rows)


def _candidate(c: CandidateSummary, zone: ZoneInfo) -> list[str]:
    title = f"With {c.name}"
    lines = [title, "=" * len(title), "Money saved (+) or lost (-) by each rule"]
    rows = [
        [r.name, str(r.breaches), str(r.locks), str(r.prevented), str(r.closed),
         signed_money(r.saved) + ("" if not r.unpriced else f" (+{r.unpriced} unpriced)")]
        for r in c.rules
    ]
    if c.unattributed:
        rows.append(["Not attributed to a rule", "", "", "", "", signed_money(c.unattributed)])
    lines += ["  " + line for line in table(
        ["Rule", "Breaches", "Locks", "Entries prevented", "Contracts closed", "Saved"], rows)]
    if c.not_replayed:
        lines.append("  Not replayed: " + ", ".join(c.not_replayed))
    lines += ["", "What happened"]
    if not c.events:
        lines.append("  nothing: no rule was breached")
    for e in c.events:
        lines.append(f"  {local_time(e.at, zone)}  {rule_name(e.rule_id)}: {e.text}")
    return lines
