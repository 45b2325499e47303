"""The replay report as one self-contained HTML file: no scripts, no fonts, no links out.

The equity curves are inline SVG. Nothing in it depends on when it was written, so the same
input gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

from core.domain.words import money
from core.replay.report import CandidateSummary, Curve, ReplayReport
from core.replay.words import local_time, rule_name, signed_money

COLOURS = ("#1f6fb4", "#d3302f", "#2e9d4a", "#8e44ad")  # candidates; the actual curve is grey
ACTUAL_COLOUR = "#6b6b6b"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.8em}h3{font-size:1em}
table{border-collapse:collapse;margin:.6em 0}td,th{border-bottom:1px solid #ddd;padding:.25em .6em}
th{text-align:left;background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:bold;border-top:2px solid #999}.pos{color:#2e7d32}.neg{color:#c62828}
.muted{color:#666}ul{padding-left:1.2em}li{margin:.2em 0}svg text{font-size:11px;fill:#444}
"""


def render_html(report: ReplayReport) -> str:
    zone = ZoneInfo(report.zone)
    title = (f"What would these rules have done? Account {report.account_id}, "
             f"{report.first_day} to {report.last_day}")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>Trades: {escape(report.source)} ({report.trade_count} fills). "
        f"Prices: {escape(report.price_source)}. Trading days run {escape(report.day_rule)}.</p>",
        "<p>Candidates: " + ", ".join(f"<b>{escape(c.name)}</b>" for c in report.candidates) + "</p>",
        "<h2>Equity</h2>",
        _chart(report),
        "<h2>Per trading day</h2>",
        _days(report),
    ]
    for candidate in report.candidates:
        parts.append(_candidate(candidate, zone))
    parts.append("<h2>Assumptions</h2><ul>")
    parts += [f"<li>{escape(text)}</li>" for text in report.assumptions]
    parts.append("</ul><h2>Missing data</h2><ul>")
    missing = list(report.missing) + [
        f"{row.day}: {'; '.join(row.missing)}" for row in report.days if row.missing
    ]
    parts += [f"<li>{escape(text)}</li>" for text in missing] or ["<li>none</li>"]
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"


def _cls(value: Decimal) -> str:
    return "n pos" if value > 0 else "n neg" if value < 0 else "n"


def _money(value: Decimal, signed: bool = False, note: str = "") -> str:
    text = signed_money(value) if signed else money(value)
    return f'<td class="{_cls(value)}">{escape(text)}{note}</td>'


def _days(report: ReplayReport) -> str:
    head = ["Trading day", "Fills", "Actual", "Drawdown"]
    for c in report.candidates:
        head += [f"With {c.name}", "Difference", "Drawdown", "Breaches", "Prevented", "Closed"]
    rows = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for row in report.days:
        cells = [f"<td>{row.day}</td>", f'<td class="n">{row.trades}</td>',
                 _money(row.actual.net), _money(row.actual.drawdown)]
        for r in row.candidates:
            cells += [_money(r.net), _money(r.net - row.actual.net, True), _money(r.drawdown),
                      f'<td class="n">{r.breaches}</td>', f'<td class="n">{r.prevented}</td>',
                      f'<td class="n">{r.closed}</td>']
        rows.append("<tr>" + "".join(cells) + "</tr>")
    total = ["<td>Total</td>", f'<td class="n">{report.trade_count}</td>',
             _money(report.actual_total), _money(report.actual_drawdown)]
    for c in report.candidates:
        total += [_money(c.total), _money(c.total - report.actual_total, True), _money(c.drawdown),
                  f'<td class="n">{c.breaches}</td>', f'<td class="n">{c.prevented}</td>',
                  f'<td class="n">{c.closed}</td>']
    rows.append('<tr class="total">' + "".join(total) + "</tr></table>")
    return "\n".join(rows)


