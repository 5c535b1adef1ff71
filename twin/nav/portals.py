"""Door crossings: nodes in front of each door on each side, and the short edge through the door between them.

A wide door gets three crossing lanes (middle and both jambs, kept one clearance off them), so that a path can
hug the jamb it turns around instead of bending through the door's middle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from twin.bim import Door
from twin.bim.doors import DoorSite, side_of
from twin.nav.graph import Region
from twin.nav.regions import CLEARANCE

# A door's side is unusable when the walkable area is further than this from its face (m): furniture in front.
MAX_SNAP = CLEARANCE + 0.75
# How far outside an exit its outside node stands (m).
OUTSIDE_STEP = 0.5


@dataclass(frozen=True)
class Lane:
    """One way through a door: a point on each side (region -1: outside)."""

    a: tuple[float, float]
    region_a: int
    b: tuple[float, float]
    region_b: int


def door_lanes(door: Door, plans: dict[str, BaseGeometry], regions: list[Region], space_region: dict[str, int],
               notes: list[str]) -> list[Lane]:
    """The lanes through ``door`` (empty when it leads nowhere walkable)."""
    cx, cy = door.position[0], door.position[1]
    nx, ny = door.normal
    ux, uy = -ny, nx
    half_wall = max(door.wall_thickness, 0.1) / 2
    site = DoorSite(door.name, (cx, cy), door.position[2], door.normal, door.width, max(door.wall_thickness, 0.1))
    sides: list[tuple[int, int]] = []  # (side, region)
    for guid in door.spaces:
        side = side_of(site, plans[guid])
        if sides and sides[0][0] == side:
            side = -side  # both rooms on one side is bad data: the second one must be across the leaf
        sides.append((side, space_region[guid]))
    if len(sides) == 1 and door.is_exit:
        sides.append((-sides[0][0], -1))
    if len(sides) < 2:
        return []
    spare = door.width / 2 - CLEARANCE
    offsets = [0.0] + ([-spare, spare] if spare > 0.15 else [])
    lanes: list[Lane] = []
    for offset in offsets:
        ends: list[tuple[tuple[float, float], int]] = []
        for side, region in sides:
            target = (cx + ux * offset + side * nx * half_wall, cy + uy * offset + side * ny * half_wall)
            if region < 0:
                step = half_wall + OUTSIDE_STEP
                ends.append(((cx + ux * offset + side * nx * step, cy + uy * offset + side * ny * step), -1))
                continue
            walkable = regions[region].walkable
            if walkable.is_empty:
                break
            snapped = nearest_points(walkable, Point(target))[0]
            if snapped.distance(Point(target)) > MAX_SNAP:
                break
            ends.append(((snapped.x, snapped.y), region))
        if len(ends) == 2:
            (a, ra), (b, rb) = ends
            lanes.append(Lane(a, ra, b, rb))
    if not lanes:
        notes.append(f"door {door.name or door.guid}: no walkable floor in front of it on one side")
    return _distinct(lanes)


def _distinct(lanes: list[Lane]) -> list[Lane]:
    """Drop lanes that snapped onto the same points (a narrow room in front of a wide door)."""
    kept: list[Lane] = []
    for lane in lanes:
        if all(np.hypot(lane.a[0] - k.a[0], lane.a[1] - k.a[1]) > 0.05
               or np.hypot(lane.b[0] - k.b[0], lane.b[1] - k.b[1]) > 0.05 for k in kept):
            kept.append(lane)
    return kept
