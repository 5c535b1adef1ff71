"""Fusion of the crowd inputs into per-storey grids and per-zone people counts.

Order of trust, per zone: people a camera sees (its floor positions, each a Gaussian splat) are counted as seen;
a window group's waiting tickets stand in its waiting zone and one visitor stands at each open window; the rest of
the hall's count (people counters: in - out) is spread over the public zones nobody watches, by area. A zone a
camera covers takes nothing from the other sources: the camera is the better witness there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from monitoring.heatmap.grid import FloorGrid
from monitoring.heatmap.layout import HeatmapLayout


@dataclass(frozen=True)
class CameraView:
    """One camera's floor positions now (metres, storey coordinates) and the zones it watches."""

    storey: str
    zones: frozenset[str]
    positions: list[tuple[float, float]]


@dataclass
class CrowdInputs:
    """Everything the fusion takes, read from the bus and the queue analytics."""

    cameras: list[CameraView] = field(default_factory=list)
    hall_people: float | None = None  # counters: people in the building now (None: no counter)
    queue_people: Mapping[str, float] = field(default_factory=dict)  # zone -> people waiting there
    window_people: Mapping[str, float] = field(default_factory=dict)  # zone -> visitors at open windows


@dataclass
class Fused:
    grids: dict[str, FloorGrid]  # storey GlobalId -> people per cell
    zone_people: dict[str, float]
    sources: dict[str, str]  # zone -> camera | queue | counters


class CrowdFusion:
    """Grids and masks of one layout, made once; ``fuse`` is called every few seconds."""

    def __init__(self, layout: HeatmapLayout, cell: float, sigma: float) -> None:
        self.layout = layout
        self.sigma = sigma
        self.blank = {g: FloorGrid.covering(*s.bounds, cell) for g, s in layout.storeys.items()}
        self.masks: dict[str, NDArray[np.bool_]] = {}
        self.polygons = {z.id: shapely.Polygon(z.footprint) for z in layout.zones.values()}
        for zone in layout.zones.values():
            grid = self.blank.get(zone.storey)
            if grid is not None:
                self.masks[zone.id] = grid.mask(zone.footprint)

    def fuse(self, inputs: CrowdInputs) -> Fused:
        grids = {g: grid.empty() for g, grid in self.blank.items()}
        zones = self.layout.zones
        people: dict[str, float] = {z: 0.0 for z in zones}
        sources: dict[str, str] = {}
        watched: set[str] = set()
        for camera in inputs.cameras:
            grid = grids.get(camera.storey)
            if grid is None:
                continue
            watched |= camera.zones
            for x, y in camera.positions:
                grid.splat(x, y, 1.0, self.sigma)
        for zone_id in watched:
            zone = zones.get(zone_id)
            if zone is None:
                continue
            # A seen person counts in the zone their foot point stands in (the splat may reach over the wall).
            points = [p for camera in inputs.cameras if camera.storey == zone.storey for p in camera.positions]
            if points:
                xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
                people[zone_id] = float(np.count_nonzero(shapely.contains_xy(self.polygons[zone_id], xs, ys)))
            sources[zone_id] = "camera"
        placed = sum(people.values())
        for mapping, source in ((inputs.queue_people, "queue"), (inputs.window_people, "queue")):
            for zone_id, count in mapping.items():
                if zone_id in watched or zone_id not in self.masks or count <= 0:
                    continue
                grids[zones[zone_id].storey].spread(self.masks[zone_id], count)
                people[zone_id] += count
                placed += count
                sources[zone_id] = source
        if inputs.hall_people is not None:
            rest = max(0.0, inputs.hall_people - placed)
            open_zones = [z for z in zones.values() if z.public and z.id not in watched and z.id in self.masks]
            area = sum(z.area for z in open_zones)
            for zone in open_zones if area > 0 else ():
                share = rest * zone.area / area
                grids[zone.storey].spread(self.masks[zone.id], share)
                people[zone.id] += share
                sources.setdefault(zone.id, "counters")
        return Fused(grids, people, sources)


def mean_grid(grids: Iterable[FloorGrid]) -> FloorGrid | None:
    """The average of several grids of one storey (a time window)."""
    items = list(grids)
    if not items:
        return None
    total = np.zeros(items[0].cells.shape, dtype=np.float32)
    for grid in items:
        total += grid.cells
    return FloorGrid(items[0].origin, items[0].cell, (total / np.float32(len(items))).astype(np.float32))
