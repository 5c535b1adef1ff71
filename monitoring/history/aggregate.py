"""Combining partial aggregates (rollup rows, raw samples) into per-step HistoryBuckets."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from monitoring.history.base import HistoryBucket


@dataclass(slots=True)
class Partial:
    """Running count/sum/min/max/last of one step bucket; ``last_ts`` decides which ``last`` wins."""

    count: int
    total: float
    low: float
    high: float
    last_ts: float
    last: float

    def merge(self, count: int, total: float, low: float, high: float, last_ts: float, last: float) -> None:
        self.count += count
        self.total += total
        self.low = min(self.low, low)
        self.high = max(self.high, high)
        if last_ts >= self.last_ts:
            self.last_ts = last_ts
            self.last = last


class StepAggregator:
    """Groups partial aggregates by ``floor(ts / step)``; ts of a bucket is its start in epoch seconds."""

    def __init__(self, step: float) -> None:
        self.step = step
        self._buckets: dict[int, Partial] = {}

    def add(self, ts: float, count: int, total: float, low: float, high: float, last_ts: float, last: float) -> None:
        key = math.floor(ts / self.step)
        partial = self._buckets.get(key)
        if partial is None:
            self._buckets[key] = Partial(count, total, low, high, last_ts, last)
        else:
            partial.merge(count, total, low, high, last_ts, last)

    def add_rollup_rows(self, rows: Iterable[tuple[int, int, float, float, float, int, float]]) -> None:
        """Rows of (bucket s, count, sum, min, max, last_ts us, last) from a rollup table."""
        for bucket, count, total, low, high, last_ts, last in rows:
            self.add(bucket, count, total, low, high, last_ts / 1e6, last)

    def add_samples(self, rows: Iterable[tuple[int, float]]) -> None:
        """Rows of (ts us, value) of trusted numeric raw samples."""
        for ts_us, value in rows:
            ts = ts_us / 1e6
            self.add(ts, 1, value, value, value, ts, value)

    def buckets(self) -> tuple[HistoryBucket, ...]:
        return tuple(
            HistoryBucket(key * self.step, p.total / p.count, p.low, p.high, p.last, p.count)
            for key, p in sorted(self._buckets.items())
            if p.count > 0
        )
