"""Shared by the gateway and GUI benchmarks: the clock, percentiles and millisecond cells."""

from __future__ import annotations

import math
import time

perf = time.perf_counter


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f} ms"
