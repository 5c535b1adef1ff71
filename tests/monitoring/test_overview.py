"""Today's rise of counters and energy registers from history buckets: baselines before midnight, resets."""

from __future__ import annotations

from monitoring.history.base import HistoryBucket
from monitoring.overview import increase

START = 1_765_000_000.0


def bucket(offset: float, low: float, last: float) -> HistoryBucket:
    return HistoryBucket(START + offset, (low + last) / 2, low, last, last, 1)


def test_increase_from_the_baseline_before_midnight() -> None:
    buckets = [bucket(-900, 90, 100), bucket(0, 100, 110), bucket(900, 110, 130)]
    assert increase(buckets, START, from_zero=True) == 30.0
    assert increase(buckets, START, from_zero=False) == 30.0


def test_a_reset_counts_nothing_for_the_drop() -> None:
    buckets = [bucket(-900, 500, 500), bucket(0, 3, 5), bucket(900, 5, 12)]  # the counter reset at midnight
    assert increase(buckets, START, from_zero=True) == 0.0 + 7.0


def test_without_history_before_today() -> None:
    buckets = [bucket(0, 10, 14), bucket(900, 14, 20)]
    assert increase(buckets, START, from_zero=True) == 20.0  # a people counter starts at zero today
    assert increase(buckets, START, from_zero=False) == 10.0  # an energy register from its first reading
    assert increase([], START, from_zero=True) == 0.0
