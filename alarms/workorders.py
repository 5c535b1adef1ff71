"""WorkOrderService: work orders from alarms, rounds or by hand; role rules per action, due times, escalation, audit.

Who may do what beyond the access table (api/access.py): a maintenance user acts only on orders assigned to them
or to nobody (taking one makes it theirs); admins and facility staff dispatch (assign, close, reopen) and may act
on any order. Every action, refused or done, is one audit row (``workorder.<action>``), like a device command.
An order is due ``workorders.due_minutes[priority]`` after it is opened; the escalation task (``run_escalation``)
marks overdue orders escalated once, as the system, audits it, and pages the supervising roles
(``workorders.escalate_to``, facility by default) through the ``pager`` (alarms.pager: stored, then told on /ws like
an alarm's page): a person hears of it. Every change (created, each action, photo, escalated) is told to ``notices``
(the /ws frames).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Protocol

from alarms.pager import Pager
from store.audit import Actor, AuditLog
from store.text import storable
from store.workorders import (
    ACTIVE,
    MAX_NOTE,
    TRANSITIONS,
    NewWorkOrder,
    Photo,
    WorkOrder,
    WorkOrderConflict,
    WorkOrderError,
    WorkOrderFilter,
    WorkOrderNotFound,
    WorkOrderRepository,
)
from twin.clock import Clock
from twin.site.model import SiteConfig

log = logging.getLogger(__name__)

DISPATCHERS = frozenset({"admin", "facility"})  # assign, close and reopen any order; act on any order
WORKERS = frozenset({"admin", "facility", "maintenance"})  # acknowledge, start, resolve, add photos
DISPATCH_ACTIONS = frozenset({"assign", "close", "reopen"})
PHOTO_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n", "image/webp": b"RIFF"}


class WorkOrderForbidden(WorkOrderError):
    """The caller's role, or whose order it is, does not allow the action."""


class LinksAlarms(Protocol):
    """Something that records an alarm's work order (the alarm engine, or its repository)."""

    async def set_work_order(self, alarm_id: int, work_order: int | None, at: float) -> None: ...


class WorkOrderNotices(Protocol):
    """Who hears of work-order changes once they are stored (api.followup.LiveNotices: /ws frames)."""

    def order_changed(self, kind: str, order: WorkOrder) -> None: ...


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int


