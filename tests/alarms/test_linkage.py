"""LinkageService against a real BACnet door controller and a real store: a fire releases the door (BACnet write
read back), a restart handling the same alarm again does nothing twice, the doors lock again only when no fire is
left; a door that cannot be released is retried; evacuation routes and their default come from the site."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alarms.linkage import LinkageService
from alarms.linkage_bus import EvacuationEnded, EvacuationRequested, LinkageBus
from alarms.pager import Pager
from alarms.workorders import WorkOrderService
from api.command_router import CommandRouter
from api.doors import DoorService
from bim_models.make_site import site_document
from store import Store
from store.alarms import Alarm
from store.linkage_log import LinkageLog, PageRepository
from store.workorders import WorkOrderFilter, WorkOrderRepository
from tests.iot_gateway.test_write_readback import Hall, devices, hall  # noqa: F401 - fixtures
from tests.peers import wait_until
from twin.clock import SystemClock
from twin.site.model import SiteConfig

__all__ = ["devices", "hall"]


def fire_alarm(alarm_id: int, *, active: bool = True, latched: bool = False, state: str = "unack") -> Alarm:
    return Alarm(source_key=f"fire_confirmed.hall.{alarm_id}", rule="fire_confirmed.hall", alarm_class="fire",
                 priority="critical", state=state, active=active, raised_at=1.0, latched=latched,
                 title={"zh": "大厅火警", "en": "Fire in the hall"}, message={"zh": "-", "en": "-"}, id=alarm_id,
                 zone="hall", camera="cam-1")  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        yield opened
    finally:
        await opened.close()


class Linked:
    def __init__(self, hall: Hall, store: Store) -> None:
        clock = SystemClock()
        self.tasks: list[Any] = []
        router = CommandRouter(hall.site, hall.gateway, store.audit, clock, confirm_timeout_s=2.0)
        self.doors = DoorService(hall.site, router, hall.bus, clock, self.spawn, store.audit)
        self.orders = WorkOrderRepository(store.engine, store.clock)
        workorders = WorkOrderService(hall.site, self.orders, store.audit, clock)
        self.actions = LinkageLog(store.engine, store.clock)
        self.bus = LinkageBus()
        self.service = LinkageService(hall.site, self.doors, workorders, self.actions,
                                      Pager(PageRepository(store.engine, store.clock)), self.bus, store.audit, clock,
                                      self.spawn)  # fmt: skip

    def spawn(self, name: str, coro: Any) -> Any:
        import asyncio

        task = asyncio.create_task(coro, name=name)
        self.tasks.append(task)
        return task


async def test_fire_releases_the_door_once_and_locks_it_when_no_fire_is_left(hall: Hall, store: Store) -> None:
    linked = Linked(hall, store)
    heard: list[Any] = []
    linked.bus.subscribe(heard.append)
    first, second = fire_alarm(1, latched=True), fire_alarm(2)
    await linked.service.handle(first)
    assert hall.bacnet.get_value("sec.lock") is False  # written over BACnet and read back by the router
    [release] = await store.audit.query(action="door.release")
    assert (release.target, release.actor, release.result) == ("door-1", "system", "ok")
    assert isinstance(heard[0], EvacuationRequested) and heard[0].zones == ("hall",)

    # A restart: a new service handles the open alarms again; nothing is done twice.
    again = Linked(hall, store)
    await again.service.recover([first])
    await again.service.handle(second)
    assert len(await store.audit.query(action="door.release")) == 1
    assert len(await linked.orders.find(WorkOrderFilter(alarm_id=1))) == 1
    assert [a.kind for a in await linked.actions.for_alarm(1)].count("evacuation_requested") == 1

    # The second fire clears; the first is latched (inactive but not reset): the door stays released.
    await again.service.handle(fire_alarm(2, active=False, state="rtn_unack"))
    await again.service.handle(fire_alarm(1, active=False, latched=True, state="unack"))
    assert hall.bacnet.get_value("sec.lock") is False and await store.audit.query(action="door.lock") == []
    # Reset: no fire is left, the linkage locks what it released and ends the evacuation request.
    await again.service.handle(fire_alarm(1, active=False, latched=True, state="normal"))
    assert hall.bacnet.get_value("sec.lock") is True
    [lock] = await store.audit.query(action="door.lock")
    assert lock.actor == "system" and "no fire active" in (lock.arguments or {}).get("reason", "")
    assert [a.status for a in await linked.actions.for_alarm(1) if a.kind == "door_relocked"] == ["reverted"]
    assert len(await linked.orders.find(WorkOrderFilter(source="alarm"))) == 2  # the work stays to be done


async def test_a_door_that_does_not_release_is_retried_while_the_fire_lasts(hall: Hall, store: Store) -> None:
    linked = Linked(hall, store)
    await hall.bacnet.stop()  # the controller is gone: the release fails
    try:
        await linked.service.handle(fire_alarm(5))
        [failed] = [a for a in await linked.actions.for_alarm(5) if a.kind == "doors_released"]
        assert failed.status == "failed" and linked.tasks and linked.tasks[0].get_name() == "linkage-release:door-1"
        await hall.bacnet.start()  # back: the retry releases it
        await wait_until(lambda: hall.bacnet.get_value("sec.lock") is False, 15.0, "door released on retry")
        await wait_until(lambda: linked.tasks[0].done(), 5.0, "the retry task ends once the door is released")
        statuses = [a.status for a in await linked.actions.for_alarm(5) if a.kind == "doors_released"]
        assert statuses == ["failed", "done"]
    finally:
        for task in linked.tasks:
            task.cancel()


def test_evacuation_routes_from_the_site_and_the_default_for_zones_without_one() -> None:
    site = SiteConfig.model_validate(site_document())  # the demo hall's site.yaml, as generated
    service = LinkageService.__new__(LinkageService)
    service.site, service.settings = site, site.linkage
    assert service.evacuation_doors(["1f-wait"]) == ["door-1", "door-2"]  # the hall's route
    assert service.evacuation_doors(["1f-server"]) == ["door-3", "door-4", "door-5", "door-6"]
    assert service.evacuation_doors(["2f-wait"]) == []  # 2F has no access-controlled door
    without_routes = site.model_copy(update={"linkage": site.linkage.model_copy(update={"evacuation": []})})
    service.site, service.settings = without_routes, without_routes.linkage
    # No route: the doors of the zone and of the zones sharing its PA zone (its floor or area).
    assert service.evacuation_doors(["1f-24h"]) == ["door-1", "door-2"]
    assert service.evacuation_doors(["1f-corr-n"]) == ["door-3", "door-4", "door-5", "door-6"]
    assert EvacuationEnded(1, 0.0).alarm_id == 1
