"""DrillService: an emergency drill (T/ZAS 4012 8.4.5) and its report.

A drill is a window of time: while one runs, the alarm engine marks the alarms it raises as ``drill`` (it asks
``DrillService.active``), and the linkage marks what it does for them (doors, pages, work orders) the same way.
Started with a demo scenario (``halltwin demo``), the scenario plays the incident on the simulated devices; on a
real site a drill without a scenario covers the test presses and detector tests staff make. The report gives, per
alarm, the seconds from raise to acknowledgement, to each plan step and to each linkage action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from alarms.plans import PlanService
from store.alarms import AlarmFilter, AlarmRepository
from store.audit import Actor, AuditLog
from store.linkage_log import LinkageLog
from store.plans import Drill, DrillRepository
from store.text import storable
from store.workorders import WorkOrderFilter, WorkOrderRepository
from twin.clock import Clock

log = logging.getLogger(__name__)


class DrillError(ValueError):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class ScenarioRunner(Protocol):
    """The simulated hall's scenarios (iot_gateway.simulators.hall.HallSimulator)."""

    def start_scenario(self, name: str, target: str | None = None) -> Any: ...

    def clear_scenario(self, name: str) -> None: ...


@dataclass
class DrillService:
    """start / end / report; ``active`` is the running drill (cached: the engine asks on every raise)."""

    drills: DrillRepository
    alarms: AlarmRepository
    plans: PlanService
    actions: LinkageLog
    orders: WorkOrderRepository
    audit: AuditLog
    clock: Clock
    scenarios: ScenarioRunner | None = None
    active: Drill | None = None
    on_change: Callable[[bool], None] | None = None  # told whether a drill runs (the engine marks new alarms)

    async def load(self) -> None:
        """After a start: a drill left running by a restart goes on."""
        self.active = await self.drills.active()

    @property
    def running(self) -> bool:
        return self.active is not None

    def _set_active(self, drill: Drill | None) -> None:
        self.active = drill
        if self.on_change is not None:
            self.on_change(drill is not None)

    async def start(self, actor: Actor, scenario: str | None, target: str | None, note: str | None) -> Drill:
        scenario, target, note = storable(scenario, 64), storable(target, 96), storable(note, 2000)
        try:
            if self.active is not None:
                raise DrillError("drill_running", 409, f"drill {self.active.id} is running: end it first")
            if scenario is not None:
                if self.scenarios is None:
                    raise DrillError("no_scenarios", 409, "scenarios exist only in `halltwin demo`: start a drill "
                                                          "without one and test the real devices")  # fmt: skip
                # Marked first, so the alarms the scenario raises find the drill running.
                drill = await self.drills.start(scenario, target, note, actor.name)
                self._set_active(drill)
                try:
                    self.scenarios.start_scenario(scenario, target)
                except ValueError as exc:  # ScenarioError: unknown name or target
                    await self.drills.end(drill.id, actor.name)
                    self._set_active(None)
                    raise DrillError("invalid_scenario", 422, str(exc)) from None
            else:
                self._set_active(await self.drills.start(None, target, note, actor.name))
        except DrillError as exc:
            await self._audit(actor, "drill.start", None, "refused", str(exc), scenario, target)
            raise
        assert self.active is not None
        started = self.active
        await self._audit(actor, "drill.start", started.id, "ok",
                          f"drill {started.id} started" + (f": scenario {scenario}" if scenario else ""),
                          scenario, target)  # fmt: skip
        return started

    async def end(self, actor: Actor, drill_id: int) -> Drill:
        drill = await self.drills.get(drill_id)
        if drill is None:
            await self._audit(actor, "drill.end", drill_id, "refused", f"no drill {drill_id}", None, None)
            raise DrillError("unknown_drill", 404, f"no drill {drill_id}")
        if drill.active and drill.scenario and self.scenarios is not None:
            try:
                self.scenarios.clear_scenario(drill.scenario)
            except (KeyError, ValueError):
                pass  # cleared by hand already
        ended = await self.drills.end(drill_id, actor.name)
        assert ended is not None
        if self.active is not None and self.active.id == drill_id:
            self._set_active(None)
        await self._audit(actor, "drill.end", drill_id, "ok", f"drill {drill_id} ended", drill.scenario, drill.target)
        return ended

    async def report(self, drill_id: int) -> dict[str, Any]:
        """Times from each drill alarm's raise to its acknowledgement, to each plan step and linkage action."""
        drill = await self.drills.get(drill_id)
        if drill is None:
            raise DrillError("unknown_drill", 404, f"no drill {drill_id}")
        until = drill.ended_at if drill.ended_at is not None else self.clock.time()
        candidates = await self.alarms.search(AlarmFilter(include_history=True, limit=5_000))
        alarms = sorted((a for a in candidates if a.drill and drill.started_at <= a.raised_at <= until),
                        key=lambda a: a.raised_at)  # fmt: skip
        ids = [a.id for a in alarms]
        actions = await self.actions.for_alarms(ids)
        entries: list[dict[str, Any]] = []
        for alarm in alarms:
            checklist = None
            if self.plans.plan_for(alarm) is not None:
                checklist = (await self.plans.checklist(alarm.id)).to_json()
            orders = await self.orders.find(WorkOrderFilter(alarm_id=alarm.id, limit=1))
            entries.append({
                "alarm_id": alarm.id, "title": alarm.title, "alarm_class": alarm.alarm_class,
                "priority": alarm.priority, "raised_at": alarm.raised_at, "acked_at": alarm.acked_at,
                "acked_by": alarm.acked_by,
                "to_ack_s": round(alarm.acked_at - alarm.raised_at, 3) if alarm.acked_at is not None else None,
                "plan": checklist,
                "actions": [{"kind": a.kind, "target": a.target, "status": a.status, "detail": a.detail,
                             "after_s": round(a.at - alarm.raised_at, 3)} for a in actions if a.alarm_id == alarm.id],
                "work_order": ({"id": orders[0].id, "status": orders[0].status} if orders else None),
            })  # fmt: skip
        acks: list[float] = [e["to_ack_s"] for e in entries if e["to_ack_s"] is not None]
        steps_done = sum(e["plan"]["done"] for e in entries if e["plan"])
        steps_total = sum(e["plan"]["total"] for e in entries if e["plan"])
        return {
            "drill": drill_json(drill),
            "alarms": entries,
            "summary": {
                "alarms": len(entries), "acknowledged": len(acks),
                "mean_to_ack_s": round(sum(acks) / len(acks), 3) if acks else None,
                "max_to_ack_s": max(acks) if acks else None,
                "plan_steps_done": steps_done, "plan_steps_total": steps_total,
                "duration_s": round(until - drill.started_at, 3),
            },
        }  # fmt: skip

    async def _audit(
        self, actor: Actor, action: str, drill_id: int | None, result: str, detail: str, scenario: str | None,
        target: str | None,
    ) -> None:  # fmt: skip
        await self.audit.append(
            action=action, actor=actor.name, role=actor.role, client=actor.client,
            target=f"drill:{drill_id}" if drill_id is not None else "drill",
            arguments={"scenario": scenario, "target": target}, result=result, detail=detail,
        )  # fmt: skip


def drill_json(drill: Drill) -> dict[str, Any]:
    return {"id": drill.id, "scenario": drill.scenario, "target": drill.target, "note": drill.note,
            "started_at": drill.started_at, "started_by": drill.started_by, "ended_at": drill.ended_at,
            "ended_by": drill.ended_by, "active": drill.active}  # fmt: skip
