"""Crowd heatmaps from known positions: splats that keep their count, fusion by source (camera, queue, counters),
the compact wire form, time-window averages, and crowding alarms raised and cleared through the alarm engine."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from alarms.engine import AlarmEngine
from iot_gateway.simulators.hall import HallLayout
from monitoring.heatmap.fusion import CameraView, CrowdFusion, CrowdInputs
from monitoring.heatmap.grid import FloorGrid
from monitoring.heatmap.layout import HeatmapLayout, build_layout
from monitoring.heatmap.service import HeatmapService
from monitoring.queues.alarm_watch import AlarmWatch
from store import Store
from tests.monitoring.queue_site import GUID
from twin.bus import PointBus
from twin.clock import ManualClock
from twin.points import PointUpdate, Quality
from twin.site.model import SiteConfig

STOREY = "1" * 22
WAIT_SPACE, WIN_SPACE, OFFICE_SPACE = "2" * 22, "3" * 22, "4" * 22


def site(extra_zones: tuple[dict[str, object], ...] = (), extra_devices: tuple[dict[str, object], ...] = ()
         ) -> SiteConfig:
    zone = lambda zid, ztype, guid: {"id": zid, "name": {"zh": zid, "en": zid}, "zone_type": ztype, "ifc_guid": guid}  # noqa: E731
    counter_points = [
        {"id": f"pc.count_{d}", "name": {"zh": d, "en": d}, "kind": "analog", "brick": "Occupancy_Count_Sensor",
         "address": {"type": "mqtt", "json_path": d}} for d in ("in", "out")
    ]  # fmt: skip
    camera_points = [{"id": "cam.positions", "name": {"zh": "位置", "en": "positions"}, "kind": "text",
                      "brick": "Status", "address": {"type": "camera", "measure": "positions"}}]  # fmt: skip
    homography = [{"image": list(i), "floor": list(f)} for i, f in
                  (((0, 0), (0, 0)), ((100, 0), (10, 0)), ((100, 100), (10, 10)), ((0, 100), (0, 10)))]  # fmt: skip
    data = {
        "site": {"id": "hsite", "name": {"zh": "测试", "en": "Test"}, "ifc": "none.ifc"},
        "zones": [zone("wait", "waiting", WAIT_SPACE), zone("win", "window_service", WIN_SPACE),
                  zone("office", "office", OFFICE_SPACE), *extra_zones],
        "devices": [
            {"id": "pc", "name": {"zh": "计数", "en": "counter"}, "kind": "people_counter", "zone": "wait",
             "ifc_guid": GUID, "connection": {"type": "mqtt", "topic": "t/pc"}, "points": counter_points},
            {"id": "cam", "name": {"zh": "摄像机", "en": "camera"}, "kind": "camera", "zone": "wait", "ifc_guid": GUID,
             "connection": {"type": "camera", "source": "synthetic:", "detector": "motion",
                            "homography": homography}, "points": camera_points},
            *extra_devices,
        ],
        "heatmap": {"crowding_density": 0.5},
    }  # fmt: skip
    return SiteConfig.model_validate(data, strict=False)


def document() -> dict[str, object]:
    square = lambda x0: [[x0, 0.0], [x0 + 10.0, 0.0], [x0 + 10.0, 10.0], [x0, 10.0]]  # noqa: E731
    return {
        "storeys": [{"guid": STOREY, "name": "1F", "elevation": 0.0}],
        "spaces": [{"guid": g, "storey": STOREY, "footprint": square(x0), "area": 100.0}
                   for g, x0 in ((WAIT_SPACE, 0.0), (WIN_SPACE, 10.0), (OFFICE_SPACE, 20.0))],
        "elements": [],
    }  # fmt: skip


def layout() -> HeatmapLayout:
    return build_layout(document(), site())


def test_a_splat_keeps_its_count_and_peaks_where_the_person_stands() -> None:
    grid = FloorGrid.covering(0, 0, 10, 10, 0.5)
    grid.splat(2.25, 3.25, 1.0, 0.5)
    assert grid.cells.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.unravel_index(int(grid.cells.argmax()), grid.shape) == (6, 4)  # row = y / cell, col = x / cell
    grid.splat(50.0, 50.0, 1.0, 0.5)  # outside the plan: nobody added
    assert grid.cells.sum() == pytest.approx(1.0, abs=1e-5)


def test_fusion_trusts_cameras_then_queues_then_counters() -> None:
    fusion = CrowdFusion(layout(), 0.5, 0.5)
    seen = [(2.25, 3.25), (7.75, 7.75)]
    fused = fusion.fuse(CrowdInputs(
        cameras=[CameraView(STOREY, frozenset({"wait"}), seen)], hall_people=20.0,
        queue_people={"wait": 6.0}, window_people={"win": 3.0},
    ))  # fmt: skip
    people = fused.zone_people
    assert people["wait"] == pytest.approx(2.0, abs=1e-4)  # the camera's count; the queue there is not added
    # Three at the windows, then the other 15 of the 20 counted spread over the public zones nobody watches.
    assert people["win"] == pytest.approx(3.0 + 15.0, abs=1e-3)
    assert people["office"] == 0.0  # not a public zone
    assert fused.sources == {"wait": "camera", "win": "queue"}
    grid = fused.grids[STOREY]
    assert grid.cells.sum() == pytest.approx(20.0, abs=1e-3)
    wire = grid.wire(4.0)
    cells = np.frombuffer(base64.b64decode(str(wire["data"])), dtype=np.uint8).reshape(20, 60)
    assert (wire["width"], wire["height"], wire["origin"]) == (60, 20, [0.0, 0.0])
    # The person at (2.25, 3.25): the peak of the left room's cells is there.
    left = cells[:, :20]
    assert np.unravel_index(int(left.argmax()), left.shape) in ((6, 4), (15, 15))
    # Windows zone: 18 people over 400 cells of 0.25 m2 -> 0.18 per m2 -> level round(0.18 / 4 * 255) = 11.
    assert int(cells[10, 30]) == round(0.18 / 4.0 * 255)


async def test_live_and_time_window_grids_and_crowding_alarms(tmp_path: Path) -> None:
    clock = ManualClock(1_765_000_000.0)
    bus = PointBus()
    store = await Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}", clock=clock)
    engine = AlarmEngine(site(), bus, store, clock, layout=HallLayout())
    await engine.start()

    async def load() -> HeatmapLayout:
        return layout()

    service = HeatmapService(site(), bus, clock, None, load)
    service.watch = AlarmWatch(engine, on_delay_s=30.0)
    try:
        assert await service.ensure_layout()

        def publish(positions: list[list[float]], entered: int) -> None:
            now = clock.time()
            bus.publish(PointUpdate("cam.positions", json.dumps(positions), Quality.GOOD, now, now))
            bus.publish(PointUpdate("pc.count_in", entered, Quality.GOOD, now, now))
            bus.publish(PointUpdate("pc.count_out", 0, Quality.GOOD, now, now))

        publish([[2.0, 2.0, 1]], 1)
        await service.step()
        publish([[8.0, 8.0, 1], [8.0, 2.0, 2], [2.0, 8.0, 3]], 3)
        await clock.advance(60)
        await service.step()
        live = service.heatmap("1F", 0)
        assert live["people"] == pytest.approx(3.0, abs=1e-3) and live["frames"] == 1
        window = service.heatmap(STOREY, 5)
        assert window["frames"] == 2 and window["people"] == pytest.approx(2.0, abs=1e-2)  # (1 + 3) / 2
        with pytest.raises(KeyError, match="no storey 'ZZ'"):
            service.heatmap("ZZ", 0)
        assert not engine.active()
        # 60 people seen in the 100 m2 waiting zone: 0.6 per m2, over the site's limit of 0.5 for 30 s.
        crowd = [[0.5 + (i % 10), 0.5 + (i // 10), i] for i in range(60)]
        publish(crowd, 60)
        await service.step()
        await clock.advance(31)
        await service.step()
        alarms = engine.active()
        assert [(a.alarm_class, a.zone, a.title["en"]) for a in alarms] == [("crowding", "wait", "wait: crowded")]
        assert "60" in alarms[0].message["zh"] and "0.6" in alarms[0].message["en"]
        publish([[5.0, 5.0, 1]], 60)  # the crowd has gone
        await service.step()
        assert not engine.active()[0].active
    finally:
        await engine.stop()
        await store.close()


async def test_crowding_points_are_published_per_zone_and_for_the_hall() -> None:
    """The computed crowding points carry the fused people and density of their zone (or the hall), change only
    when the figure does, and say why a zone without a floor plan has none."""
    point = lambda pid, measure, ref: {  # noqa: E731
        "id": pid, "name": {"zh": pid, "en": pid}, "kind": "analog", "brick": "Occupancy_Count_Sensor",
        "address": {"type": "computed", "measure": measure, **({"ref": ref} if ref else {})}}
    crowd_device: dict[str, object] = {
        "id": "crowd", "name": {"zh": "人群", "en": "crowd"}, "kind": "people_counter", "zone": "wait",
        "ifc_guid": GUID,
        "connection": {"type": "computed", "source": "crowding"},
        "points": [point("crowd.wait.people", "people", "wait"), point("crowd.wait.density", "density", "wait"),
                   point("crowd.hall.people", "people", None), point("crowd.hall.density", "density", None),
                   point("crowd.annex.density", "density", "annex")]}  # fmt: skip
    annex: dict[str, object] = {"id": "annex", "name": {"zh": "附楼", "en": "annex"}, "zone_type": "office",
                                "ifc_guid": "5" * 22}
    the_site = site(extra_zones=(annex,), extra_devices=(crowd_device,))
    clock = ManualClock(1_765_000_000.0)
    bus = PointBus()
    crowd_updates = bus.subscribe("test", accept=lambda point_id: point_id.startswith("crowd."))

    async def load() -> HeatmapLayout:
        return build_layout(document(), the_site)

    service = HeatmapService(the_site, bus, clock, None, load)
    assert await service.ensure_layout()
    now = clock.time()
    # 30 people seen in the 100 m2 waiting zone, nobody counted anywhere else.
    crowd = json.dumps([[0.5 + (i % 10), 0.5 + (i // 10), i] for i in range(30)])
    bus.publish(PointUpdate("cam.positions", crowd, Quality.GOOD, now, now))
    await service.step()
    latest = bus.latest
    assert latest["crowd.wait.people"].value == pytest.approx(30.0, abs=0.1)
    assert latest["crowd.wait.density"].value == pytest.approx(0.3, abs=1e-3)
    assert latest["crowd.wait.density"].quality is Quality.GOOD
    assert latest["crowd.hall.people"].value == pytest.approx(30.0, abs=0.1)
    assert latest["crowd.hall.density"].value == pytest.approx(0.1, abs=1e-3)  # 30 people over 300 m2 of plan
    annex_update = latest["crowd.annex.density"]
    assert annex_update.quality is Quality.BAD and annex_update.value is None
    assert "'annex' has no floor plan" in (annex_update.reason or "")
    assert len(crowd_updates.drain()) == 5
    await clock.advance(5)
    await service.step()  # nothing changed: nothing published again
    assert crowd_updates.drain() == []
    bus.publish(PointUpdate("cam.positions", json.dumps([[5.0, 5.0, 1]]), Quality.GOOD, now, now))
    await service.step()
    assert bus.latest["crowd.wait.people"].value == pytest.approx(1.0, abs=0.1)
    changed = {u.point_id for u in crowd_updates.drain()}
    assert changed == {"crowd.wait.people", "crowd.wait.density", "crowd.hall.people", "crowd.hall.density"}
