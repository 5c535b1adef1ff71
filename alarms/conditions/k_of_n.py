"""k_of_n: at least k of n points in their alarm state at once (two independent detectors, GB 50116 4.1.6)."""

from __future__ import annotations

from alarms.conditions.base import NoTick, Verdict, matches, usable
from twin.points import PointUpdate
from twin.site.alarm_rules import KOfNCondition


class KOfNEvaluator(NoTick):
    def __init__(self, condition: KOfNCondition) -> None:
        self.condition = condition
        self.points = tuple(condition.points)
        self._on: dict[str, bool] = {}

    def update(self, update: PointUpdate, now: float) -> Verdict | None:
        if usable(update):
            self._on[update.point_id] = matches(update.value, self.condition.equals, None)
        # A detector without a good value counts as not in alarm: it cannot confirm a fire.
        elif update.point_id in self._on:
            self._on[update.point_id] = False
        on = sorted(point for point, active in self._on.items() if active)
        return Verdict(len(on) >= self.condition.k, on)
