"""Step-by-step directions of a route in Chinese and English, naming rooms, doors, stairs and lifts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from twin.i18n import names
from twin.nav.costs import WALK_SPEED, WHEELCHAIR_SPEED
from twin.nav.graph import EdgeKind, NavGraph
from twin.nav.router import Route, Router
from twin.site.model import Names

# Walks shorter than this (m) are folded into the next instruction: nobody needs "walk 1 m".
MIN_WALK = 2.0


@dataclass(frozen=True)
class Instruction:
    text: Names
    kind: str  # walk, door, stair, ramp, elevator, exit, arrive
    metres: float
    seconds: float
    storey: str  # where the instruction starts
    at: tuple[float, float, float]
    landmark: str | None  # GlobalId of the room, door, stair or lift named


def bilingual(name: str) -> Names:
    """An IFC name written "中文 / English" split into its languages; any other name in both."""
    if " / " in name:
        zh, _, en = name.partition(" / ")
        if zh.strip() and en.strip():
            return Names(zh=zh.strip(), en=en.strip())
    return Names(zh=name or "-", en=name or "-")


def directions(router: Router, route: Route, labels: Mapping[str, Names], destination: Names | None) -> list[
        Instruction]:
    """The route as instructions; ``labels`` name rooms (space guid -> Names), ``destination`` the goal."""
    graph = router.graph
    out: list[Instruction] = []
    walk_m = walk_s = 0.0
    walk_from: tuple[float, float, float] | None = None
    for step in route.steps:
        storey = _storey_at(graph, step.start[2])
        if step.kind == EdgeKind.WALK:
            if walk_from is None:
                walk_from = step.start
            walk_m += step.length
            walk_s += step.seconds
            continue
        if walk_m >= MIN_WALK and walk_from is not None:
            room = _room(router, labels, walk_from, storey)
            out.append(Instruction(names("nav.walk", room=room, metres=f"{walk_m:.0f}"), "walk", round(walk_m, 1),
                                   round(walk_s, 1), storey, walk_from, None))
        walk_m = walk_s = 0.0
        walk_from = None
        crossing = graph.crossings[step.crossing]
        if step.kind == EdgeKind.DOOR:
            end_storey = _storey_at(graph, step.end[2])
            room = _room(router, labels, step.end, end_storey)
            out.append(Instruction(names("nav.door", room=room), "door", round(step.length, 1), round(step.seconds, 1),
                                   storey, step.start, crossing.guid))
        elif step.kind == EdgeKind.EXIT:
            door = bilingual(crossing.name) if crossing.name else names("nav.unnamed_door")
            out.append(Instruction(names("nav.exit", door=door), "exit", round(step.length, 1),
                                   round(step.seconds, 1), storey, step.start, crossing.guid))
        else:
            target = graph.storey(_storey_at(graph, step.end[2]))
            storey_name = Names(zh=target.name, en=target.name) if target else Names(zh="-", en="-")
            key, field = {EdgeKind.STAIR: ("nav.stair", "stair"), EdgeKind.RAMP: ("nav.ramp", "ramp"),
                          EdgeKind.ELEVATOR: ("nav.elevator", "lift")}[EdgeKind(step.kind)]
            fields: dict[str, str | Names] = {field: bilingual(crossing.name), "storey": storey_name}
            out.append(Instruction(names(key, **fields), field if field != "lift" else "elevator",
                                   round(step.length, 1), round(step.seconds, 1), storey, step.start, crossing.guid))
    last = route.points[-1]
    storey = _storey_at(graph, last[2])
    if walk_m > 0 and walk_from is not None:
        room = _room(router, labels, walk_from, storey)
        out.append(Instruction(names("nav.walk", room=room, metres=f"{max(walk_m, 1):.0f}"), "walk",
                               round(walk_m, 1), round(walk_s, 1), storey, walk_from, None))
    if destination is not None:
        out.append(Instruction(names("nav.arrive", place=destination), "arrive", 0.0, 0.0, storey, last, None))
    return out


def wheelchair_seconds(route: Route) -> float:
    """The route's time at wheelchair speed on the flat (lifts and ramps as they are)."""
    flat = sum(s.length for s in route.steps if s.kind in (EdgeKind.WALK, EdgeKind.DOOR, EdgeKind.EXIT))
    other = sum(s.seconds for s in route.steps if s.kind not in (EdgeKind.WALK, EdgeKind.DOOR, EdgeKind.EXIT))
    return flat / WHEELCHAIR_SPEED + other


def walking_seconds(route: Route) -> float:
    flat = sum(s.length for s in route.steps if s.kind in (EdgeKind.WALK, EdgeKind.DOOR, EdgeKind.EXIT))
    other = sum(s.seconds for s in route.steps if s.kind not in (EdgeKind.WALK, EdgeKind.DOOR, EdgeKind.EXIT))
    return flat / WALK_SPEED + other


def _storey_at(graph: NavGraph, z: float) -> str:
    best = min(graph.storeys, key=lambda s: abs(s.elevation - z), default=None)
    return best.guid if best else ""


def _room(router: Router, labels: Mapping[str, Names], at: tuple[float, float, float], storey: str) -> Names:
    guid = router.space_at(at[0], at[1], storey)
    if guid is None:
        return names("nav.unnamed_room")
    return labels.get(guid) or names("nav.unnamed_room")
