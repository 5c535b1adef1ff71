"""Which one or two spaces a door joins: IfcRelSpaceBoundary where present, else plan geometry beside the door.

A geometric join is only believed within the door's own wall: a room counts on one side of the door when its plan
reaches into a probe box in front of that side of the leaf, as deep as half the host wall's thickness plus a small
tolerance. A room further away lies behind another wall (a toilet stall door must not open into the corridor
behind the washroom's wall). Every join made from geometry is recorded as a Guess, so that a report can say
what the model did not state itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import ifcopenshell
import ifcopenshell.util.element
import numpy as np
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from twin.bim.entities import Guess, SpacesSource
from twin.bim.geometry import MeshShape, plan_rectangle

log = logging.getLogger(__name__)

# A wall of unknown thickness is taken to be this thick (m): a common interior partition with finishes.
DEFAULT_WALL = 0.3
# How far past the wall face a room's plan may stop short and still be the room behind the door (m): finishes,
# skirting and the rounding of exporters; much less than any corridor or a second wall.
FACE_TOLERANCE = 0.15
# The probe box covers the middle of the leaf: jambs and frames often touch the neighbouring rooms' corners.
PROBE_WIDTH_SHARE = 0.6
# A room must reach this much area (m^2) into the probe box to count (float noise of touching edges is less).
MIN_PROBE_AREA = 0.005


@dataclass(frozen=True)
class SpaceOutline:
    """What the door matcher needs of a space: its guid, storey, floor level and plan area."""

    guid: str
    storey: str | None
    floor_elevation: float
    plan: BaseGeometry


@dataclass(frozen=True)
class DoorSite:
    """Where a door stands: plan centre, sill height, unit normal through the leaf, width and host wall thickness."""

    name: str
    centre: tuple[float, float]
    sill_z: float
    normal: tuple[float, float]
    width: float
    wall_thickness: float

    @property
    def reach(self) -> float:
        """How far from the door's centre line a room on either side may begin."""
        return self.wall_thickness / 2 + FACE_TOLERANCE

    def probe(self, side: int, depth: float | None = None) -> Polygon:
        """The box in front of one side (+1 along the normal, -1 against it), ``depth`` deep (default: reach)."""
        depth = self.reach if depth is None else depth
        nx, ny = self.normal
        ux, uy = -ny, nx
        half = max(self.width, 0.4) * PROBE_WIDTH_SHARE / 2
        cx, cy = self.centre
        near, far = 0.0, side * depth
        return Polygon([
            (cx + ux * half + nx * near, cy + uy * half + ny * near),
            (cx + ux * half + nx * far, cy + uy * half + ny * far),
            (cx - ux * half + nx * far, cy - uy * half + ny * far),
            (cx - ux * half + nx * near, cy - uy * half + ny * near),
        ])  # fmt: skip


def boundary_spaces(door: ifcopenshell.entity_instance) -> list[str]:
    """GlobalIds of the IfcSpaces the door bounds according to IfcRelSpaceBoundary, without repeats."""
    found: list[str] = []
    for rel in getattr(door, "ProvidesBoundaries", None) or ():
        space = rel.RelatingSpace
        if space is not None and space.is_a("IfcSpace") and space.GlobalId not in found:
            found.append(space.GlobalId)
    return found


def host_wall(door: ifcopenshell.entity_instance) -> ifcopenshell.entity_instance | None:
    """The wall (or other element) whose opening the door fills."""
    for rel in getattr(door, "FillsVoids", None) or ():
        for void_rel in getattr(rel.RelatingOpeningElement, "VoidsElements", None) or ():
            return void_rel.RelatingBuildingElement
    return None


def wall_thickness(door: ifcopenshell.entity_instance, unit_scale: float, mesh: MeshShape | None) -> float:
    """Thickness (m) of the door's host wall: its material layers, else the door's own depth, else a default."""
    wall = host_wall(door)
    if wall is not None:
        material = ifcopenshell.util.element.get_material(wall)
        layer_set = getattr(material, "ForLayerSet", None) if material is not None else None
        if layer_set is None and material is not None and material.is_a("IfcMaterialLayerSet"):
            layer_set = material
        if layer_set is not None:
            total = sum(float(layer.LayerThickness or 0.0) for layer in layer_set.MaterialLayers) * unit_scale
            if 0.02 < total < 2.0:
                return total
    if mesh is not None:
        depth = plan_rectangle(mesh)[1]
        if 0.05 < depth < 1.0:
            return max(depth, 0.1)
    return DEFAULT_WALL


