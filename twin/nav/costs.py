"""What a route costs: walking speeds per edge kind, the rules of each mode, and live conditions.

Costs are seconds, so stairs, lifts and crowds compare on one scale. Numbers and their sources:
- walking 1.2 m/s on the flat; 0.6 m/s along a stair's slope (SFPE Handbook, descent on ordinary stairs);
- a manual wheelchair 0.9 m/s; a lift waits 30 s for the car and doors, then travels 1.0 m/s;
- a step-free door is at least 0.80 m wide (GB 50763-2012 3.5.3, 平开门通行净宽); the model's OverallWidth is
  the width it states, so a door drawn 0.762 m wide is refused;
- crowd speed from density by Weidmann's fundamental diagram (v = v0 (1 - exp(-1.913 (1/rho - 1/5.4)))).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from twin.nav.graph import EdgeKind, NavGraph
from twin.nav.modes import Mode

WALK_SPEED = 1.2
STAIR_SPEED = 0.6
WHEELCHAIR_SPEED = 0.9
LIFT_SPEED = 1.0
LIFT_WAIT = 30.0
ACCESSIBLE_DOOR_WIDTH = 0.80
# An edge through an alarmed zone costs this much more (s): taken only when nothing else is left, then reported.
ALARM_PENALTY = 1.0e6
# Densities (persons/m^2) at or above the jam density make a space nearly impassable rather than infinite.
JAM_DENSITY = 5.4
MIN_CROWD_SPEED_SHARE = 0.05


@dataclass(frozen=True)
class Conditions:
    """Live state that changes routes: alarmed spaces to go around, and crowd density per space."""

    alarmed_spaces: frozenset[str] = frozenset()
    density: Mapping[str, float] = field(default_factory=dict)  # persons per m^2, by space guid
    congestion: bool = False  # take density into account


def crowd_factor(density: float) -> float:
    """How many times longer a metre takes at ``density`` persons/m^2 than in an empty room (Weidmann)."""
    if density <= 0.0:
        return 1.0
    if density >= JAM_DENSITY:
        return 1.0 / MIN_CROWD_SPEED_SHARE
    share = 1.0 - math.exp(-1.913 * (1.0 / density - 1.0 / JAM_DENSITY))
    return 1.0 / max(share, MIN_CROWD_SPEED_SHARE)


def base_seconds(graph: NavGraph, mode: Mode) -> np.ndarray:
    """Seconds per edge for ``mode`` with no live conditions; inf where the mode may not use the edge."""
    kind = graph.edge_kind
    length = graph.edge_length
    flat_speed = WHEELCHAIR_SPEED if mode == Mode.ACCESSIBLE else WALK_SPEED
    seconds = length / flat_speed
    seconds = np.where(kind == EdgeKind.STAIR, length / STAIR_SPEED, seconds)
    seconds = np.where(kind == EdgeKind.ELEVATOR, LIFT_WAIT + length / LIFT_SPEED, seconds)
    if mode == Mode.ACCESSIBLE:
        seconds = np.where(kind == EdgeKind.STAIR, np.inf, seconds)
        widths = np.array([c.width for c in graph.crossings] or [np.inf])
        through = graph.edge_crossing >= 0
        narrow = np.zeros(len(kind), dtype=bool)
        narrow[through] = widths[graph.edge_crossing[through]] < ACCESSIBLE_DOOR_WIDTH
        seconds = np.where(narrow & np.isin(kind, [EdgeKind.DOOR, EdgeKind.EXIT]), np.inf, seconds)
    if mode == Mode.EVACUATION:
        seconds = np.where(kind == EdgeKind.ELEVATOR, np.inf, seconds)  # never lifts in a fire (GB 50016)
    return np.asarray(seconds, dtype=float)


def live_seconds(graph: NavGraph, base: np.ndarray, conditions: Conditions, exempt: frozenset[str],
                 speed: float) -> np.ndarray:
    """``base`` plus crowd delay and the alarm penalty (spaces in ``exempt`` carry no penalty: one's own room)."""
    seconds = base.copy()
    space_of = {guid: i for i, guid in enumerate(graph.space_guids)}
    if conditions.congestion and conditions.density:
        extra = np.zeros(len(graph.space_guids))
        for guid, density in conditions.density.items():
            if guid in space_of:
                extra[space_of[guid]] = crowd_factor(density) - 1.0
        delay = graph.incidence_length * extra[graph.incidence_space] / speed
        np.add.at(seconds, graph.incidence_edge, delay)
    alarmed = [space_of[g] for g in conditions.alarmed_spaces - exempt if g in space_of]
    if alarmed:
        hit = np.isin(graph.incidence_space, alarmed) & (graph.incidence_length > 0.01)
        penalised = np.unique(graph.incidence_edge[hit])
        seconds[penalised] += ALARM_PENALTY
    return seconds
