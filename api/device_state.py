"""A device's state as the pages show it: the worst of its active alarms and of its points' qualities.

The same rule as the viewer's web_viewer/src/live.js (``deviceState``): an alarm of the engine on the device or on
any of its points that marks the building (active or latched, not shelved, suppressed or out of service) makes it
"alarm"; otherwise the worst point quality (stale < bad < unavailable; a true ``comm_lost`` point is unavailable).
A fire panel whose fire zone is on fire therefore reads "alarm", whatever element the zone's point is bound to."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from store import Alarm
from twin.points import PointUpdate, Quality
from twin.site.model import Device

DeviceStateName = Literal["unknown", "normal", "stale", "bad", "unavailable", "alarm"]
# From harmless to worst, as web_viewer/src/live.js STATES.
STATES: tuple[DeviceStateName, ...] = ("unknown", "normal", "stale", "bad", "unavailable", "alarm")
_QUALITY_STATES: dict[Quality, DeviceStateName] = {
    Quality.GOOD: "normal", Quality.STALE: "stale", Quality.BAD: "bad", Quality.UNAVAILABLE: "unavailable",
}  # fmt: skip


@dataclass(frozen=True)
class DeviceState:
    state: DeviceStateName
    reason: str | None  # the alarm or point that decides it; None when normal


def marks_building(alarm: Alarm, now: float) -> bool:
    """The alarm's condition holds (a latched one until reset) and nobody or no design rule has set it aside."""
    shelved = alarm.shelved_until is not None and alarm.shelved_until > now
    return (
        alarm.state != "normal"
        and (alarm.active or alarm.latched)
        and not shelved
        and not alarm.out_of_service
        and not alarm.suppressed
    )


def point_state(point_id: str, update: PointUpdate | None) -> DeviceStateName:
    if update is None:
        return "unknown"
    usable = update.quality in (Quality.GOOD, Quality.STALE)
    if usable and update.value is True and point_id.endswith(".comm_lost"):
        return "unavailable"
    return _QUALITY_STATES.get(update.quality, "bad")


def device_state(
    device: Device, latest: Mapping[str, PointUpdate], alarms: Iterable[Alarm], now: float | None = None
) -> DeviceState:
    """The worst state of the device's alarms and points, with the alarm or point that decides it."""
    moment = time.time() if now is None else now
    point_ids = {point.id for point in device.points} | {device.comm_point_id}
    for alarm in sorted(alarms, key=lambda a: a.id):
        if (alarm.device == device.id or alarm.point in point_ids) and marks_building(alarm, moment):
            return DeviceState("alarm", f"alarm #{alarm.id}: {alarm.title.get('en', alarm.rule)}")
    worst: DeviceStateName = "unknown"
    reason: str | None = None
    for point_id in sorted(point_ids):
        state = point_state(point_id, latest.get(point_id))
        if STATES.index(state) > STATES.index(worst):
            worst, reason = state, f"{point_id}: {state}"
    return DeviceState(worst, None if worst == "normal" else reason)


__all__ = ["STATES", "DeviceState", "DeviceStateName", "device_state", "marks_building", "point_state"]
