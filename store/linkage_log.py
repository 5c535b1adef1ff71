"""What the alarm linkage did for each alarm (doors released, evacuation asked, work order opened, staff paged),
and the pages to staff (a notification each role sees and acknowledges): about an alarm, or about a work order
that became overdue (its escalation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from store.followup_schema import linkage_actions, pages
from store.users import WallClock

ACTION_STATUSES = ("done", "failed", "reverted", "skipped")


@dataclass(frozen=True)
class LinkageAction:
    id: int
    alarm_id: int
    kind: str  # doors_released, door_relocked, evacuation_requested, camera, work_order, page
    target: str | None
    status: str
    detail: str | None
    at: float
    drill: bool
    audit_id: int | None


@dataclass(frozen=True)
class Page:
    id: int
    alarm_id: int | None  # the alarm paged about, or None for a work order's page
    role: str
    title: dict[str, str]
    zone: str | None
    camera: str | None
    created_at: float
    acked_at: float | None
    acked_by: str | None
    drill: bool
    work_order_id: int | None = None  # the overdue work order paged about


def _action(row: Any) -> LinkageAction:
    return LinkageAction(int(row.id), int(row.alarm_id), row.kind, row.target, row.status, row.detail, row.at,
                         bool(row.drill), row.audit_id)  # fmt: skip


def _page(row: Any) -> Page:
    return Page(int(row.id), _id(row.alarm_id), row.role, {"zh": row.title_zh, "en": row.title_en}, row.zone,
                row.camera, row.created_at, row.acked_at, row.acked_by, bool(row.drill),
                _id(row.work_order_id))  # fmt: skip


def _id(value: Any) -> int | None:
    return int(value) if value is not None else None


class LinkageLog:
    """record, for_alarm, for_alarms, of_kind."""

    def __init__(self, engine: AsyncEngine, clock: WallClock) -> None:
        self._engine = engine
        self._clock = clock

    async def record(
        self, alarm_id: int, kind: str, target: str | None, status: str, detail: str | None, *, drill: bool = False,
        audit_id: int | None = None,
    ) -> LinkageAction:  # fmt: skip
        if status not in ACTION_STATUSES:
            raise ValueError(f"linkage action status must be one of {', '.join(ACTION_STATUSES)}")
        values = {"alarm_id": alarm_id, "kind": kind, "target": target, "status": status, "detail": detail,
                  "at": self._clock.time(), "drill": drill, "audit_id": audit_id}  # fmt: skip
        async with self._engine.begin() as conn:
            result = await conn.execute(linkage_actions.insert().values(**values))
            action_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return LinkageAction(action_id, alarm_id, kind, target, status, detail, values["at"], drill, audit_id)  # type: ignore[arg-type]

    async def for_alarms(self, alarm_ids: list[int]) -> list[LinkageAction]:
        if not alarm_ids:
            return []
        table = linkage_actions
        query = sa.select(table).where(table.c.alarm_id.in_(alarm_ids)).order_by(table.c.id)
        async with self._engine.connect() as conn:
            return [_action(row) for row in (await conn.execute(query)).all()]

    async def for_alarm(self, alarm_id: int) -> list[LinkageAction]:
        return await self.for_alarms([alarm_id])


class PageRepository:
    """page (once per alarm and role), page_order (once per work order and role), list, ack."""

    def __init__(self, engine: AsyncEngine, clock: WallClock) -> None:
        self._engine = engine
        self._clock = clock

    async def page(
        self, alarm_id: int, role: str, title: dict[str, str], zone: str | None, camera: str | None, drill: bool
    ) -> tuple[Page, bool]:
        """The page and True; the existing one and False when this alarm paged this role before."""
        return await self._page(pages.c.alarm_id, alarm_id, role, title, zone, camera, drill)

    async def page_order(
        self, work_order_id: int, role: str, title: dict[str, str], zone: str | None, drill: bool
    ) -> tuple[Page, bool]:
        """A page about a work order (its escalation): the page and True; the existing one and False when this
        order paged this role before (an order escalates once; reopened and overdue again, it pages no more)."""
        return await self._page(pages.c.work_order_id, work_order_id, role, title, zone, None, drill)

    async def _page(
        self, key: sa.Column[Any], key_value: int, role: str, title: dict[str, str], zone: str | None,
        camera: str | None, drill: bool,
    ) -> tuple[Page, bool]:  # fmt: skip
        values = {key.name: key_value, "role": role, "title_zh": title["zh"][:300], "title_en": title["en"][:300],
                  "zone": zone, "camera": camera, "created_at": self._clock.time(), "drill": drill}  # fmt: skip
        try:
            async with self._engine.begin() as conn:
                result = await conn.execute(pages.insert().values(**values))
                page_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        except IntegrityError:
            query = sa.select(pages).where(key == key_value, pages.c.role == role)
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
            if row is None:
                raise
            return _page(row), False
        found = await self.get(page_id)
        assert found is not None
        return found, True

    async def get(self, page_id: int) -> Page | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(pages).where(pages.c.id == page_id))).first()
        return _page(row) if row is not None else None

    async def list(self, role: str | None = None, unacked_only: bool = False, limit: int = 100) -> list[Page]:
        conditions: list[sa.ColumnElement[bool]] = []
        if role is not None:
            conditions.append(pages.c.role == role)
        if unacked_only:
            conditions.append(pages.c.acked_at.is_(None))
        query = sa.select(pages).where(*conditions).order_by(pages.c.id.desc()).limit(max(0, min(limit, 1000)))
        async with self._engine.connect() as conn:
            return [_page(row) for row in (await conn.execute(query)).all()]

    async def ack(self, page_id: int, by: str) -> Page | None:
        """Acknowledge a page (once: a second ack keeps the first who/when); None when there is no such page."""
        async with self._engine.begin() as conn:
            await conn.execute(
                pages.update().where(pages.c.id == page_id, pages.c.acked_at.is_(None))
                .values(acked_at=self._clock.time(), acked_by=by)
            )  # fmt: skip
        return await self.get(page_id)
