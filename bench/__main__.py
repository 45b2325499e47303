"""Run every benchmark and print its table."""

from __future__ import annotations

import argparse

from bench import engine_bench


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quotes", type=int, default=200_000, help="quotes in the throughput run")
    parser.add_argument("--breaches", type=int, default=2_000, help="breaches per latency scenario")
    args = parser.parse_args()
    engine_bench.run(quotes=args.quotes, breaches=args.breaches)


if __name__ == "__main__":
    main()
