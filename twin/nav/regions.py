"""Walkable regions: each room, or rooms of one open hall merged where the model draws a virtual boundary, less
what stands in them, shrunk by the walker's clearance so that paths keep off walls and furniture."""

from __future__ import annotations

from collections.abc import Mapping

import ifcopenshell
import numpy as np
import shapely
from shapely.geometry import MultiPoint
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from twin.bim import IfcIndex
from twin.bim.geometry import MeshShape
from twin.nav.graph import Region
from twin.nav.obstacles import footprints_on

# Half a walker's width plus a margin (m): paths keep this far from walls, counters and furniture.
CLEARANCE = 0.25
# Rooms of one hall whose plans do not quite touch (exporter gaps) are still welded (m).
WELD = 0.05


def open_boundaries(model: ifcopenshell.file, spaces: set[str]) -> list[tuple[str, str]]:
    """Pairs of spaces that share a virtual boundary (IfcVirtualElement, or a boundary marked VIRTUAL)."""
    by_element: dict[int, set[str]] = {}
    for rel in model.by_type("IfcRelSpaceBoundary"):
        element = rel.RelatedBuildingElement
        space = rel.RelatingSpace
        if element is None or space is None or not space.is_a("IfcSpace") or space.GlobalId not in spaces:
            continue
        if element.is_a("IfcVirtualElement") or str(rel.PhysicalOrVirtualBoundary) == "VIRTUAL":
            by_element.setdefault(element.id(), set()).add(space.GlobalId)
    pairs = []
    for members in by_element.values():
        ordered = sorted(members)
        pairs += [(a, b) for i, a in enumerate(ordered) for b in ordered[i + 1:]]
    return pairs


# Rooms whose plans come this close (m) along at least OPEN_LENGTH have no wall between them unless one stands there.
TOUCH = 0.03
OPEN_LENGTH = 0.8
WALL_CLASSES = ("IfcWall", "IfcCurtainWall", "IfcColumn", "IfcRailing")


def touching_pairs(index: IfcIndex) -> list[tuple[str, str, BaseGeometry]]:
    """Pairs of rooms on one storey whose plans touch along OPEN_LENGTH or more, with the shared line."""
    pairs = []
    spaces = list(index.spaces)
    for i, a in enumerate(spaces):
        plan_a = index.plan(a.guid)
        grown = plan_a.buffer(TOUCH, join_style="mitre")
        for b in spaces[i + 1:]:
            if a.storey != b.storey:
                continue
            plan_b = index.plan(b.guid)
            if not grown.intersects(plan_b):
                continue
            shared = grown.intersection(plan_b.boundary)
            if shared.length >= OPEN_LENGTH:
                pairs.append((a.guid, b.guid, shared))
    return pairs


def wall_elements(model: ifcopenshell.file) -> list[ifcopenshell.entity_instance]:
    found: list[ifcopenshell.entity_instance] = []
    for name in WALL_CLASSES:
        try:
            found += model.by_type(name)
        except RuntimeError:
            continue
    return found


def open_adjacencies(index: IfcIndex, touching: list[tuple[str, str, BaseGeometry]],
                     meshes: Mapping[str, MeshShape], blockers: list[str]) -> list[tuple[str, str]]:
    """Touching rooms with an open stretch (no wall, door or column footprint on it) of OPEN_LENGTH or more:
    a kitchen open to its living room, a stair hall open to its foyer. Doors are crossings of their own."""
    shapes = [MultiPoint(np.asarray(meshes[g].verts[:, :2])).convex_hull.buffer(0.05)
              for g in blockers if g in meshes]
    walls = shapely.union_all(shapes) if shapes else None
    pairs = []
    for a, b, shared in touching:
        free = shared.difference(walls) if walls is not None else shared
        if free.length >= OPEN_LENGTH:
            pairs.append((a, b))
    return pairs


def _groups(index: IfcIndex, pairs: list[tuple[str, str]]) -> list[list[str]]:
    """Union-find of spaces over open boundaries (same storey only)."""
    parent = {s.guid: s.guid for s in index.spaces}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    storey_of = {s.guid: s.storey for s in index.spaces}
    for a, b in pairs:
        if storey_of.get(a) == storey_of.get(b):
            parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for space in index.spaces:
        groups.setdefault(find(space.guid), []).append(space.guid)
    return list(groups.values())


def build_regions(
    index: IfcIndex, model: ifcopenshell.file, meshes: Mapping[str, MeshShape], obstacles: list[str],
    open_pairs: list[tuple[str, str]],
) -> tuple[list[Region], list[str]]:
    """The walkable regions (rooms joined by ``open_pairs`` and virtual boundaries), and notes on rooms that
    leave nothing to walk on."""
    pairs = open_boundaries(model, {s.guid for s in index.spaces}) + open_pairs
    elevation = {s.guid: s.elevation for s in index.storeys}
    regions: list[Region] = []
    notes: list[str] = []
    for members in _groups(index, pairs):
        spaces = [index.space(guid) for guid in members]
        first = spaces[0]
        assert first is not None
        storey = first.storey or ""
        floor = min(s.floor_elevation for s in spaces if s is not None)
        plan = shapely.union_all([index.plan(guid).buffer(WELD, join_style="mitre") for guid in members])
        plan = plan.buffer(-WELD, join_style="mitre")
        blocked = footprints_on(meshes, obstacles, floor, floor + 2.0)
        floor_area = plan.difference(shapely.union_all(blocked)) if blocked else plan
        walkable = floor_area.buffer(-CLEARANCE, quad_segs=2, join_style="round").simplify(0.01)
        if walkable.is_empty:
            names = ", ".join(s.name for s in spaces if s is not None)
            notes.append(f"room {names}: nothing walkable (narrower than {2 * CLEARANCE:.1f} m or full of furniture)")
        walkable = _oriented(walkable)
        regions.append(Region(len(regions), storey, elevation.get(storey, floor), tuple(members), walkable))
    return regions, notes


def _oriented(geometry: BaseGeometry) -> BaseGeometry:
    """Polygons with the walkable side on the left of every ring (exterior CCW, holes CW)."""
    parts = getattr(geometry, "geoms", [geometry])
    oriented = [orient(p, 1.0) for p in parts if p.geom_type == "Polygon" and not p.is_empty]
    return shapely.multipolygons(oriented) if len(oriented) > 1 else (oriented[0] if oriented else geometry)
