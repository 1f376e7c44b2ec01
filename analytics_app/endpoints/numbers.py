"""Numbers as AgentsView prints them: Go's rounding (half away from zero), integer medians
and percentile ranks, so both databases and the Go original agree to the digit."""

from __future__ import annotations

import math

Number = int | float


def go_round(value: float, digits: int = 1) -> Number:
    """Go's ``math.Round(v*10^d)/10^d`` (half away from zero); integral results as ``int``
    (Go prints ``4``, not ``4.0``)."""
    scale = 10 ** digits
    scaled = value * scale
    result = math.copysign(math.floor(abs(scaled) + 0.5), scaled) / scale
    return int(result) if result.is_integer() else result


def ratio(numerator: float, denominator: float, *, scale: float = 1, digits: int = 1) -> Number:
    """``numerator / denominator * scale`` rounded; 0 for an empty denominator."""
    return go_round(numerator / denominator * scale, digits) if denominator else 0


def median_int(values: list[int]) -> int:
    """Median of sorted ints; the mean of the middle two (floored) for an even count."""
    n = len(values)
    if n == 0:
        return 0
    if n % 2 == 0:
        return (values[n // 2 - 1] + values[n // 2]) // 2
    return values[n // 2]


def percentile_index(n: int, tenths: int) -> int:
    """0-based index of the *tenths*/10 percentile of *n* sorted values (AgentsView's
    ``int(n * p)``, clamped), in integer arithmetic so both databases agree."""
    return min(n * tenths // 10, n - 1)