def _candidate(c: CandidateSummary, zone: ZoneInfo) -> str:
    parts = [f"<h2>With {escape(c.name)}</h2>", "<h3>Money saved (+) or lost (−) by each rule</h3>",
             "<table><tr><th>Rule</th><th>Breaches</th><th>Locks</th><th>Entries prevented</th>"
             "<th>Contracts closed</th><th>Saved</th></tr>"]
    for r in c.rules:
        note = f' <span class="muted">({r.unpriced} unpriced)</span>' if r.unpriced else ""
        parts.append(
            f"<tr><td>{escape(r.name)}</td><td class=\"n\">{r.breaches}</td><td class=\"n\">{r.locks}</td>"
            f"<td class=\"n\">{r.prevented}</td><td class=\"n\">{r.closed}</td>"
            + _money(r.saved, True, note) + "</tr>"
        )
    if c.unattributed:
        parts.append("<tr><td>Not attributed to a rule</td><td></td><td></td><td></td><td></td>"
                     + _money(c.unattributed, True) + "</tr>")
    parts.append("</table>")
    if c.not_replayed:
        parts.append(f"<p class=\"muted\">Not replayed: {escape(', '.join(c.not_replayed))}</p>")
    parts.append("<h3>What happened</h3>")
    if not c.events:
        parts.append("<p>Nothing: no rule was breached.</p>")
    else:
        parts.append("<table><tr><th>When</th><th>Rule</th><th>What</th></tr>")
        parts += [
            f"<tr><td>{escape(local_time(e.at, zone))}</td><td>{escape(rule_name(e.rule_id))}</td>"
            f"<td>{escape(e.text)}</td></tr>"
            for e in c.events
        ]
        parts.append("</table>")
    return "\n".join(parts)


def _chart(report: ReplayReport, width: int = 960, height: int = 320) -> str:
    curves: list[tuple[str, str, Curve]] = [("Actual", ACTUAL_COLOUR, report.actual_curve)]
    curves += [(f"With {c.name}", COLOURS[i % len(COLOURS)], c.curve)
               for i, c in enumerate(report.candidates)]
    points = [p for _, _, curve in curves for p in curve]
    if not points:
        return '<p class="muted">No realized P&amp;L to draw.</p>'
    pad_l, pad_r, pad_t, pad_b = 80, 20, 20, 40
    t0 = min(at for at, _ in points)
    t1 = max(at for at, _ in points)
    lo = min(Decimal(0), *(v for _, v in points))
    hi = max(Decimal(0), *(v for _, v in points))
    span_t = max((t1 - t0).total_seconds(), 1.0)
    span_v = float(hi - lo) or 1.0

    def x(at: datetime) -> float:
        return pad_l + (at - t0).total_seconds() / span_t * (width - pad_l - pad_r)

    def y(value: Decimal) -> float:
        return pad_t + float(hi - value) / span_v * (height - pad_t - pad_b)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="equity curves">',
           f'<line x1="{pad_l}" y1="{y(Decimal(0)):.1f}" x2="{width - pad_r}" y2="{y(Decimal(0)):.1f}" '
           'stroke="#bbb" stroke-dasharray="4 3"/>',
           f'<text x="{pad_l - 6}" y="{y(hi) + 4:.1f}" text-anchor="end">{escape(money(hi))}</text>',
           f'<text x="{pad_l - 6}" y="{y(lo) + 4:.1f}" text-anchor="end">{escape(money(lo))}</text>',
           f'<text x="{pad_l}" y="{height - 12}">{t0.astimezone(ZoneInfo(report.zone)):%Y-%m-%d}</text>',
           f'<text x="{width - pad_r}" y="{height - 12}" text-anchor="end">'
           f'{t1.astimezone(ZoneInfo(report.zone)):%Y-%m-%d}</text>']
    for index, (label, colour, curve) in enumerate(curves):
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" '
                   f'points="{_steps(curve, x, y, t0)}"/>')
        lx = pad_l + 10 + index * 190
        out.append(f'<rect x="{lx}" y="{height - 30}" width="12" height="3" fill="{colour}"/>'
                   f'<text x="{lx + 16}" y="{height - 26}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _steps(curve: Sequence[tuple[datetime, Decimal]], x: Callable[[datetime], float],
           y: Callable[[Decimal], float], t0: datetime) -> str:
    """A step line: the balance holds until the next realized change."""
    coords = [(x(t0), y(Decimal(0)))]
    last = Decimal(0)
    for at, value in curve:
        coords.append((x(at), y(last)))
        coords.append((x(at), y(value)))
        last = value
    return " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
