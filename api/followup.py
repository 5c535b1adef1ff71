"""The alarm follow-up of a running hall: linkage, work orders, plans, drills, rounds and pages, wired to the
runtime's store, CommandRouter, DoorService and alarm engine, with their background tasks owned by the runtime."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alarms.drills import DrillService, ScenarioRunner
from alarms.linkage import LinkageService
from alarms.linkage_bus import LinkageBus
from alarms.pager import Pager
from alarms.plans import PlanService
from alarms.rounds import RoundService
from alarms.workorders import WorkOrderService
from api.access import access_for
from store.alarms import AlarmRepository
from store.linkage_log import LinkageLog, Page, PageRepository
from store.plans import DrillRepository, PlanStepRepository
from store.rounds import RoundRepository
from store.users import Role
from store.workorders import WorkOrder, WorkOrderRepository

if TYPE_CHECKING:
    from alarms.engine import AlarmEngine
    from api.runtime import HallRuntime

log = logging.getLogger(__name__)


class EngineAlarmLink:
    """Records an alarm's work order in the engine's own copy (so its next transition keeps it) and in the store,
    as an ``updated`` transition: /ws and MQTT show the link like any other change."""

    def __init__(self, runtime: HallRuntime, repository: AlarmRepository) -> None:
        self.runtime = runtime
        self.repository = repository

    async def set_work_order(self, alarm_id: int, work_order: int | None, at: float) -> None:
        engine: AlarmEngine | None = getattr(self.runtime, "alarms", None)
        if engine is not None and await engine.set_work_order(alarm_id, work_order, at):
            return
        await self.repository.set_work_order(alarm_id, work_order, at)  # closed already, or no engine: the row


def page_json(page: Page) -> dict[str, Any]:
    """A page as /api/pages and the /ws ``page`` frame show it."""
    return {"id": page.id, "alarm_id": page.alarm_id, "work_order_id": page.work_order_id, "role": page.role,
            "title": page.title, "zone": page.zone, "camera": page.camera, "created_at": page.created_at,
            "acked_at": page.acked_at, "acked_by": page.acked_by, "drill": page.drill}  # fmt: skip


def workorder_frame(kind: str, order: WorkOrder) -> dict[str, Any]:
    """The /ws frame of a work-order change: enough for a list to update, or to decide to fetch the order."""
    return {"type": "workorder", "event": kind, "id": order.id, "status": order.status, "assignee": order.assignee,
            "priority": order.priority, "due_at": order.due_at, "escalated": order.escalated, "device": order.device,
            "ifc_guid": order.ifc_guid, "room": order.space_guid, "zone": order.zone, "title": order.title,
            "source": order.source, "drill": order.drill}  # fmt: skip


def readers_of(method: str, path: str) -> frozenset[Role] | None:
    """The roles the access table lets call ``method path`` (None: everyone), so /ws sends a frame to exactly
    those who could read the same thing over HTTP."""
    access = access_for(method, path)
    if access is None:
        return frozenset()  # a route missing from the table is refused to all; so is its frame
    return access if isinstance(access, frozenset) else None


class LiveNotices:
    """Work-order changes and pages as /ws frames: a ``workorder`` frame to the roles that may read work orders,
    a ``page`` frame to the paged role (and admins, who see every page, as GET /api/pages shows them) for every
    page the Pager makes or first acknowledges, whether about an alarm or a work order."""

    def __init__(self, runtime: HallRuntime) -> None:
        self.runtime = runtime  # its ``live`` fan-out is made anew at every start: looked up at each frame
        self.order_readers = readers_of("GET", "/api/workorders")

    def order_changed(self, kind: str, order: WorkOrder) -> None:
        self.runtime.live.broadcast(workorder_frame(kind, order), self.order_readers)

    def paged(self, page: Page) -> None:
        roles = {Role.ADMIN} | ({Role(page.role)} if page.role in Role._value2member_map_ else set())
        self.runtime.live.broadcast({"type": "page", "page": page_json(page)}, roles)


@dataclass
class Followup:
    """Every follow-up service of one runtime (see the module docstring)."""

    workorders: WorkOrderService
    plans: PlanService
    drills: DrillService
    rounds: RoundService
    linkage: LinkageService
    pages: PageRepository  # reads; every page is made and acknowledged through ``pager``
    pager: Pager
    actions: LinkageLog
    bus: LinkageBus
    alarm_repository: AlarmRepository

    @classmethod
    def build(cls, runtime: HallRuntime, scenarios: ScenarioRunner | None = None) -> Followup:
        store, clock, site = runtime.store, runtime.clock, runtime.site
        engine, now = store.engine, store.clock
        alarm_repository = AlarmRepository(engine)
        orders = WorkOrderRepository(engine, now)
        actions, pages, bus = LinkageLog(engine, now), PageRepository(engine, now), LinkageBus()
        live = LiveNotices(runtime)
        pager = Pager(pages, live)  # both kinds of page: the linkage's (alarms) and the escalation's (work orders)
        workorders = WorkOrderService(site, orders, store.audit, clock, EngineAlarmLink(runtime, alarm_repository),
                                      pager, live)  # fmt: skip
        plans = PlanService(site, PlanStepRepository(engine, now), alarm_repository, store.audit)
        drills = DrillService(DrillRepository(engine, now), alarm_repository, plans, actions, orders, store.audit,
                              clock, scenarios)  # fmt: skip
        rounds = RoundService(site, RoundRepository(engine, now), workorders, store.audit, clock)
        linkage = LinkageService(site, runtime.doors, workorders, actions, pager, bus, store.audit, clock,
                                 runtime.spawn)  # fmt: skip
        return cls(workorders, plans, drills, rounds, linkage, pages, pager, actions, bus, alarm_repository)

    async def start(self, runtime: HallRuntime) -> None:
        """Subscribe the linkage to the engine, catch up on open alarms, start escalation and rounds."""
        await self.drills.load()
        engine: Any = getattr(runtime, "alarms", None)
        if engine is not None:
            engine.drill = self.drills.running
            self.drills.on_change = lambda running: setattr(engine, "drill", running)
            engine.subscribe(self.linkage.on_event, name="alarm-linkage")
            await self.linkage.recover(await self.alarm_repository.load_open())
        else:
            log.warning("no alarm engine: work orders and rounds run, alarm linkage does not")
        runtime.spawn("workorder-escalation", self.workorders.run_escalation())
        if runtime.site.rounds:
            runtime.spawn("inspection-rounds", self.rounds.run())
