"""Work orders, plan steps, drills, linkage actions, pages and inspection rounds, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from store import Store
from store.engine import create_engine
from store.linkage_log import LinkageLog, PageRepository
from store.migrate import current, upgrade
from store.plans import DrillRepository, PlanStepRepository, StepAlreadyDone
from store.rounds import RoundError, RoundRepository
from store.url import async_url
from store.workorders import (
    STATUSES,
    TRANSITIONS,
    NewWorkOrder,
    WorkOrderConflict,
    WorkOrderError,
    WorkOrderFilter,
    WorkOrderNotFound,
    WorkOrderRepository,
)
from twin.clock import ManualClock

TITLE = {"zh": "一层等候区漏水", "en": "Water leak in the 1F waiting zone"}


def order(**extra: object) -> NewWorkOrder:
    values: dict[str, object] = {"title": TITLE, "priority": "high", "source": "manual", "due_at": 1000.0,
                                 "created_by": "fac", "role": "facility"}  # fmt: skip
    values.update(extra)
    return NewWorkOrder(**values)  # type: ignore[arg-type]


@pytest.fixture
def orders(store: Store) -> WorkOrderRepository:
    return WorkOrderRepository(store.engine, store.clock)


async def test_a_work_order_walks_its_lifecycle_with_who_and_when_at_every_step(
    orders: WorkOrderRepository, clock: ManualClock
) -> None:
    created, new = await orders.create(order(device="ups-1", zone="1f-power", ifc_guid="2IdYtp1XvUZPgl54t1hg5H"))
    assert new and created.status == "open" and created.created_by == "fac" and not created.escalated
    steps = [("assign", "fac", "facility", None, "mnt"), ("acknowledge", "mnt", "maintenance", None, None),
             ("start", "mnt", "maintenance", None, None), ("resolve", "mnt", "maintenance", "fuse replaced", None),
             ("close", "fac", "facility", None, None)]  # fmt: skip
    for action, by, role, note, assignee in steps:
        await clock.advance(60)
        created = await orders.act(created.id, action, by=by, role=role, note=note, assignee=assignee)
    assert created.status == "closed" and created.assignee == "mnt" and created.note == "fuse replaced"
    assert [(e.kind, e.status, e.by, e.role) for e in created.events] == [
        ("created", "open", "fac", "facility"),
        ("assign", "assigned", "fac", "facility"),
        ("acknowledge", "acknowledged", "mnt", "maintenance"),
        ("start", "in_progress", "mnt", "maintenance"),
        ("resolve", "resolved", "mnt", "maintenance"),
        ("close", "closed", "fac", "facility"),
    ]
    assert [e.at - created.created_at for e in created.events] == [0, 60, 120, 180, 240, 300]
    assert created.events[1].note == "assigned to mnt" and created.events[4].note == "fuse replaced"
    reopened = await orders.act(created.id, "reopen", by="fac", role="facility", note="leaks again", due_at=5000.0)
    assert (reopened.status, reopened.due_at, reopened.note) == ("open", 5000.0, None)


async def test_every_action_is_refused_from_every_status_it_may_not_leave(orders: WorkOrderRepository) -> None:
    """The TRANSITIONS table enumerated: from each status, an action either moves the order or is refused."""
    path = {"open": [], "assigned": ["assign"], "acknowledged": ["acknowledge"], "in_progress": ["start"],
            "resolved": ["start", "resolve"], "closed": ["start", "resolve", "close"]}  # fmt: skip
    for action, status in ((a, s) for a in TRANSITIONS if a != "comment" for s in STATUSES):
        created, _ = await orders.create(order())
        for step in path[status]:
            await orders.act(created.id, step, by="a", role="admin", note="n", assignee="mnt")
        transition = TRANSITIONS[action]
        if status in transition.sources:
            moved = await orders.act(created.id, action, by="a", role="admin", note="n", assignee="mnt")
            assert moved.status == transition.target
        else:
            with pytest.raises(WorkOrderConflict, match=f"is {status}: {action} needs it"):
                await orders.act(created.id, action, by="a", role="admin", note="n", assignee="mnt")
            assert (await orders.get(created.id)).status == status  # type: ignore[union-attr]


async def test_bad_requests_say_what_is_wrong_and_change_nothing(orders: WorkOrderRepository) -> None:
    created, _ = await orders.create(order())
    with pytest.raises(WorkOrderNotFound, match="no work order 999"):
        await orders.act(999, "start", by="a", role="admin")
    with pytest.raises(WorkOrderError, match="needs a note"):
        await orders.act(created.id, "comment", by="a", role="admin", note="   ")
    with pytest.raises(WorkOrderError, match="needs the user"):
        await orders.act(created.id, "assign", by="a", role="admin")
    with pytest.raises(WorkOrderError, match="no work-order action"):
        await orders.act(created.id, "explode", by="a", role="admin")
    with pytest.raises(WorkOrderError, match="priority must be"):
        await orders.create(order(priority="urgent"))
    after = await orders.get(created.id)
    assert after is not None and after.status == "open" and len(after.events) == 1
    commented = await orders.act(created.id, "comment", by="a", role="admin", note="NUL \x00 kept out")
    assert commented.events[-1].note == "NUL \ufffd kept out" and commented.status == "open"


async def test_an_alarm_opens_one_work_order_however_often_it_is_asked(orders: WorkOrderRepository) -> None:
    results = await asyncio.gather(*(orders.create(order(alarm_id=7, source="alarm")) for _ in range(5)))
    assert sum(created for _, created in results) == 1
    assert len({o.id for o, _ in results}) == 1
    assert len(await orders.find(WorkOrderFilter(alarm_id=7))) == 1


async def test_two_people_acting_at_once_move_the_order_once(orders: WorkOrderRepository) -> None:
    created, _ = await orders.create(order())
    outcomes = await asyncio.gather(
        *(orders.act(created.id, "acknowledge", by=f"m{i}", role="maintenance") for i in range(4)),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all(isinstance(o, WorkOrderConflict) for o in outcomes if isinstance(o, Exception))
    final = await orders.get(created.id)
    assert final is not None and [e.kind for e in final.events] == ["created", "acknowledge"]


async def test_overdue_orders_escalate_once_and_done_ones_never(
    orders: WorkOrderRepository, clock: ManualClock
) -> None:
    start = clock.time()
    late, _ = await orders.create(order(due_at=start + 100))
    done, _ = await orders.create(order(due_at=start + 100))
    later, _ = await orders.create(order(due_at=start + 1000))
    for action in ("start", "resolve"):
        await orders.act(done.id, action, by="m", role="maintenance", note="fixed")
    assert await orders.escalate_overdue(start + 50) == []
    escalated = await orders.escalate_overdue(start + 200)
    assert [o.id for o in escalated] == [late.id] and escalated[0].escalated
    assert escalated[0].events[-1].kind == "escalated" and escalated[0].events[-1].by == "system"
    assert await orders.escalate_overdue(start + 300) == []  # once
    assert [o.id for o in await orders.find(WorkOrderFilter(overdue_at=start + 2000))] == [later.id, late.id]


async def test_filters_and_photo(orders: WorkOrderRepository) -> None:
    a, _ = await orders.create(order(device="ups-1", zone="1f-power"))
    b, _ = await orders.create(order(device="ac-1", assignee="mnt", drill=True))
    assert [o.id for o in await orders.find(WorkOrderFilter(device="ups-1"))] == [a.id]
    assert [o.id for o in await orders.find(WorkOrderFilter(assignee="mnt"))] == [b.id]
    assert [o.id for o in await orders.find(WorkOrderFilter(status=["assigned"]))] == [b.id]
    assert [o.id for o in await orders.find(WorkOrderFilter(drill=True))] == [b.id]
    assert await orders.find(WorkOrderFilter(device="a\x00b")) == []
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with_photo = await orders.set_photo(a.id, "image/png", png, "mnt", "maintenance")
    assert with_photo.photo and with_photo.events[-1].kind == "photo"
    stored = await orders.photo(a.id)
    assert stored is not None and stored.data == png and stored.content_type == "image/png"
    assert (await orders.find(WorkOrderFilter(device="ups-1")))[0].photo
    assert await orders.photo(b.id) is None


async def test_room_and_element_filters(orders: WorkOrderRepository) -> None:
    room, other_room, element = "0Room000000000000000AA", "0Room000000000000000BB", "2IdYtp1XvUZPgl54t1hg5H"
    in_room, _ = await orders.create(order(space_guid=room, ifc_guid=element, device="ups-1"))
    on_room, _ = await orders.create(order(ifc_guid=room))  # on the space element itself
    elsewhere, _ = await orders.create(order(space_guid=other_room))
    assert [o.id for o in await orders.find(WorkOrderFilter(spaces=[room]))] == [on_room.id, in_room.id]
    both = await orders.find(WorkOrderFilter(spaces=[room, other_room]))
    assert [o.id for o in both] == [elsewhere.id, on_room.id, in_room.id]
    assert [o.id for o in await orders.find(WorkOrderFilter(ifc_guid=element))] == [in_room.id]
    assert [o.id for o in await orders.find(WorkOrderFilter(spaces=[room], device="ups-1"))] == [in_room.id]
    assert await orders.find(WorkOrderFilter(spaces=["x\x00y"])) == []
    assert await orders.find(WorkOrderFilter(ifc_guid="a\x00b")) == []


async def test_an_overdue_order_pages_each_role_once(store: Store, orders: WorkOrderRepository) -> None:
    pages = PageRepository(store.engine, store.clock)
    alarm_page, _ = await pages.page(5, "facility", TITLE, "1f-wait", None, False)
    late, _ = await orders.create(order(zone="1f-wait", drill=True))
    page, created = await pages.page_order(late.id, "facility", late.title, late.zone, late.drill)
    again, created_again = await pages.page_order(late.id, "facility", late.title, late.zone, late.drill)
    other, _ = await pages.page_order(late.id, "admin", late.title, late.zone, late.drill)
    assert created and not created_again and again.id == page.id and other.id != page.id
    assert (page.work_order_id, page.alarm_id, page.title, page.zone, page.drill) == (late.id, None, TITLE,
                                                                                    "1f-wait", True)  # fmt: skip
    assert (alarm_page.alarm_id, alarm_page.work_order_id) == (5, None)
    # An alarm and an order with the same number are different pages of one role.
    same_number, fresh = await pages.page(late.id, "facility", TITLE, None, None, False)
    assert fresh and same_number.id not in (page.id, alarm_page.id)
    listed = await pages.list("facility")
    assert [p.id for p in listed] == [same_number.id, page.id, alarm_page.id]


async def test_plan_steps_are_recorded_once_with_who_and_when(store: Store, clock: ManualClock) -> None:
    steps = PlanStepRepository(store.engine, store.clock)
    first = await steps.done(3, "fire", 1, "sec", "security", "seen on cam-3")
    await clock.advance(30)
    await steps.done(3, "fire", 2, "sec2", "security")
    with pytest.raises(StepAlreadyDone) as refused:
        await steps.done(3, "fire", 1, "other", "security")
    assert refused.value.record.done_by == "sec" and refused.value.record.done_at == first.done_at
    recorded = await steps.for_alarm(3)
    assert [(r.step, r.done_by, r.done_at - first.done_at) for r in recorded] == [(1, "sec", 0), (2, "sec2", 30)]
    assert await steps.for_alarm(4) == []


async def test_drills_linkage_actions_and_pages(store: Store, clock: ManualClock) -> None:
    drills = DrillRepository(store.engine, store.clock)
    assert await drills.active() is None
    drill = await drills.start("fire", "1f-wait", None, "fac")
    assert (await drills.active()) == drill
    await clock.advance(600)
    ended = await drills.end(drill.id, "fac")
    assert ended is not None and ended.ended_at == drill.started_at + 600 and not ended.active
    assert await drills.active() is None and await drills.end(99, "fac") is None

    log = LinkageLog(store.engine, store.clock)
    await log.record(5, "doors_released", "door-1", "done", "unlocked", drill=True, audit_id=12)
    await log.record(6, "work_order", "1", "done", None)
    assert [(a.kind, a.drill, a.audit_id) for a in await log.for_alarm(5)] == [("doors_released", True, 12)]
    with pytest.raises(ValueError, match="status must be"):
        await log.record(5, "x", None, "maybe", None)

    pages = PageRepository(store.engine, store.clock)
    page, created = await pages.page(5, "security", TITLE, "1f-wait", "cam-3", False)
    again, created_again = await pages.page(5, "security", TITLE, "1f-wait", "cam-3", False)
    assert created and not created_again and again.id == page.id
    assert [p.id for p in await pages.list("security", unacked_only=True)] == [page.id]
    acked = await pages.ack(page.id, "sec")
    assert acked is not None and acked.acked_by == "sec"
    assert (await pages.ack(page.id, "other")).acked_by == "sec"  # type: ignore[union-attr]
    assert await pages.list("security", unacked_only=True) == []


async def test_round_runs_are_scheduled_once_and_done_when_every_item_has_a_result(
    store: Store, clock: ManualClock
) -> None:
    rounds = RoundRepository(store.engine, store.clock)
    items: list[dict[str, Any]] = [{"n": 1, "zone": "1f-ent", "device": None, "text": TITLE},
             {"n": 2, "zone": None, "device": "ups-1", "text": TITLE}]  # fmt: skip
    now = clock.time()
    run, created = await rounds.schedule("hall-daily", now, now + 3600, "reverse", items)
    same, created_again = await rounds.schedule("hall-daily", now, now + 3600, "reverse", items)
    assert created and not created_again and same.id == run.id and run.items == items
    with pytest.raises(RoundError, match="items 1 to 2, not 3"):
        await rounds.record(run.id, 3, "ok", None, "mnt")
    with pytest.raises(RoundError, match="needs a note"):
        await rounds.record(run.id, 1, "fail", "", "mnt")
    with pytest.raises(RoundError, match="result must be"):
        await rounds.record(run.id, 1, "good", None, "mnt")
    first = await rounds.record(run.id, 1, "fail", "floor wet", "mnt", work_order_id=4)
    assert first.status == "open" and first.results[0].work_order_id == 4
    corrected = await rounds.record(run.id, 1, "ok", None, "mnt")
    assert [(r.item, r.result) for r in corrected.results] == [(1, "ok")]
    done = await rounds.record(run.id, 2, "na", "room locked", "mnt")
    assert done.status == "done" and done.finished_at is not None
    with pytest.raises(RoundError, match="is done"):
        await rounds.record(run.id, 2, "ok", None, "mnt")
    late, _ = await rounds.schedule("machine-rooms", now, now + 60, "forward", items)
    assert [r.id for r in await rounds.close_missed(now + 120)] == [late.id]
    assert (await rounds.get(late.id)).status == "missed"  # type: ignore[union-attr]
    assert [r.id for r in await rounds.between(now - 1, now + 1)] == [run.id, late.id]


async def test_two_nodes_closing_missed_runs_at_once_each_report_only_their_own(db_url: str, store: Store) -> None:
    """Two nodes on one store, each closing missed runs twice at once: every run past its window is reported by
    exactly one call (before, both nodes could audit the same missed run). Several rounds, as the race is timing."""
    items: list[dict[str, Any]] = [{"n": 1, "zone": "1f-ent", "device": None, "text": TITLE}]
    first = RoundRepository(store.engine, store.clock)
    other_engine = create_engine(async_url(db_url))
    try:
        second = RoundRepository(other_engine, store.clock)
        for day in range(8):
            start = store.clock.time() + day * 86_400
            late = [(await first.schedule(f"round-{n}", start + n, start + n + 60, "forward", items))[0].id
                    for n in range(20)]  # fmt: skip
            closed = await asyncio.gather(*(node.close_missed(start + 1000) for node in (first, second, first, second)))
            ids = [run.id for runs in closed for run in runs]
            assert sorted(ids) == late, [[run.id for run in runs] for runs in closed]
    finally:
        await other_engine.dispose()


async def test_revision_0004_upgrades_from_0003_and_downgrades(db_url: str) -> None:
    engine = create_engine(async_url(db_url))
    try:
        await upgrade(engine, "0003_alarms")
        await upgrade(engine, "0004_workorders")
        assert await current(engine) == "0004_workorders"
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert {"work_orders", "work_order_events", "work_order_photos", "plan_steps", "drills", "linkage_actions",
                "pages", "round_runs", "round_results"} <= tables  # fmt: skip
        from store.migrate import _config

        def downgrade(connection: sa.Connection) -> None:
            from alembic import command

            command.downgrade(_config(connection), "0003_alarms")

        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert "work_orders" not in tables and "alarms" in tables
    finally:
        await engine.dispose()
