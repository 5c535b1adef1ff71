"""Emergency-plan step records (who did which step of an alarm's plan, when) and drills (a window of time whose
alarms, actions and records count as an exercise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from store.followup_schema import drills, plan_steps
from store.text import storable
from store.users import WallClock


@dataclass(frozen=True)
class StepRecord:
    alarm_id: int
    plan_id: str
    step: int  # 1-based
    done_at: float
    done_by: str
    role: str | None
    note: str | None


@dataclass(frozen=True)
class Drill:
    id: int
    scenario: str | None
    target: str | None
    note: str | None
    started_at: float
    started_by: str
    ended_at: float | None
    ended_by: str | None

    @property
    def active(self) -> bool:
        return self.ended_at is None


class StepAlreadyDone(ValueError):
    """The step was recorded before (by whom and when is in ``record``)."""

    def __init__(self, record: StepRecord) -> None:
        super().__init__(f"step {record.step} of alarm {record.alarm_id} was done by {record.done_by}")
        self.record = record


def _step(row: Any) -> StepRecord:
    return StepRecord(int(row.alarm_id), row.plan_id, int(row.step), row.done_at, row.done_by, row.role, row.note)


def _drill(row: Any) -> Drill:
    return Drill(int(row.id), row.scenario, row.target, row.note, row.started_at, row.started_by, row.ended_at,
                 row.ended_by)  # fmt: skip


class PlanStepRepository:
    """done (once per alarm and step), for_alarm, for_alarms."""

    def __init__(self, engine: AsyncEngine, clock: WallClock) -> None:
        self._engine = engine
        self._clock = clock

    async def done(
        self, alarm_id: int, plan_id: str, step: int, by: str, role: str | None, note: str | None = None
    ) -> StepRecord:
        cleaned = storable(note, 2000) or None
        now = self._clock.time()
        values = {"alarm_id": alarm_id, "plan_id": plan_id, "step": step, "done_at": now, "done_by": by,
                  "role": role, "note": cleaned}  # fmt: skip
        try:
            async with self._engine.begin() as conn:
                await conn.execute(plan_steps.insert().values(**values))
        except IntegrityError:
            existing = [r for r in await self.for_alarm(alarm_id) if r.step == step]
            if not existing:
                raise
            raise StepAlreadyDone(existing[0]) from None
        return StepRecord(alarm_id, plan_id, step, now, by, role, cleaned)

    async def for_alarm(self, alarm_id: int) -> list[StepRecord]:
        query = sa.select(plan_steps).where(plan_steps.c.alarm_id == alarm_id).order_by(plan_steps.c.step)
        async with self._engine.connect() as conn:
            return [_step(row) for row in (await conn.execute(query)).all()]

    async def for_alarms(self, alarm_ids: list[int]) -> list[StepRecord]:
        if not alarm_ids:
            return []
        query = sa.select(plan_steps).where(plan_steps.c.alarm_id.in_(alarm_ids)).order_by(plan_steps.c.done_at)
        async with self._engine.connect() as conn:
            return [_step(row) for row in (await conn.execute(query)).all()]


class DrillRepository:
    """start, end, get, active, list."""

    def __init__(self, engine: AsyncEngine, clock: WallClock) -> None:
        self._engine = engine
        self._clock = clock

    async def start(self, scenario: str | None, target: str | None, note: str | None, by: str) -> Drill:
        now = self._clock.time()
        async with self._engine.begin() as conn:
            result = await conn.execute(drills.insert().values(
                scenario=scenario, target=target, note=note, started_at=now, started_by=by,
            ))  # fmt: skip
            drill_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return Drill(drill_id, scenario, target, note, now, by, None, None)

    async def end(self, drill_id: int, by: str) -> Drill | None:
        """End a running drill; None when there is no such drill. An ended drill is returned unchanged."""
        async with self._engine.begin() as conn:
            await conn.execute(
                drills.update()
                .where(drills.c.id == drill_id, drills.c.ended_at.is_(None))
                .values(ended_at=self._clock.time(), ended_by=by)
            )
        return await self.get(drill_id)

    async def get(self, drill_id: int) -> Drill | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(drills).where(drills.c.id == drill_id))).first()
        return _drill(row) if row is not None else None

    async def active(self) -> Drill | None:
        query = sa.select(drills).where(drills.c.ended_at.is_(None)).order_by(drills.c.id.desc()).limit(1)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _drill(row) if row is not None else None

    async def list(self, limit: int = 100) -> list[Drill]:
        query = sa.select(drills).order_by(drills.c.id.desc()).limit(max(0, min(limit, 1000)))
        async with self._engine.connect() as conn:
            return [_drill(row) for row in (await conn.execute(query)).all()]
