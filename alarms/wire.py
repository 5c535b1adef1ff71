"""The public JSON of an alarm (GET /api/alarms, /ws "alarm" frames, MQTT halltwin/{site}/alarm/{id})."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from store.alarms import Alarm, AlarmEventRecord


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alarm_json(alarm: Alarm) -> dict[str, Any]:
    return {
        "id": alarm.id, "rule": alarm.rule, "alarm_class": alarm.alarm_class, "priority": alarm.priority,
        "state": alarm.state, "active": alarm.active, "latched": alarm.latched,
        "shelved_until": iso(alarm.shelved_until), "shelved_by": alarm.shelved_by,
        "shelve_reason": alarm.shelve_reason, "shelve_one_shot": alarm.shelve_one_shot,
        "suppressed": alarm.suppressed, "out_of_service": alarm.out_of_service, "oos_reason": alarm.oos_reason,
        "chattering": alarm.chattering, "drill": alarm.drill, "device": alarm.device, "point": alarm.point,
        "zone": alarm.zone, "ifc_guid": alarm.ifc_guid, "space_guids": list(alarm.space_guids),
        "title": dict(alarm.title), "message": dict(alarm.message), "value": alarm.value,
        "raised_at": iso(alarm.raised_at), "acked_at": iso(alarm.acked_at), "acked_by": alarm.acked_by,
        "cleared_at": iso(alarm.cleared_at), "reset_at": iso(alarm.reset_at), "reset_by": alarm.reset_by,
        "camera": alarm.camera, "plan": alarm.plan, "work_order": alarm.work_order, "comments": alarm.comments,
        "revision": alarm.revision,
    }  # fmt: skip


def event_json(event: AlarmEventRecord) -> dict[str, Any]:
    return {"at": iso(event.at), "kind": event.kind, "by": event.by, "role": event.role, "reason": event.reason,
            "value": event.value}  # fmt: skip
