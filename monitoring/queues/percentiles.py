"""Exact percentiles by the nearest-rank method (the value a given share of the samples do not exceed)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def nearest_rank(sorted_values: Sequence[float], percent: float) -> float | None:
    """The smallest sample with at least ``percent`` % of the samples at or below it; None without samples.
    Nearest rank (not interpolation) so that a reported p90 wait is a wait somebody actually had."""
    if not sorted_values:
        return None
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    rank = math.ceil(percent / 100.0 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]
