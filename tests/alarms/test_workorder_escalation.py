"""Escalation pages the supervising roles (workorders.escalate_to) once per overdue order, audited, and told to
the pager's listener; an order marked escalated by a node that stopped before paging is paged at the next start.
On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alarms.pager import Pager
from alarms.workorders import WorkOrderService
from store import Store
from store.linkage_log import Page, PageRepository
from store.workorders import NewWorkOrder, WorkOrder, WorkOrderRepository
from tests.alarms.conftest import db_url, pg_skip_reason  # noqa: F401 - SQLite and PostgreSQL
from twin.clock import ManualClock
from twin.site.model import SiteConfig


class Heard:
    """A notices sink and page listener that keeps what it is told (the runtime's sends /ws frames)."""

    def __init__(self) -> None:
        self.orders: list[tuple[str, int]] = []
        self.pages: list[Page] = []

    def order_changed(self, kind: str, order: WorkOrder) -> None:
        self.orders.append((kind, order.id))

    def paged(self, page: Page) -> None:
        self.pages.append(page)


def site(**workorders: Any) -> SiteConfig:
    return SiteConfig.model_validate({
        "site": {"id": "esc", "name": {"zh": "升级", "en": "Escalation"}, "ifc": "none.ifc"}, "workorders": workorders,
    })  # fmt: skip


async def test_overdue_orders_page_each_supervising_role_once(db_url: str) -> None:  # noqa: F811
    clock = ManualClock()
    store = await Store.open(db_url, clock=clock)
    try:
        repository = WorkOrderRepository(store.engine, store.clock)
        pages = PageRepository(store.engine, store.clock)
        title = {"zh": "冷却塔漏水", "en": "Cooling tower leak"}
        crashed, _ = await repository.create(NewWorkOrder(title=title, priority="high", source="manual",
                                                          due_at=clock.time() + 10, created_by="fac"))  # fmt: skip
        await clock.advance(20)
        assert [o.id for o in await repository.escalate_overdue(clock.time())] == [crashed.id]  # then the node died

        heard = Heard()
        service = WorkOrderService(site(escalate_to=["facility", "admin"]), repository, store.audit, clock,
                                   pager=Pager(pages, heard), notices=heard)  # fmt: skip
        fresh, _ = await service.create(_System(), NewWorkOrder(title=title, priority="low", source="manual",
                                                                due_at=clock.time() + 10, created_by="system"))
        await clock.advance(20)
        escalated = await service.escalate()
        assert [o.id for o in escalated] == [fresh.id]  # only the fresh one is marked now ...
        paged = sorted((p.work_order_id, p.role) for p in heard.pages)  # ... both are paged, to both roles
        assert paged == sorted((o, r) for o in (crashed.id, fresh.id) for r in ("facility", "admin"))
        assert heard.orders == [("created", fresh.id), ("escalated", fresh.id)]
        rows = await store.audit.query(action="workorder.page", limit=10)
        assert len(rows) == 4 and {r.actor for r in rows} == {"system"}
        assert await service.escalate() == [] and len(heard.pages) == 4  # once
        again = Heard()
        restarted = WorkOrderService(site(), repository, store.audit, clock, pager=Pager(pages, again), notices=again)
        await restarted.escalate()  # a new start looks again: everything has its page already
        assert len(await store.audit.query(action="workorder.page", limit=10)) == 4 and again.pages == []
        assert [p.role for p in await pages.list("facility")] == ["facility", "facility"]
    finally:
        await store.close()


class _System:
    name = "system"
    role: str | None = None
    client: str | None = None
