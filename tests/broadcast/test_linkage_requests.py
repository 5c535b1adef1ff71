"""The alarm linkage's requests (alarms/linkage_bus.py) drive the evacuation: one evacuation however often it is
asked, every PA zone covered, ended by EvacuationEnded where the site allows it, with what the supervisor checks."""

from __future__ import annotations

from typing import Any

from alarms.linkage_bus import EvacuationEnded, EvacuationRequested, LinkageBus
from broadcast.fire import FireLinkage
from tests.broadcast.conftest import needs
from tests.broadcast.helpers import wait_until
from twin.bus import PointBus
from twin.site.model import EvacuationRoute, LinkageSettings


@needs("espeak-ng")
async def test_linkage_bus_requests_start_once_and_end_the_evacuation(make_hall: Any) -> None:
    hall = await make_hall({"pa-a": ["spk-1"], "pa-b": ["spk-2"]})
    service = hall.service
    # The evacuation route of z-pa-a releases door-x (set on the model: the loader would want door-x's points).
    route = EvacuationRoute(zones=["z-pa-a"], doors=["door-x"])
    service.site = service.site.model_copy(update={"linkage": LinkageSettings(evacuation=[route])})
    service.settings = service.settings.model_copy(
        update={"evacuation": service.settings.evacuation.model_copy(update={"stop_on_fire_clear": True})}
    )
    fire = FireLinkage(service, PointBus(), service.site, sink=None)
    bus = LinkageBus()
    bus.subscribe(fire.on_request)
    now = service.clock.time()
    assert await bus.publish(EvacuationRequested(7, ("z-pa-a",), ("pa-a", "pa-b"), False, now)) == 1
    assert await bus.publish(EvacuationRequested(8, ("z-pa-b",), ("pa-a", "pa-b"), False, now)) == 1
    evacuations = [b for b in service.active.values() if b.kind == "evacuation"]
    assert len(evacuations) == 1 and set(evacuations[0].zones) == {"pa-a", "pa-b"}
    assert fire.supervisor is not None and fire.supervisor.fire_zones == {"z-pa-a", "z-pa-b"}
    await wait_until(lambda: all(sim.playing() for sim in hall.sims.values()), 5, "the evacuation at both speakers")
    # The supervisor's door check expects door-x (the route of z-pa-a); nobody commanded it: named as missing.
    fire.supervisor.fire_at -= 11  # its doors are judged 10 s after the fire: that time has come
    failures = await fire.supervisor._doors()
    assert [(f["door"], f["commanded"]) for f in failures] == [("door-x", False)]
    await bus.publish(EvacuationEnded(8, service.clock.time()))
    assert not [b for b in service.active.values() if b.kind == "evacuation"]
    record = (await service.log.list(kind="evacuation"))[0]
    assert record.ended_by == "system" and "no fire active" in (record.end_reason or "")
