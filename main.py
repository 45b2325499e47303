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


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
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

        from core.headless import run_headless

        return asyncio.run(run_headless(config, demo=args.demo))
    print("The tray app is not built yet: run with --headless (add --demo to try it).", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
