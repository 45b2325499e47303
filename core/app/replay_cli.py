"""``main.py replay``: run past trading through candidate rule sets and report.

Exit codes as for the app: 0 done, 2 bad arguments, config or input file (the message names
which and why), 1 anything else (the gateway could not be reached, a report could not be
written).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from core.app.credentials import CredentialsError, load_credentials
from core.app.replay_service import (
    DayRange,
    calendar_of,
    candidates_from,
    check_range,
    demo_input,
    demo_range,
    file_input,
    gateway_input,
    holidays,
)
from core.app.words import gateway_failure
from core.config.io import ConfigError, load_config, write_text_atomic
from core.gateway.errors import GatewayRestError
from core.replay.html import render_html
from core.replay.inputs import InputError, ReplayInput
from core.replay.run import Candidate, replay_report
from core.replay.text import render_text

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class ReplayOptions:
    account: int | None = None
    first_day: str | None = None  # YYYY-MM-DD, as typed
    last_day: str | None = None
    configs: tuple[Path, ...] = ()
    trades: Path | None = None
    bars: Path | None = None
    orders: Path | None = None
    contracts: Path | None = None
    report: Path | None = None
    slippage: int = 1
    demo: bool = False


def parse_day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{flag} {text!r} is not a date (write it as YYYY-MM-DD)") from None


def run_replay(options: ReplayOptions, out: TextIO | None = None, err: TextIO | None = None,
               now: datetime | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        report_text, html = _replay(options, now or datetime.now(UTC))
    except (InputError, ConfigError) as exc:
        print(f"replay: {exc}", file=err)
        return EXIT_BAD_INPUT
    except CredentialsError as exc:
        print(f"replay: {exc}", file=err)
        return EXIT_BAD_INPUT
    except GatewayRestError as exc:
        log.info("replay: %s", exc)  # the technical detail, for a log that wants it
        print(f"replay: could not read your history: {gateway_failure(exc)}", file=err)
        return EXIT_FAILURE
    except OSError as exc:
        print(f"replay: {exc}", file=err)
        return EXIT_FAILURE
    out.write(report_text)
    if options.report is not None and html is not None:
        try:
            write_text_atomic(options.report, html)
        except OSError as exc:
            print(f"replay: cannot write the report {options.report}: {exc.strerror or exc}", file=err)
            return EXIT_FAILURE
        print(f"\nReport written to {options.report}", file=out)
    return EXIT_OK


def _check_options(options: ReplayOptions) -> None:
    if options.slippage < 0:
        raise InputError(f"--slippage {options.slippage}: slippage is a number of ticks, 0 or more")
    if options.slippage > 1000:
        raise InputError(f"--slippage {options.slippage}: more ticks than any replay could mean")
    for flag, value in (("--bars", options.bars), ("--orders", options.orders),
                        ("--contracts", options.contracts)):
        if value is not None and options.trades is None:
            raise InputError(f"{flag} goes with --trades (the gateway's own history is used otherwise)")
    if options.demo and options.trades is not None:
        raise InputError("--demo replays a generated month: it cannot be combined with --trades")
    if options.demo and options.account is not None:
        raise InputError("--demo replays the demo account: --account does not apply")
    report = options.report
    if report is not None:
        if report.is_dir():
            raise InputError(f"--report {report} is a folder: give the file to write")
        if not report.parent.is_dir():
            raise InputError(f"--report {report}: the folder {report.parent} does not exist")


def _replay(options: ReplayOptions, now: datetime) -> tuple[str, str | None]:
    _check_options(options)
    candidates = (candidates_from(options.configs) if options.configs
                  else [Candidate("your rules", load_config(None))])
    calendar = calendar_of(candidates[0].config)
    today = calendar.trading_day(now)
    first = parse_day(options.first_day, "--from") if options.first_day else None
    last = parse_day(options.last_day, "--to") if options.last_day else None
    days: DayRange | None = None
    if first is not None or last is not None or options.trades is None:
        default = demo_range(today) if options.demo else None
        last = last or (default.last if default else today)
        first = first or (default.first if default else date.fromordinal(last.toordinal() - DEFAULT_DAYS + 1))
        days = check_range(first, last, today=None if options.trades else today)
    data: ReplayInput
    if options.trades is not None:
        data, days = file_input(options.trades, bars=options.bars, orders=options.orders,
                                contracts=options.contracts, account_id=options.account,
                                days=days, calendar=calendar)
    elif options.demo:
        assert days is not None
        data = asyncio.run(demo_input(days))
    else:
        assert days is not None
        # The connection (gateway address, username) is the trader's own config's; the
        # candidates are rule sets.
        base = load_config(None)
        credentials = load_credentials(base.gateway.username or None)
        data = asyncio.run(gateway_input(base, credentials, options.account, days, calendar))
    assert days is not None
    report = replay_report(data, candidates, first_day=days.first, last_day=days.last,
                           slippage_ticks=options.slippage, holidays=holidays())
    return render_text(report), render_html(report) if options.report is not None else None
