"""Work orders: the lifecycle table, and a repository that moves an order through it with who/when at every step.

Statuses: open -> assigned -> acknowledged -> in_progress -> resolved -> closed (reopen goes back to open). Each
transition is one conditional UPDATE (``WHERE status IN (the statuses it may leave)``) plus its event row in one
transaction, so two people acting at once cannot both move an order: the second gets WorkOrderConflict naming
the status the first left it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from store.followup_schema import work_order_events, work_order_photos, work_orders
from store.text import storable
from store.users import WallClock

STATUSES = ("open", "assigned", "acknowledged", "in_progress", "resolved", "closed")
PRIORITIES = ("critical", "high", "medium", "low")
SOURCES = ("alarm", "round", "manual")
ACTIVE = ("open", "assigned", "acknowledged", "in_progress")  # still to be done: these escalate when overdue


@dataclass(frozen=True)
class Transition:
    """An action on a work order: the statuses it may start from, the status it leaves, whether it needs a note."""

    sources: tuple[str, ...]
    target: str | None  # None: the status stays (a comment)
    needs_note: bool = False


# The lifecycle as one table (tests enumerate it). "acknowledge" and "start" also take an unassigned order for the
# person acting; "assign" may hand an order on until work has started.
TRANSITIONS: dict[str, Transition] = {
    "assign": Transition(("open", "assigned", "acknowledged"), "assigned"),
    "acknowledge": Transition(("open", "assigned"), "acknowledged"),
    "start": Transition(("open", "assigned", "acknowledged"), "in_progress"),
    "resolve": Transition(("in_progress",), "resolved", needs_note=True),
    "close": Transition(("resolved",), "closed"),
    "reopen": Transition(("resolved", "closed"), "open", needs_note=True),
    "comment": Transition(STATUSES, None, needs_note=True),
}
MAX_NOTE = 4_000


class WorkOrderError(ValueError):
    """A work-order request that cannot be done; ``code`` says why for programs, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class WorkOrderNotFound(WorkOrderError):
    def __init__(self, order_id: int) -> None:
        super().__init__("unknown_work_order", f"no work order {order_id}")


class WorkOrderConflict(WorkOrderError):
    """The order is not in a status the action may start from (someone else moved it first, or it is done)."""


@dataclass(frozen=True)
class WorkOrderEvent:
    at: float
    kind: str  # created, the action name (assign, resolve ...), escalated, photo
    status: str  # the status after it
    by: str
    role: str | None
    note: str | None


@dataclass(frozen=True)
class WorkOrder:
    id: int
    title: dict[str, str]
    description: str | None
    status: str
    priority: str
    source: str
    created_at: float
    created_by: str
    updated_at: float
    due_at: float
    escalated: bool
    assignee: str | None
    device: str | None
    ifc_guid: str | None
    space_guid: str | None
    zone: str | None
    alarm_id: int | None
    round_run_id: int | None
    drill: bool
    note: str | None
    photo: bool = False
    events: tuple[WorkOrderEvent, ...] = field(default=())


@dataclass(frozen=True)
class NewWorkOrder:
    """What a work order is created with (its due time comes from the priority, see WorkOrderService)."""

    title: dict[str, str]
    priority: str
    source: str
    due_at: float
    created_by: str
    role: str | None = None
    description: str | None = None
    assignee: str | None = None
    device: str | None = None
    ifc_guid: str | None = None
    space_guid: str | None = None
    zone: str | None = None
    alarm_id: int | None = None
    round_run_id: int | None = None
    drill: bool = False


@dataclass(frozen=True)
class Photo:
    content_type: str
    data: bytes
    uploaded_at: float
    uploaded_by: str


@dataclass(frozen=True)
class WorkOrderFilter:
    status: Sequence[str] = ()
    assignee: str | None = None
    device: str | None = None
    zone: str | None = None
    source: str | None = None
    alarm_id: int | None = None
    ifc_guid: str | None = None  # the element's IFC GlobalId
    # A room: orders placed in one of these IfcSpaces (space_guid), or on the space element itself (ifc_guid).
    spaces: Sequence[str] = ()
    overdue_at: float | None = None  # only orders due before this time and still active
    drill: bool | None = None
    limit: int = 200
    offset: int = 0


def _clean(text: str | None, size: int | None = None) -> str | None:
    return storable(text, size)


def _order(row: Any, events: tuple[WorkOrderEvent, ...] = (), photo: bool = False) -> WorkOrder:
    return WorkOrder(
        id=int(row.id), title={"zh": row.title_zh, "en": row.title_en}, description=row.description,
        status=row.status, priority=row.priority, source=row.source, created_at=row.created_at,
        created_by=row.created_by, updated_at=row.updated_at, due_at=row.due_at, escalated=bool(row.escalated),
        assignee=row.assignee, device=row.device, ifc_guid=row.ifc_guid, space_guid=row.space_guid, zone=row.zone,
        alarm_id=row.alarm_id, round_run_id=row.round_run_id, drill=bool(row.drill), note=row.note,
        photo=photo, events=events,
    )  # fmt: skip


