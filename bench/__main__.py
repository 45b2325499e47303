"""Run every benchmark and print its table."""

from __future__ import annotations

import argparse

from bench import (
    alerts_bench,
    bundle_bench,
    engine_bench,
    gateway_bench,
    gui_bench,
    replay_bench,
    resilience_bench,
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quotes", type=int, default=200_000, help="quotes in the throughput run")
    parser.add_argument("--breaches", type=int, default=2_000, help="breaches per latency scenario")
    parser.add_argument(
        "--gateway-breaches", type=int, default=200, help="breaches per gateway round-trip scenario"
    )
    parser.add_argument(
        "--gateway-rates",
        default=",".join(map(str, gateway_bench.DEFAULT_RATES)),
        help="quote-storm target rates, quotes/s, comma-separated",
    )
    parser.add_argument(
        "--gateway-seconds", type=float, default=4.0, help="seconds per quote-storm rate"
    )
    parser.add_argument(
        "--gui-rates",
        default=",".join(map(str, gui_bench.DEFAULT_RATES)),
        help="GUI responsiveness target rates, quotes/s, comma-separated (0 = baseline)",
    )
    parser.add_argument(
        "--gui-seconds", type=float, default=gui_bench.DEFAULT_SECONDS, help="seconds per GUI rate"
    )
    parser.add_argument(
        "--gui-profile", action="store_true", help="cProfile the GUI loop even if the goal is met"
    )
    parser.add_argument(
        "--alert-rounds", type=int, default=200, help="breaches per alert setup (alerts bench)"
    )
    parser.add_argument(
        "--resilience",
        default=",".join(resilience_bench.SECTIONS),
        help="resilience scenarios, comma-separated (empty: none): "
        + ", ".join(resilience_bench.SECTIONS),
    )
    parser.add_argument(
        "--rebuilds", type=int, default=100, help="hub rebuilds in the memory scenario"
    )
    parser.add_argument(
        "--fuzz-examples",
        type=int,
        default=1000,
        help="examples per property in the long fuzz run of tests/test_fuzz.py",
    )
    parser.add_argument(
        "--only-resilience", action="store_true", help="run the resilience scenarios alone"
    )
    parser.add_argument(
        "--replay-fills", type=int, default=5_000, help="fills in the replayed month"
    )
    parser.add_argument(
        "--only", choices=("replay",), help="run only this benchmark (the others take minutes)"
    )
    args = parser.parse_args()
    if args.only == "replay":
        replay_bench.run(fills=args.replay_fills)
        return
    sections = {s for s in args.resilience.split(",") if s}
    if args.only_resilience:
        resilience_bench.run(sections, rebuilds=args.rebuilds, fuzz_examples=args.fuzz_examples)
        return
    engine_bench.run(quotes=args.quotes, breaches=args.breaches)
    print()
    gateway_bench.run(
        breaches=args.gateway_breaches,
        rates=[int(r) for r in args.gateway_rates.split(",")],
        seconds=args.gateway_seconds,
    )
    print()
    alerts_bench.run(rounds=args.alert_rounds)
    print()
    gui_bench.run(
        rates=[int(r) for r in args.gui_rates.split(",")],
        seconds=args.gui_seconds,
        profile=args.gui_profile,
    )
    print()
    if sections:
        resilience_bench.run(sections, rebuilds=args.rebuilds, fuzz_examples=args.fuzz_examples)
        print()
    replay_bench.run(fills=args.replay_fills)
    print()
    bundle_bench.run()  # builds dist/RiskManager first (~30 s) when it is not there


if __name__ == "__main__":
    main()
