"""Which doors lead out of the building: Pset_DoorCommon.IsExternal where the model states it, else geometry.

The geometric rule, used only for doors whose model says nothing: a door is an exit when, just past one face of
its wall, there is no room and the point lies outside the storey's outline (the union of its rooms with the
interior walls closed up). Each such decision is recorded as a Guess.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from twin.bim.doors import DoorSite, SpaceOutline
from twin.bim.entities import ExitSource, Guess

log = logging.getLogger(__name__)

# Beyond the wall face, how far the "outside" probe looks (m): past a frame and a step, short of a neighbour's room.
OUTSIDE_PROBE = 0.5
# Interior walls up to this thick (m) vanish when the storey's rooms are united into its outline.
CLOSE_WALLS = 0.6


def storey_outlines(spaces: Sequence[SpaceOutline]) -> dict[str | None, BaseGeometry]:
    """Each storey's outline: its rooms united, interior walls closed (a buffer out and back in)."""
    by_storey: dict[str | None, list[BaseGeometry]] = {}
    for space in spaces:
        by_storey.setdefault(space.storey, []).append(space.plan)
    outlines = {}
    for storey, plans in by_storey.items():
        united = shapely.union_all([p.buffer(CLOSE_WALLS / 2, join_style="mitre") for p in plans])
        outlines[storey] = united.buffer(-CLOSE_WALLS / 2, join_style="mitre")
    return outlines


def classify_exit(
    site: DoorSite,
    guid: str,
    is_external: object,
    storey: str | None,
    joined: Sequence[SpaceOutline],
    outlines: dict[str | None, BaseGeometry],
    guesses: list[Guess],
) -> tuple[bool, ExitSource]:
    """(is the door an exit, how that was decided)."""
    if isinstance(is_external, bool):
        return is_external, "pset"
    outline = outlines.get(storey)
    external = False
    if outline is not None and not outline.is_empty:
        depth = site.reach + OUTSIDE_PROBE
        for side in (1, -1):
            px = site.centre[0] + side * depth * site.normal[0]
            py = site.centre[1] + side * depth * site.normal[1]
            probe = Point(px, py)
            has_room = any(space.plan.distance(probe) < 0.05 for space in joined)
            if not has_room and not outline.buffer(0.05).contains(probe):
                external = True
    verdict = "an exit: outside the building past one face" if external else "not an exit: rooms on both faces"
    guesses.append(Guess("exit_by_geometry", guid, site.name, f"no Pset_DoorCommon.IsExternal; {verdict}"))
    log.info("door %s (%s): no IsExternal in the model; %s", guid, site.name, verdict)
    return external, "geometry"
