"""LinkageService: what the hall does when an alarm is raised or clears (GB 50116 4.10, GB 50394 5.2.3).

It subscribes to the alarm engine (``engine.subscribe``) and handles each alarm in order on one task:

- fire (``linkage.fire_classes``) live (active, or latched and not yet reset): the access-controlled doors on the
  evacuation routes of the alarm's zones are released through the DoorService / CommandRouter as the system
  (``door.release``: no deadline, never re-locked automatically while any fire is live); the cameras of those
  zones and the alarm's nearest camera are surfaced; the broadcast system is asked to evacuate
  (``EvacuationRequested`` on the LinkageBus). When the last fire is over (inactive, and reset if latched), the
  released doors are locked again and ``EvacuationEnded`` is published.
- ``linkage.page_classes`` (emergency buttons, fire): a page to ``linkage.page_roles`` with the room and camera,
  through the Pager (alarms.pager: stored once per alarm and role, then sent on /ws to the paged role).
- ``linkage.work_order_classes``: a work order, linked to the alarm's device, element, room and zone.

Every action is a row of the linkage log (shown with the alarm, and in a drill's report) and an audit row. What was
done is read back from the log, so an alarm handled again (after a restart: ``recover``) adds nothing twice, and
a door whose release failed is retried with backoff while the fire lasts. An alarm raised during a drill carries
``drill`` and so does everything done for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any, Protocol

from alarms.linkage_bus import EvacuationEnded, EvacuationRequested, LinkageBus
from alarms.pager import Pager
from alarms.workorders import WorkOrderService
from api.doors import DoorService
from store.audit import SYSTEM, AuditLog
from store.linkage_log import LinkageLog
from store.workorders import NewWorkOrder
from twin.backoff import RetryDelay
from twin.clock import Clock
from twin.site.model import DeviceKind, SiteConfig

log = logging.getLogger(__name__)
Spawn = Callable[[str, Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
RELEASE_RETRY_FIRST_S, RELEASE_RETRY_MAX_S = 2.0, 30.0


class AlarmView(Protocol):
    """The alarm fields the linkage reads (store.alarms.Alarm has them)."""

    id: int
    alarm_class: str
    priority: str
    state: str
    active: bool
    latched: bool
    drill: bool
    device: str | None
    point: str | None
    zone: str | None
    ifc_guid: str | None
    space_guids: list[str]
    title: dict[str, str]
    camera: str | None


class AlarmEventView(Protocol):
    @property
    def alarm(self) -> Any: ...


class LinkageService:
    """Reacts to alarm events (see the module docstring); ``on_event`` is the engine's subscriber."""

    def __init__(
        self,
        site: SiteConfig,
        doors: DoorService | None,
        workorders: WorkOrderService,
        actions: LinkageLog,
        pager: Pager,
        bus: LinkageBus,
        audit: AuditLog,
        clock: Clock,
        spawn: Spawn,
    ) -> None:
        self.site = site
        self.doors = doors
        self.workorders = workorders
        self.actions = actions
        self.pager = pager
        self.bus = bus
        self.audit = audit
        self.clock = clock
        self.spawn = spawn
        self.settings = site.linkage
        self.fires: dict[int, AlarmView] = {}  # active fire alarms by id
        self.released: dict[str, int] = {}  # door id -> the fire alarm whose linkage released it
        self._zone_of_space = {zone.ifc_guid: zone.id for zone in site.zones}
        self._retrying: set[str] = set()
        self.handled = 0  # alarms processed (tests and the bench wait on it)

    # --- intake --------------------------------------------------------------------------------------------

    async def on_event(self, event: AlarmEventView) -> None:
        """The engine's subscriber (the engine calls it on its own task, one event at a time, in order)."""
        try:
            await self.handle(event.alarm)
        finally:
            self.handled += 1

    async def recover(self, open_alarms: Iterable[AlarmView]) -> None:
        """After a start: bring the linkage of the alarms still open up to date (nothing is done twice)."""
        for alarm in open_alarms:
            await self.handle(alarm)

    # --- one alarm -----------------------------------------------------------------------------------------

    async def handle(self, alarm: AlarmView) -> None:
        records = await self.actions.for_alarm(alarm.id)
        done = {(a.kind, a.target) for a in records if a.status == "done"}
        cls = alarm.alarm_class
        # A latched alarm (a confirmed fire, an emergency button) lasts until it is reset, not until its input drops.
        live = alarm.active or (alarm.latched and alarm.state != "normal")
        if live:
            if cls in self.settings.fire_classes:
                self.fires[alarm.id] = alarm
                await self._fire(alarm, done)
            if cls in self.settings.page_classes:
                await self._page(alarm, done)
            if cls in self.settings.work_order_classes and ("work_order", None) not in done:
                await self._work_order(alarm)
        elif alarm.id in self.fires:
            del self.fires[alarm.id]
            if not self.fires:
                await self._fire_over(alarm)
        elif cls in self.settings.fire_classes and not self.fires:
            # A fire that cleared while the node was down: its released doors are still to be locked again.
            relocked = {a.target for a in records if a.kind == "door_relocked" and a.status == "reverted"}
            left = [door for kind, door in done if kind == "doors_released" and door and door not in relocked]
            if left:
                self.released.update(dict.fromkeys(left, alarm.id))
                await self._fire_over(alarm)

    def zones_of(self, alarm: AlarmView) -> list[str]:
        """The site zones an alarm concerns: its own zone, and the zones of its spaces (a fire zone's IfcZone)."""
        zones = [alarm.zone] if alarm.zone else []
        zones += [self._zone_of_space[g] for g in alarm.space_guids if g in self._zone_of_space]
        return list(dict.fromkeys(zones))

    def evacuation_doors(self, zones: Sequence[str]) -> list[str]:
        """The doors on the evacuation routes of ``zones`` (linkage.evacuation); for zones no route names, the
        doors of the zone itself and of the zones that share a PA zone with it (its floor or area)."""
        wanted = set(zones)
        doors: list[str] = []
        routed: set[str] = set()
        for route in self.settings.evacuation:
            if wanted & set(route.zones):
                doors += route.doors
                routed |= set(route.zones)
        rest = wanted - routed
        if rest:
            near = set(rest)
            for pa in self.site.pa_zones:
                if rest & set(pa.zones):
                    near |= set(pa.zones)
            doors += [door.id for door in self.site.doors if door.zone in near]
        return list(dict.fromkeys(doors))

    def cameras_of(self, alarm: AlarmView, zones: Sequence[str]) -> list[str]:
        cameras = [alarm.camera] if alarm.camera else []
        cameras += [d.id for d in self.site.devices if d.kind == DeviceKind.CAMERA and d.zone in zones]
        return list(dict.fromkeys(cameras))

    # --- fire ----------------------------------------------------------------------------------------------

    async def _fire(self, alarm: AlarmView, done: set[tuple[str, str | None]]) -> None:
        zones = self.zones_of(alarm)
        for door_id in self.evacuation_doors(zones):
            if ("doors_released", door_id) not in done and door_id not in self.released:
                await self._release(alarm, door_id)
            self.released.setdefault(door_id, alarm.id)
        cameras = self.cameras_of(alarm, zones)
        if cameras and ("cameras", ",".join(cameras)) not in done:
            await self._record(alarm, "cameras", ",".join(cameras), "done",
                               f"cameras of {', '.join(zones) or 'the alarm'} shown at the security desk")  # fmt: skip
        if ("evacuation_requested", None) not in done:
            pa_zones = tuple(pa.id for pa in self.site.pa_zones)
            request = EvacuationRequested(alarm.id, tuple(zones), pa_zones, alarm.drill, self.clock.time())
            taken = await self.bus.publish(request)
            detail = f"evacuation of {', '.join(zones) or 'the building'} asked; {taken} broadcast service(s) took it"
            await self._record(alarm, "evacuation_requested", None, "done", detail,
                               {"zones": list(zones), "pa_zones": list(pa_zones), "subscribers": taken})  # fmt: skip

    async def _release(self, alarm: AlarmView, door_id: str) -> None:
        if self.doors is None:
            await self._record(alarm, "doors_released", door_id, "skipped", "no door service (devices not polled)")
            return
        reason = f"fire linkage: alarm {alarm.id} ({alarm.title.get('en', '')})"
        result = await self.doors.release(SYSTEM, door_id, reason)
        status = "done" if result.ok else "failed"
        await self.actions.record(alarm.id, "doors_released", door_id, status, result.message, drill=alarm.drill,
                                  audit_id=result.audit_id)  # fmt: skip
        if not result.ok and door_id not in self._retrying:
            log.error("fire linkage: door %s not released (%s); retrying while the fire lasts", door_id, result.message)
            self._retrying.add(door_id)
            self.spawn(f"linkage-release:{door_id}", self._retry_release(alarm, door_id))

    async def _retry_release(self, alarm: AlarmView, door_id: str) -> None:
        retry = RetryDelay(RELEASE_RETRY_FIRST_S, RELEASE_RETRY_MAX_S)
        try:
            while self.fires and self.doors is not None:
                await self.clock.sleep(retry.next())
                if not self.fires:
                    break
                result = await self.doors.release(SYSTEM, door_id, f"fire linkage retry: alarm {alarm.id}")
                if result.ok:
                    await self.actions.record(alarm.id, "doors_released", door_id, "done", result.message,
                                              drill=alarm.drill, audit_id=result.audit_id)  # fmt: skip
                    break
        finally:
            self._retrying.discard(door_id)

    async def _fire_over(self, last: AlarmView) -> None:
        """No fire is active any more: lock what the linkage released, end the evacuation request."""
        released, self.released = self.released, {}
        for door_id, alarm_id in released.items():
            if self.doors is None:
                continue
            result = await self.doors.lock(SYSTEM, door_id, f"fire linkage revert: no fire active (alarm {alarm_id})")
            await self.actions.record(alarm_id, "door_relocked", door_id, "reverted" if result.ok else "failed",
                                      result.message, drill=last.drill, audit_id=result.audit_id)  # fmt: skip
        await self.bus.publish(EvacuationEnded(last.id, self.clock.time()))
        await self._record(last, "evacuation_ended", None, "reverted", "no fire active: evacuation request ended")

    # --- pages and work orders -----------------------------------------------------------------------------

    async def _page(self, alarm: AlarmView, done: set[tuple[str, str | None]]) -> None:
        for role in self.settings.page_roles:
            if ("page", role) in done:
                continue
            page, created = await self.pager.page_alarm(alarm.id, role, alarm.title, alarm.zone, alarm.camera,
                                                        alarm.drill)  # fmt: skip
            if created:
                where = f" in {alarm.zone}" if alarm.zone else ""
                camera = f", camera {alarm.camera}" if alarm.camera else ""
                await self._record(alarm, "page", role, "done", f"page {page.id} to {role}{where}{camera}")

    async def _work_order(self, alarm: AlarmView) -> None:
        new = NewWorkOrder(
            title=dict(alarm.title), priority=alarm.priority if alarm.priority else "high", source="alarm",
            due_at=0.0, created_by="system", description=f"alarm {alarm.id}: {alarm.title.get('zh', '')}",
            device=alarm.device, ifc_guid=alarm.ifc_guid,
            space_guid=alarm.space_guids[0] if alarm.space_guids else self._space_of(alarm.zone),
            zone=alarm.zone, alarm_id=alarm.id, drill=alarm.drill,
        )  # fmt: skip
        order, created = await self.workorders.create(SYSTEM, new)
        detail = f"work order {order.id}" + ("" if created else " (existing)")
        await self.actions.record(alarm.id, "work_order", None, "done", detail, drill=alarm.drill)

    def _space_of(self, zone_id: str | None) -> str | None:
        for zone in self.site.zones:
            if zone.id == zone_id:
                return zone.ifc_guid
        return None

    async def _record(
        self, alarm: AlarmView, kind: str, target: str | None, status: str, detail: str,
        arguments: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        entry = await self.audit.append(
            action=f"linkage.{kind}", actor=SYSTEM.name, role=None, client=None, target=f"alarm:{alarm.id}",
            arguments={"target": target, **(arguments or {}), "drill": alarm.drill},
            result="ok" if status in ("done", "reverted") else "failed", detail=detail,
        )
        await self.actions.record(alarm.id, kind, target, status, detail, drill=alarm.drill, audit_id=entry.id)

