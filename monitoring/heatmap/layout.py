"""What the heatmap knows of the building: each storey's plan extent and each site zone's footprint, storey and
area, read from the model's elements document (``<model>.elements.json``, IFC world metres)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twin.site.model import SiteConfig, ZoneType

# Where visitors stand: the rest of the counted people are spread over these (DB31/T 862 4.3 zones).
PUBLIC = frozenset({ZoneType.GUIDANCE, ZoneType.WINDOW_SERVICE, ZoneType.WAITING, ZoneType.CONVENIENCE,
                    ZoneType.SELF_SERVICE, ZoneType.SELF_SERVICE_24H, ZoneType.CIRCULATION})  # fmt: skip


@dataclass(frozen=True)
class ZonePlan:
    id: str
    storey: str
    footprint: list[tuple[float, float]]
    area: float
    public: bool


@dataclass(frozen=True)
class StoreyPlan:
    guid: str
    name: str
    elevation: float
    bounds: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax of its spaces


@dataclass(frozen=True)
class HeatmapLayout:
    storeys: Mapping[str, StoreyPlan]  # by GlobalId
    zones: Mapping[str, ZonePlan]  # by site zone id
    positions: Mapping[str, tuple[float, float, float]]  # element GlobalId -> centre (x, y, z)

    def storey(self, key: str) -> StoreyPlan | None:
        """A storey by GlobalId or by name (1F, 2F ...)."""
        found = self.storeys.get(key)
        if found is not None:
            return found
        return next((s for s in self.storeys.values() if s.name == key), None)


def build_layout(document: Mapping[str, Any], site: SiteConfig) -> HeatmapLayout:
    spaces = {s["guid"]: s for s in document.get("spaces", [])}
    zones: dict[str, ZonePlan] = {}
    for zone in site.zones:
        space = spaces.get(zone.ifc_guid)
        if space is None or not space.get("storey") or len(space.get("footprint") or []) < 3:
            continue
        ring = [(float(x), float(y)) for x, y in space["footprint"]]
        zones[zone.id] = ZonePlan(zone.id, space["storey"], ring, float(space.get("area") or 0.0),
                                  zone.zone_type in PUBLIC)  # fmt: skip
    storeys: dict[str, StoreyPlan] = {}
    for storey in document.get("storeys", []):
        rings = [p for s in spaces.values() if s.get("storey") == storey["guid"] for p in s.get("footprint") or []]
        if not rings:
            continue
        xs, ys = [float(p[0]) for p in rings], [float(p[1]) for p in rings]
        storeys[storey["guid"]] = StoreyPlan(storey["guid"], str(storey.get("name") or storey["guid"]),
                                             float(storey.get("elevation") or 0.0),
                                             (min(xs), min(ys), max(xs), max(ys)))  # fmt: skip
    positions = {e["guid"]: tuple(e["position"]) for e in document.get("elements", []) if e.get("position")}
    return HeatmapLayout(storeys, zones, positions)
