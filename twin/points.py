"""Point values as they travel through the system: Quality, Reading (from a driver) and PointUpdate (on the bus)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, NamedTuple

Value = float | int | bool | str | None


class Quality(StrEnum):
    """How far a value can be trusted (OPC-UA style, reduced to the four states operators act on)."""

    GOOD = "GOOD"
    STALE = "STALE"  # last good value, older than the point's stale_after_s
    BAD = "BAD"  # the device answered, but the value is unusable (exception, NaN, out of range, bad payload)
    UNAVAILABLE = "UNAVAILABLE"  # the device cannot be reached


# PointUpdate is a frozen dataclass with its own __init__: the generated one of a frozen class calls
# object.__setattr__ per field (it has to get past the class's own __setattr__, which refuses), ~0.7 us for six
# fields; setting the slots through their descriptors directly is ~0.4 us. Every changed value becomes one.
Setter = Callable[[Any, Any], None]


def _slot_setters(cls: type, *names: str) -> tuple[Setter, ...]:
    return tuple(cls.__dict__[name].__set__ for name in names)


class Reading(NamedTuple):
    """One value a driver read or received, stamped with the time the device (or driver) saw it.

    A named tuple rather than a frozen dataclass because every value of every poll becomes one: a driver's hot
    path builds them from C with ``new_readings`` (no Python frame per value, ~0.1 us against ~0.5 us)."""

    point_id: str
    value: Value
    quality: Quality
    source_ts: float
    reason: str | None = None  # why the value is not GOOD, short and for people; None when GOOD

    @staticmethod
    def bad(
        point_id: str, source_ts: float, quality: Quality = Quality.BAD, reason: str | None = None
    ) -> Reading:
        """A reading that carries no usable value (``reason`` says why)."""
        return Reading(point_id, None, quality, source_ts, reason)


def new_readings(fields: Iterable[tuple[str, Value, Quality, float, str | None]]) -> Iterator[Reading]:
    """Readings from whole field tuples, each built by tuple.__new__ in C (``map(Reading, ...)`` would run the
    named tuple's Python __new__ once per value)."""
    return map(_reading_from_fields, fields)


_reading_from_fields: Callable[[tuple[str, Value, Quality, float, str | None]], Reading] = partial(
    tuple.__new__, Reading
)


@dataclass(frozen=True, slots=True, init=False)
class PointUpdate:
    """A reading as published on the PointBus: ``ts`` is when the gateway stamped it."""

    point_id: str
    value: Value
    quality: Quality
    source_ts: float
    ts: float
    reason: str | None = None  # why the value is not GOOD (see Reading.reason)

    def __init__(
        self, point_id: str, value: Value, quality: Quality, source_ts: float, ts: float, reason: str | None = None
    ) -> None:
        _u_point_id(self, point_id)
        _u_value(self, value)
        _u_quality(self, quality)
        _u_source_ts(self, source_ts)
        _u_ts(self, ts)
        _u_reason(self, reason)

    @staticmethod
    def from_reading(reading: Reading, ts: float) -> PointUpdate:
        return PointUpdate(reading.point_id, reading.value, reading.quality, reading.source_ts, ts, reading.reason)

    def to_json(self) -> dict[str, object]:
        """The compact wire form used on /ws and MQTT: {"id", "v", "q", "ts", "sts"} plus "r" when a reason is set."""
        value = self.value
        if isinstance(value, float) and not math.isfinite(value):
            value = None  # JSON has no NaN; such a value never has quality GOOD anyway
        out: dict[str, object] = {
            "id": self.point_id,
            "v": value,
            "q": self.quality.value,
            "ts": self.ts,
            "sts": self.source_ts,
        }
        if self.reason is not None:
            out["r"] = self.reason
        return out


_u_point_id, _u_value, _u_quality, _u_source_ts, _u_ts, _u_reason = _slot_setters(
    PointUpdate, "point_id", "value", "quality", "source_ts", "ts", "reason"
)
