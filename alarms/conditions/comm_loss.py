"""comm_loss: the gateway cannot reach the device (its <device>.comm_lost point, published by the poller)."""

from __future__ import annotations

from alarms.conditions.base import NoTick, Verdict, matches, usable
from twin.points import PointUpdate
from twin.site.alarm_rules import CommLossCondition


class CommLossEvaluator(NoTick):
    def __init__(self, condition: CommLossCondition, comm_point: str) -> None:
        self.condition = condition
        self.points: tuple[str, ...] = (comm_point,)

    def update(self, update: PointUpdate, now: float) -> Verdict | None:
        if not usable(update):
            return None
        lost = matches(update.value, True, None)
        return Verdict(lost, update.reason if lost and update.reason else lost)
