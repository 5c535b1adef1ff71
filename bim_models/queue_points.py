"""The demo's queue analytics device: computed points per window group (the demo's ticket services share their
group's id), published by monitoring.queues from the queue system's ticket events."""

from __future__ import annotations

from typing import Any

from bim_models.services import WINDOW_GROUPS
from bim_models.site_points import Point, point

EVENTS_TOPIC = "hall/{site}/queue/events"
# (measure, zh, en, brick, unit): per service (ref: the service id) or per window group (ref: the group id).
SERVICE_FIGURES = (
    ("waiting", "等候人数", "people waiting", "Occupancy_Count_Sensor", ""),
    ("wait_p90", "90%等候时间", "90th percentile wait", "Duration_Sensor", "min"),
    ("longest_wait", "最长等候", "longest wait now", "Duration_Sensor", "min"),
    ("forecast_arrivals", "未来1小时预计取号", "tickets expected next hour", "Occupancy_Count_Sensor", ""),
)
GROUP_FIGURES = (
    ("windows_open", "开放窗口数", "windows open", "Status", ""),
    ("windows_needed", "建议开放窗口数", "windows needed", "Status", ""),
)


def _computed(measure: str, ref: str | None) -> dict[str, Any]:
    address: dict[str, Any] = {"type": "computed", "measure": measure}
    if ref is not None:
        address["ref"] = ref
    return address


def queue_analytics_points() -> list[Point]:
    points: list[Point] = []
    for group_id, zh, en, *_ in WINDOW_GROUPS:
        for measure, m_zh, m_en, brick, unit in (*SERVICE_FIGURES, *GROUP_FIGURES):
            points.append(point(f"queue.{group_id}.{measure}", f"{zh}{m_zh}", f"{en}: {m_en}", "analog", brick,
                                _computed(measure, group_id), unit=unit, precision=0 if not unit else 1))
    points.append(point("queue.satisfaction", "今日满意度", "Satisfaction today", "analog", "Status",
                        _computed("satisfaction", None), unit="/5", precision=2))
    return points
