"""Stairs, ramps and lifts: where each one is entered on each storey it joins, and the edge between storeys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Point
from shapely.ops import nearest_points

from twin.bim import IfcIndex, VerticalConnector
from twin.bim.geometry import MeshShape
from twin.nav.graph import EdgeKind, Region

# Geometry within this height (m) of a storey's elevation is where the stair or ramp meets that floor.
LEVEL_BAND = 0.35
# A landing further than this (m) from any walkable floor of its storey is not reachable from it.
MAX_SNAP = 4.0
# A stair's walked length along its slope, per metre of rise: risers of ~0.17 m on goings of ~0.28 m, plus landings.
STAIR_LENGTH_PER_RISE = 2.0

KINDS = {"stairs": EdgeKind.STAIR, "ramps": EdgeKind.RAMP, "elevators": EdgeKind.ELEVATOR}


@dataclass(frozen=True)
class Landing:
    """Where a connector is entered on one storey."""

    storey: str
    elevation: float
    point: tuple[float, float]
    region: int


def _entry_target(connector: VerticalConnector, bodies: list[MeshShape], elevation: float,
                  kind: EdgeKind) -> tuple[float, float]:
    """The plan point where the connector meets the floor at ``elevation``."""
    if not bodies:
        return connector.position[0], connector.position[1]
    verts = np.vstack([b.verts for b in bodies])
    if kind == EdgeKind.ELEVATOR:
        return float(verts[:, 0].mean()), float(verts[:, 1].mean())
    near = verts[np.abs(verts[:, 2] - elevation) < LEVEL_BAND]
    if len(near) == 0:  # the flight stops short of the floor: take its end nearest to that height
        order = np.argsort(np.abs(verts[:, 2] - elevation))[: max(3, len(verts) // 20)]
        near = verts[order]
    return float(near[:, 0].mean()), float(near[:, 1].mean())


def landings(
    index: IfcIndex,
    connector: VerticalConnector,
    kind: EdgeKind,
    bodies: list[MeshShape],
    regions: list[Region],
    notes: list[str],
) -> list[Landing]:
    """The connector's landing on each storey it joins, snapped onto the nearest walkable floor of that storey."""
    found: list[Landing] = []
    for storey_guid in connector.storeys:
        storey = index.storey(storey_guid)
        if storey is None:
            continue
        target = Point(_entry_target(connector, bodies, storey.elevation, kind))
        best: tuple[float, Point, int] | None = None
        for region in regions:
            if region.storey != storey_guid or region.walkable.is_empty:
                continue
            snapped = nearest_points(region.walkable, target)[0]
            distance = snapped.distance(target)
            if best is None or distance < best[0]:
                best = (distance, snapped, region.index)
        if best is None or best[0] > MAX_SNAP:
            notes.append(f"{connector.ifc_class} {connector.name or connector.guid}: no walkable floor near it on "
                         f"storey {storey.name}")
            continue
        found.append(Landing(storey_guid, storey.elevation, (best[1].x, best[1].y), best[2]))
    return found


def travel_length(kind: EdgeKind, lower: Landing, upper: Landing) -> float:
    """Metres walked (or ridden) between two landings."""
    rise = abs(upper.elevation - lower.elevation)
    plan = float(np.hypot(upper.point[0] - lower.point[0], upper.point[1] - lower.point[1]))
    if kind == EdgeKind.STAIR:
        return max(plan, STAIR_LENGTH_PER_RISE * rise)
    if kind == EdgeKind.RAMP:
        return float(np.hypot(plan, rise))
    return rise


def connector_bodies(connector_parts: Mapping[str, list[str]], meshes: Mapping[str, MeshShape],
                     guid: str) -> list[MeshShape]:
    return [meshes[p] for p in connector_parts.get(guid, [guid]) if p in meshes]
