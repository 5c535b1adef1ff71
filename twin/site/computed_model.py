"""site.yaml models of computed points: values HallTwin derives itself (queue analytics, crowd density), not polled.

A device with ``connection: {type: computed, source: ...}`` is a virtual device whose points are published on the
PointBus by the named service; they are points like any other (history, /ws, MQTT bridge, alarm rules), only no
driver reads them. The measures a point may name depend on the source (checked against the ``queues:`` section).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from twin.site.base_model import ID_PATTERN, Strict

ComputedSource = Literal["queues", "crowding"]
# Per service (ref: a service id): people waiting, waits (minutes), service time, today's tickets, the forecast.
SERVICE_MEASURES = (
    "waiting", "wait_p50", "wait_p90", "longest_wait", "service_p50", "issued_today", "served_today",
    "forecast_arrivals", "forecast_wait",
)  # fmt: skip
# Per window group (ref: a group id): windows open now, windows the forecast needs to keep waits under target.
GROUP_MEASURES = ("windows_open", "windows_needed", "waiting")
# Per zone (ref: a zone id): estimated people and people per square metre; without ref: the whole hall.
CROWD_MEASURES = ("people", "density")
ComputedMeasure = Literal[
    "waiting", "wait_p50", "wait_p90", "longest_wait", "service_p50", "issued_today", "served_today",
    "forecast_arrivals", "forecast_wait", "windows_open", "windows_needed", "people", "density", "satisfaction",
]  # fmt: skip



class ComputedConnection(Strict):
    """A virtual device whose points a HallTwin service computes (no driver, no polling)."""

    type: Literal["computed"]
    source: ComputedSource = Field(description="queues: the queue analytics; crowding: the occupancy fusion")


class ComputedAddress(Strict):
    """Which figure of the source a point carries, and of what (a service, window group or zone id)."""

    type: Literal["computed"]
    measure: ComputedMeasure
    ref: Annotated[str, Field(pattern=ID_PATTERN, max_length=96)] | None = Field(
        default=None, description="Service id, window-group id or zone id the measure is of"
    )
