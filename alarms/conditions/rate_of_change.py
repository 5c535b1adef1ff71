"""rate_of_change: the value rises or falls faster than a rate per minute, measured over a window."""

from __future__ import annotations

from collections import deque

from alarms.conditions.base import Verdict, usable
from twin.points import PointUpdate
from twin.site.alarm_rules import RateCondition

MIN_SPAN_S = 1.0  # two samples closer than this say nothing about a rate per minute


class RateEvaluator:
    time_based = True  # samples age out of the window: the rate falls back while nothing new arrives

    def __init__(self, condition: RateCondition, point: str) -> None:
        self.condition = condition
        self.points: tuple[str, ...] = (point,)
        self._samples: deque[tuple[float, float]] = deque()

    def update(self, update: PointUpdate, now: float) -> Verdict | None:
        value = update.value
        if not usable(update) or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        self._samples.append((update.source_ts, float(value)))
        return self._verdict(update.source_ts)

    def tick(self, now: float) -> Verdict | None:
        return self._verdict(now) if self._samples else None

    def _verdict(self, now: float) -> Verdict:
        samples = self._samples
        while len(samples) > 1 and samples[0][0] < now - self.condition.window_s:
            samples.popleft()
        (t0, v0), (t1, v1) = samples[0], samples[-1]
        span = t1 - t0
        if span < MIN_SPAN_S:
            return Verdict(False, None)
        per_min = (v1 - v0) / span * 60.0
        c = self.condition
        rising = c.rise_per_min is not None and per_min >= c.rise_per_min
        falling = c.fall_per_min is not None and -per_min >= c.fall_per_min
        return Verdict(rising or falling, round(per_min, 3))
