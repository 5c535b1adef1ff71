"""threshold: above high or below low, clearing a deadband inside the limit."""

from __future__ import annotations

from alarms.conditions.base import NoTick, Verdict, usable
from twin.points import PointUpdate
from twin.site.alarm_rules import ThresholdCondition


class ThresholdEvaluator(NoTick):
    def __init__(self, condition: ThresholdCondition, point: str) -> None:
        self.condition = condition
        self.points: tuple[str, ...] = (point,)
        self._high_active = False
        self._low_active = False

    def update(self, update: PointUpdate, now: float) -> Verdict | None:
        value = update.value
        if not usable(update) or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        c = self.condition
        if c.high is not None:
            limit = c.high - c.deadband if self._high_active else c.high
            self._high_active = value >= limit if self._high_active else value > limit
        if c.low is not None:
            limit = c.low + c.deadband if self._low_active else c.low
            self._low_active = value <= limit if self._low_active else value < limit
        return Verdict(self._high_active or self._low_active, value)
