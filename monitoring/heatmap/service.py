"""HeatmapService: every few seconds, the crowd inputs from the PointBus and the queue analytics are fused into
per-storey grids; a grid a minute is kept for time-window heatmaps; zone densities feed the crowding alarms and the
site's computed ``crowding`` points (people and density per zone, or of the whole hall without ref)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from monitoring.heatmap.fusion import CameraView, CrowdFusion, CrowdInputs, Fused, mean_grid
from monitoring.heatmap.grid import FloorGrid
from monitoring.heatmap.layout import HeatmapLayout
from monitoring.queues import texts
from monitoring.queues.alarm_watch import AlarmWatch, Finding
from monitoring.queues.service import QueueService
from twin.bus import PointBus
from twin.clock import Clock
from twin.points import PointUpdate, Quality, Value
from twin.site.camera_model import CameraAddress, CameraConnection
from twin.site.computed_model import ComputedAddress, ComputedConnection
from twin.site.model import DeviceKind, SiteConfig
from twin.tasks import cancel_and_wait

log = logging.getLogger(__name__)
SCALE = 4.0  # people per m2 shown as the hottest colour (a packed queue)
LayoutLoader = Callable[[], Awaitable[HeatmapLayout | None]]


class HeatmapUnavailable(Exception):
    """No grid can be made now (the building model is not read yet); the message says why."""


class HeatmapService:
    def __init__(self, site: SiteConfig, bus: PointBus, clock: Clock, queues: QueueService | None,
                 load_layout: LayoutLoader, fuse_every_s: float = 5.0) -> None:  # fmt: skip
        self.site = site
        self.settings = site.heatmap
        self.bus = bus
        self.clock = clock
        self.queues = queues
        self.load_layout = load_layout
        self.fuse_every_s = fuse_every_s
        self.layout: HeatmapLayout | None = None
        self.layout_error: str | None = None
        self.fusion: CrowdFusion | None = None
        self.live: Fused | None = None
        self.live_at: float | None = None
        self.history: deque[tuple[float, dict[str, FloorGrid]]] = deque(maxlen=self.settings.keep_min)
        self.watch: AlarmWatch | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_minute = -math.inf
        self.crowd_points = _crowd_points(site)
        self._published: dict[str, tuple[Value, str | None]] = {}
        self.cameras = [
            (d, p.id) for d in site.devices if isinstance(d.connection, CameraConnection)
            for p in d.points if isinstance(p.address, CameraAddress) and p.address.measure == "positions"
        ]  # fmt: skip
        counters = [d for d in site.devices if d.kind == DeviceKind.PEOPLE_COUNTER]
        self.counts_in = [p.id for d in counters for p in d.points if p.id.endswith("count_in")]
        self.counts_out = [p.id for d in counters for p in d.points if p.id.endswith("count_out")]
        if not counters:  # entrance cameras count people in and out across their lines
            lines = [(d, p) for d in site.devices if isinstance(d.connection, CameraConnection) for p in d.points
                     if isinstance(p.address, CameraAddress)]  # fmt: skip
            self.counts_in = [p.id for _, p in lines if isinstance(p.address, CameraAddress)
                              and p.address.measure == "line_in"]  # fmt: skip
            self.counts_out = [p.id for _, p in lines if isinstance(p.address, CameraAddress)
                               and p.address.measure == "line_out"]  # fmt: skip

    async def start(self, spawn: Callable[[str, Any], asyncio.Task[Any]] | None = None) -> None:
        coro = self._run()
        self._task = spawn("heatmap", coro) if spawn is not None else asyncio.create_task(coro, name="heatmap")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            if self.fusion is None:
                await self.ensure_layout()
            if self.fusion is not None:
                await self.step()
            await self.clock.sleep(self.fuse_every_s)

    async def ensure_layout(self) -> bool:
        if self.fusion is not None:
            return True
        try:
            layout = await self.load_layout()
        except Exception as exc:  # the model cannot be read: say so once per reason, keep trying
            if str(exc) != self.layout_error:
                log.warning("heatmap: building model not available (%s)", exc)
            self.layout_error = str(exc)
            return False
        if layout is None:
            return False
        self.layout = layout
        self.fusion = await asyncio.to_thread(CrowdFusion, layout, self.settings.cell_m, self.settings.sigma_m)
        log.info("heatmap: %d storeys, %d zones with a plan", len(layout.storeys), len(layout.zones))
        return True

    # --- inputs and fusion ---------------------------------------------------------------------------------

    def inputs(self) -> CrowdInputs:
        latest = self.bus.latest
        layout = self.layout
        inputs = CrowdInputs()
        for device, point_id in self.cameras:
            update = latest.get(point_id)
            zone = layout.zones.get(device.zone) if layout else None
            if update is None or update.quality is not Quality.GOOD or zone is None:
                continue
            inputs.cameras.append(CameraView(zone.storey, frozenset({device.zone}), _positions(update.value)))
        totals = []
        for ids in (self.counts_in, self.counts_out):
            values = [latest[p].value for p in ids if p in latest and latest[p].quality is Quality.GOOD]
            totals.append(sum(float(v) for v in values if isinstance(v, int | float)) if values else None)
        if totals[0] is not None:
            inputs.hall_people = max(0.0, totals[0] - (totals[1] or 0.0))
        if self.queues is not None and self.queues.configured:
            queue_people: dict[str, float] = {}
            window_people: dict[str, float] = {}
            for group in self.queues.snapshot()["groups"]:
                zone = group["waiting_zone"]
                queue_people[zone] = queue_people.get(zone, 0.0) + group["waiting"]
                window_people[group["zone"]] = window_people.get(group["zone"], 0.0) + sum(
                    1 for w in group["windows"] if w["busy"])
            inputs.queue_people, inputs.window_people = queue_people, window_people
        return inputs

    async def step(self) -> None:
        assert self.fusion is not None
        now = self.clock.time()
        self.live = self.fusion.fuse(self.inputs())
        self.live_at = now
        minute = now // 60
        if minute != self._last_minute:
            self._last_minute = minute
            self.history.append((now, {g: FloorGrid(grid.origin, grid.cell, grid.cells.astype(np.float16))
                                       for g, grid in self.live.grids.items()}))
        self.publish(now)
        if self.watch is not None:
            await self.watch.review(self.crowd_findings(), now)

    def crowd_figures(self) -> dict[tuple[str, str | None], Value]:
        """The value of every (measure, ref) a computed crowding point may carry: people and people per m2 per
        zone with a plan, and of the whole hall (ref None: every zone with a plan, its people over its area)."""
        out: dict[tuple[str, str | None], Value] = {}
        people = area = 0.0
        for figure in self.zone_figures():
            out[("people", figure["zone"])] = figure["people"]
            out[("density", figure["zone"])] = figure["density"]
            people += figure["people"]
            area += figure["area"]
        if self.live is not None:
            out[("people", None)] = round(people, 1)
            out[("density", None)] = round(people / area, 3) if area > 0 else 0.0
        return out

    def publish(self, now: float) -> None:
        """Changed figures go on the bus as GOOD updates of the computed crowding points; a zone without a floor
        plan in the building model has none (BAD, with that reason)."""
        if not self.crowd_points:
            return
        figures = self.crowd_figures()
        updates = []
        for (measure, ref), point_ids in self.crowd_points.items():
            value = figures.get((measure, ref))
            reason = None if value is not None else (
                f"zone {ref!r} has no floor plan in the building model (no space with its GlobalId)"
                if ref is not None else "no fused crowd figure yet")
            for point_id in point_ids:
                if self._published.get(point_id) == (value, reason):
                    continue
                self._published[point_id] = (value, reason)
                quality = Quality.GOOD if value is not None else Quality.BAD
                updates.append(PointUpdate(point_id, value, quality, now, now, reason))
        if updates:
            self.bus.publish_many(updates)

    def zone_figures(self) -> list[dict[str, Any]]:
        if self.live is None or self.layout is None:
            return []
        out = []
        for zone_id, people in self.live.zone_people.items():
            zone = self.layout.zones[zone_id]
            density = people / zone.area if zone.area > 0 else 0.0
            out.append({"zone": zone_id, "storey": zone.storey, "people": round(people, 1),
                        "density": round(density, 3), "area": round(zone.area, 1),
                        "source": self.live.sources.get(zone_id)})  # fmt: skip
        return out

    def crowd_findings(self) -> list[Finding]:
        default = self.settings.crowding_density
        names = {z.id: z.name for z in self.site.zones}
        findings = []
        for figure in self.zone_figures():
            limit = self.settings.zone_density.get(figure["zone"], default)
            if limit is None or figure["zone"] not in names:
                continue
            fields = {"zone": names[figure["zone"]], "people": f"{figure['people']:.0f}",
                      "density": f"{figure['density']:.1f}", "limit": f"{limit:g}"}  # fmt: skip
            findings.append(Finding(
                key=f"crowding:{figure['zone']}", value=figure["density"], limit=limit, alarm_class="crowding",
                zone=figure["zone"], title=texts.both("alarm.crowd.title", zone=names[figure["zone"]]),
                message=texts.both("alarm.crowd.message", **fields), evidence=figure,
                revision=(round(figure["density"], 1),),
            ))  # fmt: skip
        return findings

    # --- the API's view ------------------------------------------------------------------------------------

    def heatmap(self, storey: str, window_min: float) -> dict[str, Any]:
        """The storey's grid now (window 0) or averaged over the last ``window_min`` minutes; KeyError for an
        unknown storey, HeatmapUnavailable before the model was read."""
        if self.layout is None or self.live is None:
            why = f" ({self.layout_error})" if self.layout_error else ""
            raise HeatmapUnavailable(f"the building model has not been read yet{why}: the heatmap starts once it is")
        plan = self.layout.storey(storey)
        if plan is None:
            known = ", ".join(f"{s.name} ({s.guid})" for s in self.layout.storeys.values())
            raise KeyError(f"no storey {storey!r} with a plan (storeys: {known})")
        if window_min <= 0:
            grid, frames = self.live.grids[plan.guid], 1
        else:
            since = self.clock.time() - window_min * 60.0
            chosen = [grids[plan.guid] for at, grids in self.history if at >= since and plan.guid in grids]
            frames = len(chosen)
            grid = mean_grid(chosen) or self.live.grids[plan.guid]
        zones = [z for z in self.zone_figures() if z["storey"] == plan.guid]
        return {"storey": {"guid": plan.guid, "name": plan.name, "elevation": plan.elevation},
                "window_min": window_min, "frames": frames, "at": self.live_at, **grid.wire(SCALE),
                "zones": zones}  # fmt: skip


def _crowd_points(site: SiteConfig) -> dict[tuple[str, str | None], list[str]]:
    """(measure, ref) -> the ids of the site's computed crowding points that carry it."""
    points: dict[tuple[str, str | None], list[str]] = {}
    for device in site.devices:
        if not isinstance(device.connection, ComputedConnection) or device.connection.source != "crowding":
            continue
        for point in device.points:
            if isinstance(point.address, ComputedAddress):
                points.setdefault((point.address.measure, point.address.ref), []).append(point.id)
    return points


def _positions(value: object) -> list[tuple[float, float]]:
    """The camera's positions text ``[[x, y, track], ...]`` as (x, y) pairs; anything unreadable is no one."""
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return []
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, list | tuple) and len(item) >= 2 and all(isinstance(v, int | float) for v in item[:2]):
            x, y = float(item[0]), float(item[1])
            if math.isfinite(x) and math.isfinite(y):
                out.append((x, y))
    return out