class WorkOrderService:
    """create / act / photo with role rules and audit; escalation; the alarm link (see the module docstring)."""

    def __init__(
        self,
        site: SiteConfig,
        repository: WorkOrderRepository,
        audit: AuditLog,
        clock: Clock,
        alarms: LinksAlarms | None = None,
        pager: Pager | None = None,
        notices: WorkOrderNotices | None = None,
    ) -> None:
        self.site = site
        self.repository = repository
        self.audit = audit
        self.clock = clock
        self.alarms = alarms
        self.pager = pager
        self.notices = notices
        self.photo_limits = PhotoLimits(site.workorders.photo_max_bytes)
        # Until a round has paged without failing, escalation also pages overdue orders that have no page yet (a
        # crash, or a store error, between marking an order escalated and paging for it).
        self._pages_checked = False

    def due_at(self, priority: str, start: float | None = None) -> float:
        minutes = self.site.workorders.due_minutes.get(priority, 1440.0)  # type: ignore[call-overload]
        return (start if start is not None else self.clock.time()) + float(minutes) * 60.0

    async def create(self, actor: Actor, new: NewWorkOrder) -> tuple[WorkOrder, bool]:
        """Open a work order (due by its priority unless ``new.due_at`` is set); audited when created."""
        if actor.role is not None and actor.role not in ("admin", "facility", "security", "maintenance"):
            raise await self._refuse(actor, "create", None, "forbidden_role",
                                     f"role {actor.role} may not open work orders")  # fmt: skip
        due = new.due_at if new.due_at > 0 else self.due_at(new.priority)
        order, created = await self.repository.create(
            replace(new, due_at=due, created_by=actor.name, role=actor.role, space_guid=self._room_of(new))
        )
        if created:
            await self._audit(actor, "create", order.id, "ok", f"opened: {order.title['en']}",
                              {"source": order.source, "priority": order.priority, "alarm_id": order.alarm_id,
                               "device": order.device, "zone": order.zone, "assignee": order.assignee,
                               "drill": order.drill})  # fmt: skip
            self._notify("created", order)
            if order.alarm_id is not None and self.alarms is not None:
                await self.alarms.set_work_order(order.alarm_id, order.id, self.clock.time())
        return order, created

    def _room_of(self, new: NewWorkOrder) -> str | None:
        """The IfcSpace the order is in: as given, else its zone's, else its device's zone's, so that a room's
        orders (a QR code on its door, ``?room=``) include those on the devices standing in it."""
        if new.space_guid is not None:
            return new.space_guid
        zone_id = new.zone
        if zone_id is None and new.device is not None:
            zone_id = next((device.zone for device in self.site.devices if device.id == new.device), None)
        return next((zone.ifc_guid for zone in self.site.zones if zone.id == zone_id), None)

    async def act(
        self, actor: Actor, order_id: int, action: str, note: str | None = None, assignee: str | None = None
    ) -> WorkOrder:
        """One lifecycle action, role-checked and audited (refusals too)."""
        if action not in TRANSITIONS:
            raise WorkOrderError("unknown_action", f"no work-order action {action!r}: {', '.join(TRANSITIONS)}")
        note = storable(note, MAX_NOTE)
        current = await self.repository.get(order_id)
        if current is None:
            await self._audit(actor, action, order_id, "refused", f"no work order {order_id}")
            raise WorkOrderNotFound(order_id)
        problem = self._forbidden(actor, current, action)
        if problem is not None:
            raise await self._refuse(actor, action, order_id, "forbidden", problem)
        due = self.due_at(current.priority) if action == "reopen" else None
        try:
            order = await self.repository.act(order_id, action, by=actor.name, role=actor.role, note=note,
                                              assignee=assignee, due_at=due)  # fmt: skip
        except WorkOrderError as exc:
            await self._audit(actor, action, order_id, "refused", str(exc))
            raise
        detail = {"assign": f"assigned to {assignee}", "resolve": f"resolved: {note}"}.get(action, action)
        await self._audit(actor, action, order_id, "ok", detail,
                          {"status": order.status, "note": note, "assignee": order.assignee})  # fmt: skip
        self._notify(action, order)
        return order

    def _forbidden(self, actor: Actor, order: WorkOrder, action: str) -> str | None:
        role = actor.role
        if role is None or role in DISPATCHERS:
            return None  # the system, or a dispatcher
        if action in DISPATCH_ACTIONS:
            return f"role {role} may not {action} work orders (admin or facility dispatch them)"
        if action == "comment":
            return None if role != "manager" else "managers read work orders and do not act on them"
        if role not in WORKERS:
            return f"role {role} may not {action} work orders (maintenance does the work)"
        if order.assignee is not None and order.assignee != actor.name:
            return f"work order {order.id} is assigned to {order.assignee}, not to {actor.name}"
        return None

    async def set_photo(self, actor: Actor, order_id: int, content_type: str, data: bytes) -> WorkOrder:
        """Attach the resolution photo: JPEG, PNG or WebP checked by its first bytes, at most photo_max_bytes."""
        current = await self.repository.get(order_id)
        if current is None:
            await self._audit(actor, "photo", order_id, "refused", f"no work order {order_id}")
            raise WorkOrderNotFound(order_id)
        problem = self._forbidden(actor, current, "resolve")
        if problem is None:
            problem = photo_problem(content_type, data, self.photo_limits.max_bytes)
        if problem is not None:
            code = "forbidden" if actor.role not in WORKERS or "assigned to" in problem else "invalid_photo"
            raise await self._refuse(actor, "photo", order_id, code, problem)
        try:
            order = await self.repository.set_photo(order_id, content_type, data, actor.name, actor.role)
        except WorkOrderConflict as exc:
            await self._audit(actor, "photo", order_id, "refused", str(exc))
            raise
        await self._audit(actor, "photo", order_id, "ok", f"{content_type}, {len(data)} bytes")
        self._notify("photo", order)
        return order

    async def photo(self, order_id: int) -> Photo | None:
        return await self.repository.photo(order_id)

    async def get(self, order_id: int) -> WorkOrder | None:
        return await self.repository.get(order_id)

    async def find(self, wanted: WorkOrderFilter) -> list[WorkOrder]:
        return await self.repository.find(wanted)

    async def escalate(self) -> list[WorkOrder]:
        """Mark overdue orders escalated (once each), audited as the system; page the supervising roles."""
        now = self.clock.time()
        escalated = await self.repository.escalate_overdue(now)
        for order in escalated:
            late_min = (self.clock.time() - order.due_at) / 60.0
            log.warning("work order %d (%s) is overdue by %.0f min: escalated", order.id, order.title["en"], late_min)
            await self.audit.append(action="workorder.escalate", actor="system", role=None, client=None,
                                    target=f"workorder:{order.id}", result="ok",
                                    arguments={"due_at": order.due_at, "priority": order.priority,
                                               "assignee": order.assignee, "status": order.status},
                                    detail=f"overdue since {order.due_at:.0f}")  # fmt: skip
            self._notify("escalated", order)
        to_page = list(escalated)
        if not self._pages_checked:
            # A node that stopped between marking an order and paging for it pages now (pages are once per order
            # and role, so an order paged before is not paged again).
            overdue = await self.repository.find(WorkOrderFilter(status=ACTIVE, overdue_at=now, limit=1000))
            known = {order.id for order in escalated}
            to_page += [order for order in overdue if order.escalated and order.id not in known]
        try:
            for order in to_page:
                await self._page_supervisors(order)
        except Exception:
            self._pages_checked = False  # the store failed: the next round looks for unpaged orders again
            raise
        self._pages_checked = True
        return escalated

    async def _page_supervisors(self, order: WorkOrder) -> None:
        """The overdue order's page to each of ``workorders.escalate_to``: stored and told (the pager), audited;
        once per role."""
        if self.pager is None:
            return
        for role in self.site.workorders.escalate_to:
            page, created = await self.pager.page_order(order.id, role, order.title, order.zone, order.drill)
            if not created:
                continue
            log.warning("work order %d is overdue: page %d to %s", order.id, page.id, role)
            await self.audit.append(action="workorder.page", actor="system", role=None, client=None,
                                    target=f"workorder:{order.id}", result="ok",
                                    arguments={"page": page.id, "role": role, "due_at": order.due_at,
                                               "assignee": order.assignee, "drill": order.drill},
                                    detail=f"overdue: page {page.id} to {role}")  # fmt: skip

    def _notify(self, kind: str, order: WorkOrder) -> None:
        if self.notices is None:
            return
        try:
            self.notices.order_changed(kind, order)
        except Exception:  # a listener's fault never undoes or fails a stored change
            log.exception("work order %d: telling of %s failed", order.id, kind)

    async def run_escalation(self) -> None:
        """The escalation task: look for overdue orders every ``workorders.escalate_every_s``."""
        while True:
            try:
                await self.escalate()
            except Exception:  # the store may be briefly unavailable: try again next round, never die
                log.exception("work-order escalation failed; retrying")
            await self.clock.sleep(self.site.workorders.escalate_every_s)

    async def _audit(
        self, actor: Actor, action: str, order_id: int | None, result: str, detail: str,
        arguments: dict[str, object] | None = None,
    ) -> None:  # fmt: skip
        await self.audit.append(action=f"workorder.{action}", actor=actor.name, role=actor.role, client=actor.client,
                                target=f"workorder:{order_id}" if order_id is not None else "workorder",
                                arguments=arguments, result=result, detail=detail)  # fmt: skip

    async def _refuse(self, actor: Actor, action: str, order_id: int | None, code: str, message: str) -> WorkOrderError:
        await self._audit(actor, action, order_id, "refused", message)
        return WorkOrderForbidden(code, message) if code.startswith("forbidden") else WorkOrderError(code, message)


def photo_problem(content_type: str, data: bytes, max_bytes: int) -> str | None:
    """Why a photo cannot be kept (None: it can): its type, its first bytes, its size."""
    if content_type not in PHOTO_TYPES:
        return f"a photo must be JPEG, PNG or WebP, not {content_type or 'an unnamed type'}"
    if not data:
        return "the photo is empty"
    if len(data) > max_bytes:
        return f"the photo has {len(data)} bytes; at most {max_bytes} are kept"
    magic = PHOTO_TYPES[content_type]
    if not data.startswith(magic) or (content_type == "image/webp" and data[8:12] != b"WEBP"):
        return f"the file is not a {content_type.split('/')[1].upper()} image (its first bytes do not match)"
    return None