def door_normal(placement: np.ndarray | None, mesh: MeshShape | None) -> tuple[float, float]:
    """Unit plan vector through the door leaf (from one side to the other).

    IFC places a door with its local X along the wall, so the normal is X turned 90 degrees; without a usable
    placement, the short side of the door's plan rectangle is taken instead.
    """
    if placement is not None:
        x_axis = placement[:2, 0]
        length = float(np.hypot(*x_axis))
        if length > 0.5:  # local X lies (mostly) in plan
            return (float(-x_axis[1] / length), float(x_axis[0] / length))
    if mesh is not None:
        _, _, (dx, dy) = plan_rectangle(mesh)
        return (-dy, dx)
    return (1.0, 0.0)


def door_width(overall_width: float | None, unit_scale: float, mesh: MeshShape | None) -> float:
    """OverallWidth in metres, else the long side of the door's plan rectangle, else 0."""
    if overall_width is not None and overall_width > 0:
        return float(overall_width) * unit_scale
    if mesh is not None:
        return plan_rectangle(mesh)[0]
    return 0.0


def side_of(site: DoorSite, plan: BaseGeometry) -> int:
    """Which side of the leaf a room lies on (+1 along the normal, -1 against it): where most of its nearby
    area is."""
    disk = Point(site.centre).buffer(max(site.reach, 0.6) + 0.5)
    near = plan.intersection(disk)
    if near.is_empty:
        near = plan
    offset = (near.centroid.x - site.centre[0]) * site.normal[0] + (near.centroid.y - site.centre[1]) * site.normal[1]
    return 1 if offset >= 0 else -1


def spaces_beside(site: DoorSite, candidates: Sequence[SpaceOutline]) -> dict[int, str]:
    """side -> guid of the room that reaches furthest into the probe box on that side of the door's wall."""
    best: dict[int, tuple[float, str]] = {}
    for side in (1, -1):
        probe = site.probe(side)
        for space in candidates:
            area = space.plan.intersection(probe).area
            if area >= MIN_PROBE_AREA and (side not in best or area > best[side][0]):
                best[side] = (area, space.guid)
    # A room that fills both probes (the door stands inside it, e.g. an open doorway drawn in one room) counts once.
    if 1 in best and -1 in best and best[1][1] == best[-1][1]:
        keep = 1 if best[1][0] >= best[-1][0] else -1
        best = {keep: best[keep]}
    return {side: guid for side, (_, guid) in best.items()}


def join_spaces(
    site: DoorSite,
    guid: str,
    storey: str | None,
    related: list[str],
    spaces: Sequence[SpaceOutline],
    guesses: list[Guess],
) -> tuple[tuple[str, ...], SpacesSource]:
    """The one or two spaces a door joins and how they were found (``boundary``, ``geometry`` or ``none``);
    every geometric decision is appended to ``guesses``."""
    by_guid = {s.guid: s for s in spaces}
    related = [g for g in related if g in by_guid]
    if 1 <= len(related) <= 2:
        return tuple(related), "boundary"
    if len(related) > 2:
        # Some exporters list every room a door's boundary face touches: keep the one on each side of the leaf.
        chosen = spaces_beside(site, [by_guid[g] for g in related])
        kept = tuple(chosen.values()) or tuple(related[:2])
        _guess(guesses, "door_boundaries_trimmed", guid, site.name,
               f"{len(related)} rooms bound the door; kept the one on each side of its wall")
        return kept, "boundary"
    same_storey = [s for s in spaces if storey is not None and s.storey == storey]
    # Spaces whose floor is near the door's sill also count, for models whose rooms hang on another storey.
    same_level = [s for s in spaces if abs(s.floor_elevation - site.sill_z) < 1.0 and s not in same_storey]
    found = spaces_beside(site, same_storey) or spaces_beside(site, same_storey + same_level)
    if not found:
        _guess(guesses, "door_unjoined", guid, site.name,
               f"no room within {site.reach:.2f} m of either face of its {site.wall_thickness:.2f} m wall")
        return (), "none"
    joined = tuple(found[side] for side in sorted(found, reverse=True))
    if len(joined) == 1:
        _guess(guesses, "door_one_side", guid, site.name,
               f"a room on one side only (within {site.reach:.2f} m); the other side is not a modelled room")
    else:
        _guess(guesses, "door_joined_by_geometry", guid, site.name,
               f"rooms on both faces of its {site.wall_thickness:.2f} m wall")
    return joined, "geometry"


def _guess(guesses: list[Guess], kind: str, guid: str, name: str, detail: str) -> None:
    guesses.append(Guess(kind, guid, name, detail))
    log.info("door %s (%s): %s", guid, name, detail)
