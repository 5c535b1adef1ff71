"""Which one or two spaces a door joins: IfcRelSpaceBoundary where present, else plan geometry beside the door."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import ifcopenshell
import numpy as np
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from twin.bim.entities import SpacesSource
from twin.bim.geometry import MeshShape, plan_rectangle

log = logging.getLogger(__name__)

# How far from the door centre a room may start: half a thick wall plus a frame, in metres.
DOOR_REACH = 0.6
# Second try for doors set in unusually thick walls or models whose spaces stop short of the wall.
WIDE_REACH = 1.5


@dataclass(frozen=True)
class SpaceOutline:
    """What the door matcher needs of a space: its guid, storey, floor level and plan area."""

    guid: str
    storey: str | None
    floor_elevation: float
    plan: BaseGeometry


def boundary_spaces(door: ifcopenshell.entity_instance) -> list[str]:
    """GlobalIds of the IfcSpaces the door bounds according to IfcRelSpaceBoundary, without repeats."""
    found: list[str] = []
    for rel in getattr(door, "ProvidesBoundaries", None) or ():
        space = rel.RelatingSpace
        if space is not None and space.is_a("IfcSpace") and space.GlobalId not in found:
            found.append(space.GlobalId)
    return found


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


def spaces_beside(
    centre: tuple[float, float],
    normal: tuple[float, float],
    candidates: Sequence[SpaceOutline],
    reach: float,
) -> list[str]:
    """The nearest space within ``reach`` on each side of the door (one or two guids, nearest first)."""
    origin = Point(centre)
    disk = origin.buffer(reach)
    best: dict[int, tuple[float, str]] = {}
    for space in candidates:
        distance = space.plan.distance(origin)
        if distance > reach:
            continue
        near_part = space.plan.intersection(disk)
        if near_part.is_empty:
            continue
        # Which side the room lies on: where the bulk of its nearby area is, relative to the door plane.
        offset = (near_part.centroid.x - centre[0]) * normal[0] + (near_part.centroid.y - centre[1]) * normal[1]
        side = 1 if offset >= 0 else -1
        if side not in best or distance < best[side][0]:
            best[side] = (distance, space.guid)
    return [guid for _, guid in sorted(best.values())]


def join_spaces(
    door_name: str,
    centre: tuple[float, float],
    sill_z: float,
    normal: tuple[float, float],
    storey: str | None,
    related: list[str],
    spaces: Sequence[SpaceOutline],
) -> tuple[tuple[str, ...], SpacesSource]:
    """The one or two spaces a door joins and how they were found (``boundary``, ``geometry`` or ``none``)."""
    by_guid = {s.guid: s for s in spaces}
    related = [guid for guid in related if guid in by_guid]
    if 1 <= len(related) <= 2:
        return tuple(related), "boundary"
    if len(related) > 2:
        # Some exporters list every room a door's boundary face touches: keep the nearest one on each side.
        chosen = spaces_beside(centre, normal, [by_guid[g] for g in related], WIDE_REACH)
        return tuple(chosen or related[:2]), "boundary"
    same_storey = [s for s in spaces if storey is not None and s.storey == storey]
    # Spaces whose floor is near the door's sill also count, for models whose rooms hang on another storey.
    same_level = [s for s in spaces if abs(s.floor_elevation - sill_z) < 1.0 and s not in same_storey]
    for candidates, reach in ((same_storey, DOOR_REACH), (same_storey + same_level, DOOR_REACH),
                              (same_storey + same_level, WIDE_REACH)):
        found = spaces_beside(centre, normal, candidates, reach)
        if found:
            if reach > DOOR_REACH:
                log.warning("door %s: nearest room is more than %.1f m away", door_name, DOOR_REACH)
            return tuple(found), "geometry"
    pool = same_storey or list(spaces)
    if not pool:
        return (), "none"
    origin = Point(centre)
    nearest = min(pool, key=lambda s: s.plan.distance(origin))
    log.warning("door %s: no room within %.1f m; joined to the nearest one", door_name, WIDE_REACH)
    return (nearest.guid,), "geometry"
