"""/api/bigscreen: the operations overview for the big screen in one answer (people now and today's curve,
entrances, energy today, open alarms by priority, queue figures); the page keeps it live through /ws."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request

from api.errors import error_responses
from monitoring.overview import HallOverview

router = APIRouter(prefix="/api/bigscreen", tags=["bigscreen"])


@router.get("", responses=error_responses(503))
async def overview(request: Request) -> dict[str, Any]:
    runtime = request.app.state.runtime
    if runtime.history is None:
        raise HTTPException(503, detail="no history store is running")
    hall = getattr(request.app.state, "hall_overview", None)
    if hall is None:
        hall = HallOverview(runtime.site, ZoneInfo(runtime.site.site.timezone))
        request.app.state.hall_overview = hall
    figures = await hall.figures(runtime.history, runtime.bus.latest, runtime.clock.time())
    alarms: dict[str, int] = {"critical": 0, "high": 0, "medium": 0, "low": 0}
    unacked = 0
    if runtime.alarms is not None:
        for alarm in runtime.alarms.active():
            if alarm.active or alarm.state in ("unack", "rtn_unack"):
                alarms[alarm.priority] = alarms.get(alarm.priority, 0) + 1
                unacked += alarm.state in ("unack", "rtn_unack")
    queues = runtime.queues.service.snapshot() if runtime.queues is not None else None
    if queues is not None:
        queues = {key: value for key, value in queues.items() if key != "anomalies"}
    return {**figures, "hall": runtime.site.site.name.model_dump(), "alarms": alarms, "alarms_unacked": unacked,
            "queues": queues}  # fmt: skip