def _event(row: Any) -> WorkOrderEvent:
    return WorkOrderEvent(row.at, row.kind, row.status, row.by, row.role, row.note)


class WorkOrderRepository:
    """create, get, find, act (the TRANSITIONS), escalate_overdue, set_photo / photo."""

    def __init__(self, engine: AsyncEngine, clock: WallClock) -> None:
        self._engine = engine
        self._clock = clock

    async def create(self, new: NewWorkOrder) -> tuple[WorkOrder, bool]:
        """The new order and True; for an alarm that already has one, that order and False (created once)."""
        if new.priority not in PRIORITIES:
            raise WorkOrderError("invalid_priority", f"priority must be one of {', '.join(PRIORITIES)}")
        if new.source not in SOURCES:
            raise WorkOrderError("invalid_source", f"source must be one of {', '.join(SOURCES)}")
        now = self._clock.time()
        status = "assigned" if new.assignee else "open"
        values = {
            "title_zh": _clean(new.title["zh"], 200), "title_en": _clean(new.title["en"], 200),
            "description": _clean(new.description, MAX_NOTE), "status": status, "priority": new.priority,
            "source": new.source, "created_at": now, "created_by": new.created_by, "updated_at": now,
            "due_at": new.due_at, "escalated": False, "assignee": new.assignee, "device": new.device,
            "ifc_guid": new.ifc_guid, "space_guid": new.space_guid, "zone": new.zone, "alarm_id": new.alarm_id,
            "round_run_id": new.round_run_id, "drill": new.drill, "note": None,
        }  # fmt: skip
        try:
            async with self._engine.begin() as conn:
                result = await conn.execute(work_orders.insert().values(**values))
                order_id = int(result.inserted_primary_key[0])  # type: ignore[index]
                note = f"assigned to {new.assignee}" if new.assignee else None
                await conn.execute(work_order_events.insert().values(
                    work_order_id=order_id, at=now, kind="created", status=status, by=new.created_by,
                    role=new.role, note=note,
                ))  # fmt: skip
        except IntegrityError:
            if new.alarm_id is None:
                raise
            existing = await self.for_alarm(new.alarm_id)
            if existing is None:
                raise
            return existing, False
        order = await self.get(order_id)
        assert order is not None
        return order, True

    async def get(self, order_id: int) -> WorkOrder | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(work_orders).where(work_orders.c.id == order_id))).first()
            if row is None:
                return None
            events = (
                await conn.execute(
                    sa.select(work_order_events)
                    .where(work_order_events.c.work_order_id == order_id)
                    .order_by(work_order_events.c.id)
                )
            ).all()
            photo = (
                await conn.execute(
                    sa.select(work_order_photos.c.work_order_id).where(work_order_photos.c.work_order_id == order_id)
                )
            ).first()
        return _order(row, tuple(_event(e) for e in events), photo is not None)

    async def for_alarm(self, alarm_id: int) -> WorkOrder | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(work_orders.c.id).where(work_orders.c.alarm_id == alarm_id))).first()
        return await self.get(int(row.id)) if row is not None else None

    async def find(self, wanted: WorkOrderFilter) -> list[WorkOrder]:
        conditions: list[sa.ColumnElement[bool]] = []
        if wanted.status:
            conditions.append(work_orders.c.status.in_(list(wanted.status)))
        for column, value in (("assignee", wanted.assignee), ("device", wanted.device), ("zone", wanted.zone),
                              ("source", wanted.source), ("ifc_guid", wanted.ifc_guid)):  # fmt: skip
            if value is not None:
                if "\x00" in value:
                    return []  # nothing stored holds NUL; PostgreSQL would refuse the query
                conditions.append(work_orders.c[column] == value)
        if wanted.alarm_id is not None:
            conditions.append(work_orders.c.alarm_id == wanted.alarm_id)
        if wanted.spaces:
            if any("\x00" in space for space in wanted.spaces):
                return []
            spaces = list(wanted.spaces)
            conditions.append(sa.or_(work_orders.c.space_guid.in_(spaces), work_orders.c.ifc_guid.in_(spaces)))
        if wanted.overdue_at is not None:
            conditions += [work_orders.c.due_at < wanted.overdue_at, work_orders.c.status.in_(ACTIVE)]
        if wanted.drill is not None:
            conditions.append(work_orders.c.drill.is_(wanted.drill))
        query = (
            sa.select(work_orders, work_order_photos.c.work_order_id.label("photo_of"))
            .outerjoin(work_order_photos, work_order_photos.c.work_order_id == work_orders.c.id)
            .where(*conditions)
            .order_by(work_orders.c.id.desc())
            .limit(max(0, min(wanted.limit, 1000)))
            .offset(max(0, wanted.offset))
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_order(row, (), row.photo_of is not None) for row in rows]

    async def act(
        self,
        order_id: int,
        action: str,
        *,
        by: str,
        role: str | None,
        note: str | None = None,
        assignee: str | None = None,
        due_at: float | None = None,
    ) -> WorkOrder:
        """Apply one action of TRANSITIONS; raises WorkOrderNotFound, WorkOrderConflict or WorkOrderError."""
        transition = TRANSITIONS.get(action)
        if transition is None:
            raise WorkOrderError("unknown_action", f"no work-order action {action!r}: {', '.join(TRANSITIONS)}")
        note = _clean(note, MAX_NOTE) or None
        if transition.needs_note and not note:
            raise WorkOrderError("missing_note", f"{action} needs a note (what was done, or why)")
        if action == "assign" and not assignee:
            raise WorkOrderError("missing_assignee", "assign needs the user to assign the order to")
        now = self._clock.time()
        values: dict[str, Any] = {"updated_at": now}
        if transition.target is not None:
            values["status"] = transition.target
        if action == "assign":
            values["assignee"] = assignee
        if action == "resolve":
            values["note"] = note
        if action == "reopen":
            values.update(escalated=False, note=None)
            if due_at is not None:
                values["due_at"] = due_at
        async with self._engine.begin() as conn:
            row = (await conn.execute(sa.select(work_orders).where(work_orders.c.id == order_id))).first()
            if row is None:
                raise WorkOrderNotFound(order_id)
            if action in ("acknowledge", "start") and row.assignee is None:
                values["assignee"] = by  # taking an unassigned order makes it one's own
            update = work_orders.update().where(
                work_orders.c.id == order_id, work_orders.c.status.in_(transition.sources)
            )
            if (await conn.execute(update.values(**values))).rowcount != 1:
                raise WorkOrderConflict(
                    "wrong_status",
                    f"work order {order_id} is {row.status}: {action} needs it "
                    f"{' or '.join(transition.sources)}",
                )
            status = transition.target or row.status
            event_note = note if action != "assign" else (f"assigned to {assignee}" + (f": {note}" if note else ""))
            await conn.execute(work_order_events.insert().values(
                work_order_id=order_id, at=now, kind=action, status=status, by=by, role=role, note=event_note,
            ))  # fmt: skip
        order = await self.get(order_id)
        assert order is not None
        return order

    async def escalate_overdue(self, now: float) -> list[WorkOrder]:
        """Mark every active order past its due time as escalated (once); the ones marked now."""
        marked: list[int] = []
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(work_orders.c.id, work_orders.c.status).where(
                        work_orders.c.due_at < now, work_orders.c.status.in_(ACTIVE),
                        work_orders.c.escalated.is_(False),
                    )
                )
            ).all()  # fmt: skip
            for row in rows:
                update = work_orders.update().where(work_orders.c.id == row.id, work_orders.c.escalated.is_(False))
                if (await conn.execute(update.values(escalated=True, updated_at=now))).rowcount == 1:
                    await conn.execute(work_order_events.insert().values(
                        work_order_id=row.id, at=now, kind="escalated", status=row.status, by="system", role=None,
                        note="overdue",
                    ))  # fmt: skip
                    marked.append(int(row.id))
        found = [await self.get(order_id) for order_id in marked]
        return [order for order in found if order is not None]

    async def set_photo(self, order_id: int, content_type: str, data: bytes, by: str, role: str | None) -> WorkOrder:
        """Keep one photo per order (a new upload replaces it), recorded as an event."""
        now = self._clock.time()
        async with self._engine.begin() as conn:
            row = (await conn.execute(sa.select(work_orders).where(work_orders.c.id == order_id))).first()
            if row is None:
                raise WorkOrderNotFound(order_id)
            if row.status == "closed":
                raise WorkOrderConflict("wrong_status", f"work order {order_id} is closed: reopen it to add a photo")
            await conn.execute(work_order_photos.delete().where(work_order_photos.c.work_order_id == order_id))
            await conn.execute(work_order_photos.insert().values(
                work_order_id=order_id, content_type=content_type, size=len(data), data=data, uploaded_at=now,
                uploaded_by=by,
            ))  # fmt: skip
            await conn.execute(work_order_events.insert().values(
                work_order_id=order_id, at=now, kind="photo", status=row.status, by=by, role=role,
                note=f"{content_type}, {len(data)} bytes",
            ))  # fmt: skip
            await conn.execute(work_orders.update().where(work_orders.c.id == order_id).values(updated_at=now))
        order = await self.get(order_id)
        assert order is not None
        return order

    async def photo(self, order_id: int) -> Photo | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(sa.select(work_order_photos).where(work_order_photos.c.work_order_id == order_id))
            ).first()
        return Photo(row.content_type, bytes(row.data), row.uploaded_at, row.uploaded_by) if row is not None else None
