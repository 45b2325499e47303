"""Risk Manager entry point: the only place that creates the QApplication and the event loop."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="risk-manager",
        description="Enforces a futures trader's risk rules on TopstepX accounts.",
    )
    parser.add_argument("--demo", action="store_true", help="use the embedded simulated gateway")
    parser.add_argument("--headless", action="store_true", help="no GUI; log to stdout")
    parser.add_argument("--config", type=Path, help="config file (default: the user's config dir)")
    return parser.parse_args(argv)


def parse_sim_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="risk-manager sim",
        description="Run the simulated ProjectX gateway on its own: a local sandbox on "
        "127.0.0.1 for any ProjectX client or bot (REST API and both SignalR hubs).",
    )
    parser.add_argument("--port", type=int, default=None,
                        help="TCP port on 127.0.0.1 (default 5858; 0 picks a free one)")
    parser.add_argument("--accounts", type=Path, metavar="FILE",
                        help="JSON file of the accounts to serve (default: two demo accounts)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random market")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X",
                        help="market (and demo trader) speed factor, e.g. 2 or 0.5")
    parser.add_argument("--demo-trader", action="store_true",
                        help="also run the scripted trader that breaks the rules")
    args = parser.parse_args(argv)
    if args.port is not None and not 0 <= args.port <= 65535:
        parser.error(f"argument --port: {args.port} is not a port (0 to 65535)")
    if not args.speed > 0 or args.speed == float("inf"):
        parser.error(f"argument --speed: must be a number above 0, got {args.speed:g}")
    return args


def run_sim(argv: list[str]) -> int:
    try:
        args = parse_sim_args(argv)
    except SystemExit as exc:  # argparse: bad arguments exit 2, --help exits 0
        return int(exc.code or 0)
    import asyncio
    import logging

    from core.sim.sandbox import (
        DEFAULT_PORT,
        AccountsFileError,
        SandboxOptions,
        SandboxSetup,
        load_accounts_file,
        run_sandbox,
    )

    try:
        setup = SandboxSetup() if args.accounts is None else load_accounts_file(args.accounts)
    except AccountsFileError as exc:
        print(f"risk-manager sim: error: argument --accounts: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = SandboxOptions(
        port=DEFAULT_PORT if args.port is None else args.port, seed=args.seed,
        speed=args.speed, demo_trader=args.demo_trader, setup=setup,
    )
    try:
        return asyncio.run(run_sandbox(options, out=sys.stdout, err=sys.stderr))
    except KeyboardInterrupt:  # where signal handlers cannot be installed (Windows)
        return 0


def parse_replay_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="risk-manager replay",
        description="Run past trades through a candidate rule set and report what it would have done.",
    )
    parser.add_argument("--account", type=int, help="account id (default: the only active one)")
    parser.add_argument("--from", dest="first_day", metavar="DATE", help="first trading day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last_day", metavar="DATE", help="last trading day, YYYY-MM-DD")
    parser.add_argument("--config", action="append", type=Path, default=[], metavar="CANDIDATE.toml",
                        help="candidate rules; give it twice to compare two side by side")
    parser.add_argument("--trades", type=Path, metavar="FILE", help="trades file (JSON or CSV) instead of the gateway")
    parser.add_argument("--bars", type=Path, metavar="FILE", help="one-minute bars for --trades (JSON or CSV)")
    parser.add_argument("--orders", type=Path, metavar="FILE", help="order history for --trades (JSON)")
    parser.add_argument("--contracts", type=Path, metavar="FILE", help="contract list for --trades (JSON)")
    parser.add_argument("--report", type=Path, metavar="OUT.html", help="also write the report as HTML")
    parser.add_argument("--slippage", type=int, default=1, metavar="TICKS",
                        help="ticks against you on each simulated close (default 1)")
    parser.add_argument("--demo", action="store_true", help="replay a generated month on the simulated gateway")
    return parser.parse_args(argv)


def replay(argv: list[str]) -> int:
    try:
        args = parse_replay_args(argv)
    except SystemExit as exc:  # argparse: bad arguments exit 2, --help exits 0
        return int(exc.code or 0)
    from core.app.replay_cli import ReplayOptions, run_replay

    return run_replay(ReplayOptions(
        account=args.account, first_day=args.first_day, last_day=args.last_day,
        configs=tuple(args.config), trades=args.trades, bars=args.bars, orders=args.orders,
        contracts=args.contracts, report=args.report, slippage=args.slippage, demo=args.demo,
    ))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sim"]:
        return run_sim(argv[1:])
    if argv[:1] == ["replay"]:
        return replay(argv[1:])
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # argparse: bad arguments exit 2, --help exits 0
        return int(exc.code or 0)

    from core.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"bad config: {exc}", file=sys.stderr)
        return 2
    if args.headless:
        import asyncio

        from core.app.headless import run_headless

        return asyncio.run(run_headless(config, demo=args.demo, config_path=args.config))
    return run_tray_app(config, args.config, demo=args.demo)


def run_tray_app(config: object, config_path: Path | None, *, demo: bool) -> int:
    import os

    # qasync tries other Qt bindings first; name ours before it is imported.
    os.environ.setdefault("QT_API", "pyside6")
    from gui.runner import has_display

    if not has_display():
        print(
            "No display found: the tray app needs a desktop session. "
            "Run with --headless to use the risk manager without one.",
            file=sys.stderr,
        )
        return 1
    from gui.platform_check import xcb_problem

    problem = xcb_problem()  # names the missing packages instead of Qt's core dump
    if problem:
        print(problem, file=sys.stderr)
        return 1
    import qasync
    from PySide6.QtWidgets import QApplication

    from gui.runner import run_gui, signal_running_instance

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName("Risk Manager")
    # A tray app lives on with every window closed; only Quit ends it.
    app.setQuitOnLastWindowClosed(False)
    if not demo and signal_running_instance():
        print("Risk Manager is already running: its dashboard was brought forward.")
        return 0
    return int(qasync.run(run_gui(config, config_path, demo=demo)))  # type: ignore[arg-type]


if __name__ == "__main__":
    import multiprocessing

    # The "What if…" window replays in a spawned worker process; in the bundle that worker is
    # this executable again, and this call is what turns it into the worker.
    multiprocessing.freeze_support()
    sys.exit(main())
