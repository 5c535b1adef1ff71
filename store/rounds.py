"""Inspection round runs (one per template and scheduled time, with its checklist frozen at scheduling) and the
result of each check item."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from store.followup_schema import round_results, round_runs
from store.text import storable
from store.users import WallClock

RESULTS = ("ok", "fail", "na")  # na: could not be checked (say why in the note)
RUN_STATUSES = ("open", "done", "missed")


class RoundError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ItemResult:
    item: int
    result: str
    note: str | None
    at: float
    by: str
    work_order_id: int | None


@dataclass(frozen=True)
class RoundRun:
    id: int
    round_id: str
    due_at: float
    window_end: float
    direction: str  # forward or reverse: the walking order of this run
    items: list[dict[str, Any]]  # [{n, zone, device, text: {zh, en}}] in walking order
    status: str
    work_order_id: int | None
    finished_at: float | None
    results: tuple[ItemResult, ...] = field(default=())


def _run(row: Any, results: tuple[ItemResult, ...] = ()) -> RoundRun:
    return RoundRun(int(row.id), row.round_id, row.due_at, row.window_end, row.direction, json.loads(row.items),
                    row.status, row.work_order_id, row.finished_at, results)  # fmt: skip


def _result(row: Any) -> ItemResult:
    return ItemResult(int(row.item), row.result, row.note, row.at, row.by, row.work_order_id)


class RoundRepository:
    """schedule (once per template and time), latest_due, get, between, record, set_work_order, close_missed."""

    def __init__(self, engine: AsyncEngine, clock: WallClock) -> None:
        self._engine = engine
        self._clock = clock

    async def schedule(
        self, round_id: str, due_at: float, window_end: float, direction: str, items: list[dict[str, Any]]
    ) -> tuple[RoundRun, bool]:
        """The run of ``round_id`` at ``due_at`` and True when created now (False: it existed)."""
        values = {"round_id": round_id, "due_at": due_at, "window_end": window_end, "direction": direction,
                  "items": json.dumps(items, ensure_ascii=False), "status": "open"}  # fmt: skip
        created = True
        try:
            async with self._engine.begin() as conn:
                await conn.execute(round_runs.insert().values(**values))
        except IntegrityError:
            created = False
        query = sa.select(round_runs.c.id).where(round_runs.c.round_id == round_id, round_runs.c.due_at == due_at)
        async with self._engine.connect() as conn:
            run_id = int((await conn.execute(query)).scalar_one())
        run = await self.get(run_id)
        assert run is not None
        return run, created

    async def latest_due(self) -> float | None:
        """The due time of the newest scheduled run (None: no run was ever scheduled)."""
        async with self._engine.connect() as conn:
            value = (await conn.execute(sa.select(sa.func.max(round_runs.c.due_at)))).scalar_one()
        return float(value) if value is not None else None

    async def get(self, run_id: int) -> RoundRun | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(round_runs).where(round_runs.c.id == run_id))).first()
            if row is None:
                return None
            results = (
                await conn.execute(
                    sa.select(round_results).where(round_results.c.run_id == run_id).order_by(round_results.c.item)
                )
            ).all()
        return _run(row, tuple(_result(r) for r in results))

    async def between(self, since: float, until: float) -> list[RoundRun]:
        query = (
            sa.select(round_runs.c.id)
            .where(round_runs.c.due_at >= since, round_runs.c.due_at < until)
            .order_by(round_runs.c.due_at, round_runs.c.id)
        )
        async with self._engine.connect() as conn:
            ids = [int(i) for i in (await conn.execute(query)).scalars().all()]
        runs = [await self.get(run_id) for run_id in ids]
        return [run for run in runs if run is not None]

    async def record(
        self, run_id: int, item: int, result: str, note: str | None, by: str, work_order_id: int | None = None
    ) -> RoundRun:
        """Record (or correct) one item's result; the run is done once every item has one."""
        if result not in RESULTS:
            raise RoundError("invalid_result", f"result must be one of {', '.join(RESULTS)}")
        note = storable(note, 2000) or None
        if result in ("fail", "na") and not note:
            raise RoundError("missing_note", f"a result of {result!r} needs a note saying what was found")
        run = await self.get(run_id)
        if run is None:
            raise RoundError("unknown_run", f"no inspection round run {run_id}")
        if not 1 <= item <= len(run.items):
            raise RoundError("unknown_item", f"round run {run_id} has items 1 to {len(run.items)}, not {item}")
        if run.status != "open":
            raise RoundError("run_closed", f"round run {run_id} is {run.status}: results can no longer change")
        now = self._clock.time()
        async with self._engine.begin() as conn:
            await conn.execute(
                round_results.delete().where(round_results.c.run_id == run_id, round_results.c.item == item)
            )
            await conn.execute(round_results.insert().values(
                run_id=run_id, item=item, result=result, note=note, at=now, by=by, work_order_id=work_order_id,
            ))  # fmt: skip
            count = (
                await conn.execute(
                    sa.select(sa.func.count()).select_from(round_results).where(round_results.c.run_id == run_id)
                )
            ).scalar_one()
            if int(count) >= len(run.items):
                await conn.execute(
                    round_runs.update().where(round_runs.c.id == run_id).values(status="done", finished_at=now)
                )
        updated = await self.get(run_id)
        assert updated is not None
        return updated

    async def set_work_order(self, run_id: int, work_order_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(round_runs.update().where(round_runs.c.id == run_id).values(work_order_id=work_order_id))

    async def close_missed(self, now: float) -> list[RoundRun]:
        """Runs still open after their window are missed; the ones this call closed. Nodes sharing the store each
        get only the runs their own update changed (RETURNING), so a missed run is reported and audited once."""
        closing = (
            round_runs.update()
            .where(round_runs.c.status == "open", round_runs.c.window_end < now)
            .values(status="missed", finished_at=now)
            .returning(round_runs.c.id)
        )
        async with self._engine.begin() as conn:
            ids = sorted(int(i) for i in (await conn.execute(closing)).scalars().all())
        runs = [await self.get(run_id) for run_id in ids]
        return [run for run in runs if run is not None]
