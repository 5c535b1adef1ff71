"""Alarms and their transitions: the durable half of the alarm engine (one transaction per batch of changes)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store.schema import metadata

# The tables as revision 0003_alarms creates them (the migration is the definition; this describes it).
alarms = sa.Table(
    "alarms",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_key", sa.String(255), nullable=False),
    sa.Column("open_key", sa.String(255)),
    sa.Column("rule", sa.String(128), nullable=False),
    sa.Column("alarm_class", sa.String(16), nullable=False),
    sa.Column("priority", sa.String(8), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("latched", sa.Boolean, nullable=False),
    sa.Column("shelved_until", sa.Float),
    sa.Column("shelved_by", sa.String(64)),
    sa.Column("shelve_reason", sa.Text),
    sa.Column("shelve_one_shot", sa.Boolean, nullable=False),
    sa.Column("suppressed", sa.Boolean, nullable=False),
    sa.Column("out_of_service", sa.Boolean, nullable=False),
    sa.Column("oos_reason", sa.Text),
    sa.Column("oos_by", sa.String(64)),
    sa.Column("chattering", sa.Boolean, nullable=False),
    sa.Column("drill", sa.Boolean, nullable=False),
    sa.Column("device", sa.String(96)),
    sa.Column("point", sa.String(96)),
    sa.Column("zone", sa.String(96)),
    sa.Column("ifc_guid", sa.String(22)),
    sa.Column("space_guids", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("value", sa.Text),
    sa.Column("raised_at", sa.Float, nullable=False),
    sa.Column("acked_at", sa.Float),
    sa.Column("acked_by", sa.String(64)),
    sa.Column("cleared_at", sa.Float),
    sa.Column("reset_at", sa.Float),
    sa.Column("reset_by", sa.String(64)),
    sa.Column("closed_at", sa.Float),
    sa.Column("camera", sa.String(96)),
    sa.Column("plan", sa.String(96)),
    sa.Column("work_order", sa.Integer),
    sa.Column("comments", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
)

alarm_events = sa.Table(
    "alarm_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alarm_id", sa.Integer, sa.ForeignKey("alarms.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("by", sa.String(64)),
    sa.Column("role", sa.String(32)),
    sa.Column("reason", sa.Text),
    sa.Column("value", sa.Text),
)

STATES = ("unack", "ack", "rtn_unack", "normal")
EVENT_KINDS = (
    "raised", "acked", "cleared", "rtn", "reset", "shelved", "unshelved", "suppressed", "unsuppressed",
    "out_of_service", "in_service", "comment", "chattering", "updated",
)  # fmt: skip
_JSON_FIELDS = frozenset({"space_guids", "title", "message", "value"})
MAX_LIST = 5_000


@dataclass
class Alarm:
    """One alarm occurrence: raised once, then moved through the ISA-18.2 states until it is closed (normal,
    and neither shelved nor out of service). ``id`` is 0 until the store has inserted it."""

    source_key: str
    rule: str
    alarm_class: str
    priority: str
    state: str
    active: bool
    raised_at: float
    title: dict[str, str]
    message: dict[str, str]
    id: int = 0
    latched: bool = False
    shelved_until: float | None = None
    shelved_by: str | None = None
    shelve_reason: str | None = None
    shelve_one_shot: bool = False
    suppressed: bool = False
    out_of_service: bool = False
    oos_reason: str | None = None
    oos_by: str | None = None
    chattering: bool = False
    drill: bool = False
    device: str | None = None
    point: str | None = None
    zone: str | None = None
    ifc_guid: str | None = None
    space_guids: list[str] = field(default_factory=list)
    value: Any = None
    acked_at: float | None = None
    acked_by: str | None = None
    cleared_at: float | None = None
    reset_at: float | None = None
    reset_by: str | None = None
    closed_at: float | None = None
    camera: str | None = None
    plan: str | None = None
    work_order: int | None = None
    comments: int = 0
    updated_at: float = 0.0
    # One more at every write of the row: a page keeps the newest view of an alarm when answers and /ws frames cross.
    revision: int = 0

    @property
    def is_open(self) -> bool:
        """Still listed as current: not back to normal, or shelved or out of service (its source is held)."""
        return self.state != "normal" or self.shelved_until is not None or self.out_of_service

    @property
    def open_key(self) -> str | None:
        return self.source_key if self.is_open else None


@dataclass(frozen=True)
class AlarmEventRecord:
    """One stored transition of an alarm: what, when, who (with role) and why."""

    alarm_id: int
    at: float
    kind: str
    by: str | None = None
    role: str | None = None
    reason: str | None = None
    value: Any = None
    id: int = 0


@dataclass
class AlarmChange:
    """An alarm as it is now and the events that brought it there (stored together, in one transaction)."""

    alarm: Alarm
    events: list[AlarmEventRecord]


_ALARM_FIELDS = tuple(f.name for f in fields(Alarm) if f.name != "id")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str, allow_nan=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _text(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; the row is kept with U+FFFD in its place rather than lost.
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def _row_values(alarm: Alarm) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _ALARM_FIELDS:
        raw = getattr(alarm, name)
        values[name] = _json(_jsonable(raw)) if name in _JSON_FIELDS else _text(raw)
    values["open_key"] = alarm.open_key
    return values


def _alarm(row: Any) -> Alarm:
    data = row._asdict()
    data.pop("open_key", None)
    for name in _JSON_FIELDS:
        raw = data[name]
        data[name] = json.loads(raw) if raw is not None else None
    if data["space_guids"] is None:
        data["space_guids"] = []
    for flag in ("active", "latched", "shelve_one_shot", "suppressed", "out_of_service", "chattering", "drill"):
        data[flag] = bool(data[flag])
    return Alarm(**data)


def _event(row: Any) -> AlarmEventRecord:
    value = json.loads(row.value) if row.value is not None else None
    return AlarmEventRecord(row.alarm_id, row.at, row.kind, row.by, row.role, row.reason, value, row.id)


@dataclass(frozen=True)
class AlarmFilter:
    """What GET /api/alarms asks for; None means any."""

    state: str | None = None
    priority: str | None = None
    zone: str | None = None
    alarm_class: str | None = None
    active: bool | None = None
    include_history: bool = False
    limit: int = 1_000


class AlarmRepository:
    """Alarms and their events. ``apply`` stores a batch of changes in one transaction (new alarms get their
    ids), so a crash leaves either all of a batch or none of it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def apply(self, changes: Sequence[AlarmChange]) -> None:
        if not changes:
            return
        for alarm in {id(c.alarm): c.alarm for c in changes}.values():
            alarm.revision += 1
        async with self._engine.begin() as conn:
            await self._insert_new(conn, [c.alarm for c in changes if c.alarm.id == 0])
            updates = [c.alarm for c in changes if c.alarm.id != 0]
            seen: dict[int, Alarm] = {}
            for alarm in updates:
                seen[alarm.id] = alarm  # one row write per alarm, however many events it had in the batch
            if seen:
                statement = alarms.update().where(alarms.c.id == sa.bindparam("_id"))
                await conn.execute(statement, [{"_id": a.id, **_row_values(a)} for a in seen.values()])
            events = [
                {
                    "alarm_id": c.alarm.id, "at": e.at, "kind": e.kind, "by": _text(e.by), "role": e.role,
                    "reason": _text(e.reason), "value": _json(_jsonable(e.value)) if e.value is not None else None,
                }
                for c in changes
                for e in c.events
            ]  # fmt: skip
            if events:
                await conn.execute(alarm_events.insert(), events)

    async def _insert_new(self, conn: AsyncConnection, new: list[Alarm]) -> None:
        if not new:
            return
        # Later changes of the same batch may hold the same (new) alarm again: insert it once.
        unique = list({id(a): a for a in new}.values())
        statement = alarms.insert().returning(alarms.c.id, sort_by_parameter_order=True)
        result = await conn.execute(statement, [_row_values(a) for a in unique])
        for alarm, row in zip(unique, result.all(), strict=True):
            alarm.id = int(row.id)

    async def load_open(self) -> list[Alarm]:
        """Every open alarm, oldest first (the engine's state after a restart)."""
        query = sa.select(alarms).where(alarms.c.open_key.is_not(None)).order_by(alarms.c.id)
        async with self._engine.connect() as conn:
            return [_alarm(row) for row in (await conn.execute(query)).all()]

    async def get(self, alarm_id: int) -> Alarm | None:
        if not -(2**31) <= alarm_id < 2**31:
            return None
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(alarms).where(alarms.c.id == alarm_id))).first()
        return _alarm(row) if row is not None else None

    async def events(self, alarm_id: int) -> list[AlarmEventRecord]:
        query = sa.select(alarm_events).where(alarm_events.c.alarm_id == alarm_id).order_by(alarm_events.c.id)
        async with self._engine.connect() as conn:
            return [_event(row) for row in (await conn.execute(query)).all()]

    async def search(self, wanted: AlarmFilter) -> list[Alarm]:
        conditions: list[sa.ColumnElement[bool]] = []
        if not wanted.include_history:
            conditions.append(alarms.c.open_key.is_not(None))
        for column, value in (
            (alarms.c.state, wanted.state), (alarms.c.priority, wanted.priority), (alarms.c.zone, wanted.zone),
            (alarms.c.alarm_class, wanted.alarm_class),
        ):  # fmt: skip
            if value is not None:
                if "\x00" in value:
                    return []  # nothing stored holds NUL; PostgreSQL would refuse the query
                conditions.append(column == value)
        if wanted.active is not None:
            conditions.append(alarms.c.active.is_(wanted.active))
        limit = max(1, min(wanted.limit, MAX_LIST))
        query = sa.select(alarms).where(*conditions).order_by(alarms.c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [_alarm(row) for row in (await conn.execute(query)).all()]

    async def set_work_order(self, alarm_id: int, work_order: int | None, at: float) -> None:
        """Link an alarm to its work order (the follow-up service calls this)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                alarms.update().where(alarms.c.id == alarm_id).values(
                    work_order=work_order, updated_at=at, revision=alarms.c.revision + 1
                )
            )

    async def count(self, *, open_only: bool = False) -> int:
        query = sa.select(sa.func.count()).select_from(alarms)
        if open_only:
            query = query.where(alarms.c.open_key.is_not(None))
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def count_events(self, kind: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(alarm_events)
        if kind is not None:
            query = query.where(alarm_events.c.kind == kind)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def raised_between(self, since: float, until: float) -> list[tuple[float, str, str, str, bool]]:
        """Each annunciation in [since, until): (time, source key, priority, rule, suppressed), for the KPIs."""
        query = (
            sa.select(alarm_events.c.at, alarms.c.source_key, alarms.c.priority, alarms.c.rule, alarms.c.suppressed)
            .join(alarms, alarms.c.id == alarm_events.c.alarm_id)
            .where(alarm_events.c.kind == "raised", alarm_events.c.at >= since, alarm_events.c.at < until)
            .order_by(alarm_events.c.at)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(float(r.at), r.source_key, r.priority, r.rule, bool(r.suppressed)) for r in rows]

    async def duplicates_open(self) -> int:
        """Sources with more than one open alarm (always 0: the unique index forbids it; tests check it)."""
        query = (
            sa.select(alarms.c.source_key)
            .where(alarms.c.open_key.is_not(None))
            .group_by(alarms.c.source_key)
            .having(sa.func.count() > 1)
        )
        async with self._engine.connect() as conn:
            return len((await conn.execute(query)).all())
