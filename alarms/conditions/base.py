"""What every condition evaluator offers the engine: the points it watches and a verdict per update or tick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from twin.points import PointUpdate, Quality, Value


@dataclass(frozen=True, slots=True)
class Verdict:
    """The condition now (before on/off delays) and the value to show with the alarm."""

    active: bool
    value: Any


class Evaluator(Protocol):
    points: tuple[str, ...]
    time_based: bool  # True: tick() must be called on a timer (stale by age, rate of change)

    def update(self, update: PointUpdate, now: float) -> Verdict | None:
        """The verdict after this update; None: no opinion (the value cannot be trusted: keep the last one)."""
        ...

    def tick(self, now: float) -> Verdict | None: ...


def usable(update: PointUpdate) -> bool:
    """A value a condition may judge: GOOD. STALE, BAD and UNAVAILABLE are judged by stale and comm-loss rules."""
    return update.quality is Quality.GOOD and update.value is not None


_TRUE_TEXT = frozenset({"true", "active", "on", "1"})
_FALSE_TEXT = frozenset({"false", "inactive", "off", "0"})


def matches(value: Value, expected: bool | int | str, states: list[str] | None) -> bool:
    """``value`` equals ``expected``: booleans across protocol spellings (BACnet active/inactive, 0/1),
    multistate values by number or by the point's state name."""
    if isinstance(expected, bool):
        if isinstance(value, bool):
            return value is expected
        if isinstance(value, int | float):
            return (value != 0) is expected
        if isinstance(value, str):
            text = value.strip().lower()
            return (text in _TRUE_TEXT) if expected else (text in _FALSE_TEXT)
        return False
    if isinstance(expected, str) and states is not None and expected in states:
        expected = states.index(expected) + 1  # multistate values are 1..n
    if isinstance(expected, int) and isinstance(value, int | float) and not isinstance(value, bool):
        return value == expected
    return str(value) == str(expected)


class NoTick:
    """Mix-in for evaluators that judge updates only."""

    time_based = False

    def tick(self, now: float) -> Verdict | None:
        return None
