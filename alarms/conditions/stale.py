"""stale: the point's value is STALE, or (with after_s) no new value came for that long."""

from __future__ import annotations

from alarms.conditions.base import Verdict
from twin.points import PointUpdate, Quality
from twin.site.alarm_rules import StaleCondition


class StaleEvaluator:
    def __init__(self, condition: StaleCondition, point: str) -> None:
        self.condition = condition
        self.points: tuple[str, ...] = (point,)
        self.time_based = condition.after_s is not None
        self._last_good: float | None = None

    def update(self, update: PointUpdate, now: float) -> Verdict | None:
        if update.quality is Quality.STALE:
            return Verdict(True, update.reason or "STALE")
        if update.quality is Quality.GOOD:
            self._last_good = update.source_ts
            return Verdict(False, update.value)
        return None  # BAD / UNAVAILABLE: a fault or a comm loss, which have rules of their own

    def tick(self, now: float) -> Verdict | None:
        after = self.condition.after_s
        if after is None or self._last_good is None:
            return None
        age = now - self._last_good
        return Verdict(True, f"no value for {age:.0f} s") if age > after else None
