"""Point values as they travel through the system: Quality, Reading (from a driver) and PointUpdate (on the bus)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

Value = float | int | bool | str | None


class Quality(StrEnum):
    """How far a value can be trusted (OPC-UA style, reduced to the four states operators act on)."""

    GOOD = "GOOD"
    STALE = "STALE"  # last good value, older than the point's stale_after_s
    BAD = "BAD"  # the device answered, but the value is unusable (exception, NaN, out of range, bad payload)
    UNAVAILABLE = "UNAVAILABLE"  # the device cannot be reached


@dataclass(frozen=True, slots=True)
class Reading:
    """One value a driver read or received, stamped with the time the device (or driver) saw it."""

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


@dataclass(frozen=True, slots=True)
class PointUpdate:
    """A reading as published on the PointBus: ``ts`` is when the gateway stamped it."""

    point_id: str
    value: Value
    quality: Quality
    source_ts: float
    ts: float
    reason: str | None = None  # why the value is not GOOD (see Reading.reason)

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
