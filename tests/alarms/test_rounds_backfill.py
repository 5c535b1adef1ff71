"""Inspection rounds that fell due while the node was down are recorded as missed when it starts again, each once
and audited, on SQLite and PostgreSQL: the round service runs, stops, the clock jumps over two windows, it runs
again (and once more, to show nothing is recorded twice)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from alarms.rounds import TICK_S, RoundService
from alarms.workorders import WorkOrderService
from store import AuditEntry, Store
from store.rounds import RoundRepository, RoundRun
from store.workorders import WorkOrderFilter, WorkOrderRepository
from tests.alarms.conftest import db_url, pg_skip_reason  # noqa: F401 - SQLite and PostgreSQL
from tests.alarms.test_linkage_demo import until
from twin.clock import ManualClock
from twin.site.model import SiteConfig

TZ = ZoneInfo("Asia/Shanghai")
DAY = 86_400.0


def site() -> SiteConfig:
    return SiteConfig.model_validate({
        "site": {"id": "rounds-test", "name": {"zh": "巡检", "en": "Rounds"}, "ifc": "none.ifc"},
        "zones": [{"id": "hall", "name": {"zh": "大厅", "en": "Hall"}, "zone_type": "waiting", "ifc_guid": "1" * 22}],
        "rounds": [{"id": "hall", "name": {"zh": "大厅巡检", "en": "Hall round"},
                    "schedule": {"times": ["08:00", "20:00"], "window_minutes": 60},
                    "stops": [{"zone": "hall", "items": [{"zh": "地面干燥", "en": "Floor dry"}]}]}],
    })  # fmt: skip


class Node:
    """The round service of one run of the node (a new service object per start, as after a restart)."""

    def __init__(self, store: Store, clock: ManualClock) -> None:
        orders = WorkOrderService(site(), WorkOrderRepository(store.engine, store.clock), store.audit, clock)
        self.runs = RoundRepository(store.engine, store.clock)
        self.service = RoundService(site(), self.runs, orders, store.audit, clock)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ticked = asyncio.Event()
        original = self.service.tick

        async def tick() -> None:  # the service's own tick; the test waits for the first one to finish
            await original()
            ticked.set()

        self.service.tick = tick  # type: ignore[method-assign]
        self.task = asyncio.create_task(self.service.run(), name="inspection-rounds")
        await asyncio.wait_for(ticked.wait(), 20)

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def runs_of(runs: RoundRepository, clock: ManualClock) -> list[RoundRun]:
    return await runs.between(clock.time() - 10 * DAY, clock.time() + DAY)


async def test_runs_due_while_down_are_missed_once_on_start(db_url: str) -> None:  # noqa: F811
    start = datetime(2025, 3, 3, 7, 0, tzinfo=TZ).timestamp()  # day 1, 07:00: before both of its rounds
    clock = ManualClock(start)
    store = await Store.open(db_url, clock=clock)
    try:
        first = Node(store, clock)
        await first.start()
        day1 = await runs_of(first.runs, clock)
        assert [(r.due_at - start, r.status) for r in day1] == [(3600.0, "open"), (13 * 3600.0, "open")]
        await first.stop()

        await clock.advance(2 * DAY)  # down until day 3, 07:00: both windows of day 1 and of day 2 went by
        second = Node(store, clock)
        await second.start()
        runs = await runs_of(second.runs, clock)
        due = [(r.due_at - start) / 3600 for r in runs]
        assert due == [1, 13, 25, 37, 49, 61]  # day 2's runs exist now, and day 3's are scheduled
        assert [r.status for r in runs] == ["missed"] * 4 + ["open"] * 2
        assert all(r.work_order_id is None for r in runs[:4])  # nobody can still do them: no work order
        audit = await store.audit.query(action="round.missed", limit=20, newest_first=False)
        assert sorted(_run_id(row) for row in audit) == [r.id for r in runs[:4]]
        while_down = {_run_id(row): (row.arguments or {})["while_down"] for row in audit}
        assert while_down == {runs[0].id: False, runs[1].id: False, runs[2].id: True, runs[3].id: True}
        assert all(row.actor == "system" for row in audit)
        assert "(the node was down)" in next(str(row.detail) for row in audit if _run_id(row) == runs[2].id)
        await second.stop()

        third = Node(store, clock)  # started again: nothing is recorded twice
        await third.start()
        assert [(r.id, r.status) for r in await runs_of(third.runs, clock)] == [(r.id, r.status) for r in runs]
        assert len(await store.audit.query(action="round.missed", limit=20)) == 4
        await clock.advance(3600 + 60)  # day 3, 08:01: the running node opens the due round's work order

        async def order_opened() -> Any:
            await clock.advance(TICK_S)  # the service's next tick (one may have begun before the jump)
            return await _order_of(third, runs[4].id)

        found: Any = await until("day 3's work order", order_opened, 10.0)
        assert found.source == "round"
        await third.stop()
        assert (await store.audit.verify()).ok
    finally:
        await store.close()


def _run_id(row: AuditEntry) -> int:
    return int(str(row.target).removeprefix("round-run:"))


async def _order_of(node: Node, run_id: int) -> Any:
    run = await node.runs.get(run_id)
    if run is None or run.work_order_id is None:
        return None
    return (await node.service.workorders.find(WorkOrderFilter(source="round")))[0]


async def test_a_new_installation_backfills_nothing(db_url: str) -> None:  # noqa: F811
    clock = ManualClock(datetime(2025, 3, 3, 21, 30, tzinfo=TZ).timestamp())
    store = await Store.open(db_url, clock=clock)
    try:
        node = Node(store, clock)
        assert await node.service.backfill() == []
        await node.start()  # today's two runs, both over before the first start: missed, but not "while down"
        audit = await store.audit.query(action="round.missed", limit=20)
        assert len(audit) == 2 and not any((row.arguments or {})["while_down"] for row in audit)
        await node.stop()
    finally:
        await store.close()
