"""state: the value equals a given state (binary true, a multistate name or number, a text)."""

from __future__ import annotations

from alarms.conditions.base import NoTick, Verdict, matches, usable
from twin.points import PointUpdate
from twin.site.alarm_rules import StateCondition


class StateEvaluator(NoTick):
    def __init__(self, condition: StateCondition, point: str, states: list[str] | None = None) -> None:
        self.condition = condition
        self.points: tuple[str, ...] = (point,)
        self.states = states

    def update(self, update: PointUpdate, now: float) -> Verdict | None:
        if not usable(update):
            return None
        return Verdict(matches(update.value, self.condition.equals, self.states), update.value)
