"""Alarm conditions, one file per ``type:`` of site.yaml (twin/site/alarm_rules.py holds their settings)."""

from __future__ import annotations

from alarms.conditions.base import Evaluator, Verdict
from alarms.conditions.comm_loss import CommLossEvaluator
from alarms.conditions.delay import Debounce
from alarms.conditions.k_of_n import KOfNEvaluator
from alarms.conditions.rate_of_change import RateEvaluator
from alarms.conditions.stale import StaleEvaluator
from alarms.conditions.state import StateEvaluator
from alarms.conditions.threshold import ThresholdEvaluator
from twin.site.alarm_rules import (
    CommLossCondition,
    Condition,
    KOfNCondition,
    RateCondition,
    StaleCondition,
    StateCondition,
    ThresholdCondition,
)

__all__ = ["Debounce", "Evaluator", "Verdict", "evaluator_for"]


def evaluator_for(
    condition: Condition, point: str | None, device: str | None, states: list[str] | None = None
) -> Evaluator:
    """The evaluator of ``condition`` on ``point`` (or the device's comm point, or the k_of_n points)."""
    if isinstance(condition, ThresholdCondition):
        assert point is not None
        return ThresholdEvaluator(condition, point)
    if isinstance(condition, StateCondition):
        assert point is not None
        return StateEvaluator(condition, point, states)
    if isinstance(condition, RateCondition):
        assert point is not None
        return RateEvaluator(condition, point)
    if isinstance(condition, StaleCondition):
        assert point is not None
        return StaleEvaluator(condition, point)
    if isinstance(condition, CommLossCondition):
        assert device is not None
        return CommLossEvaluator(condition, f"{device}.comm_lost")
    if isinstance(condition, KOfNCondition):
        return KOfNEvaluator(condition)
    raise TypeError(f"no evaluator for condition type {type(condition).__name__}")
