"""Shortest routes on a NavGraph: walk, step-free and evacuation, with live alarms and crowds.

A query joins two temporary nodes to the graph (the start and the goal, each linked to the nodes it can see in
its walkable region) and runs one Dijkstra (scipy.sparse.csgraph, in C). Paths on a visibility graph are already
taut: they bend only at walkable corners and door jambs, so the polyline is the shortest path to within the
clearance's arc approximation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import Point
from shapely.ops import nearest_points

from twin.nav.costs import (
    ALARM_PENALTY,
    WALK_SPEED,
    WHEELCHAIR_SPEED,
    Conditions,
    base_seconds,
    crowd_factor,
    live_seconds,
)
from twin.nav.graph import EdgeKind, NavGraph
from twin.nav.modes import Mode
from twin.nav.visibility import grazing, visible

# A place further than this (m) from any walkable floor of its storey is refused rather than snapped.
MAX_SNAP = 3.0
# Evacuation keeps its previous exit while that exit costs at most this much more than the best one.
HYSTERESIS = 0.15


class RouteError(ValueError):
    """A place that cannot be routed from or to; the message says why."""


@dataclass(frozen=True)
class Place:
    """A point on a storey (plan metres); ``space`` narrows the region when rooms overlap in plan."""

    x: float
    y: float
    storey: str
    space: str | None = None


@dataclass(frozen=True)
class Step:
    """One edge of a route: what is passed (walk, door, stair ...), from where to where."""

    kind: EdgeKind
    crossing: int  # index into graph.crossings, -1 for a walk
    start: tuple[float, float, float]
    end: tuple[float, float, float]
    length: float
    seconds: float


@dataclass(frozen=True)
class Route:
    mode: Mode
    points: tuple[tuple[float, float, float], ...]
    steps: tuple[Step, ...]
    length: float
    seconds: float  # walking time (the mode's speeds, lift waits, crowd delays)
    exit: int | None  # crossing index of the exit taken (evacuation)
    through_alarm: tuple[str, ...]  # alarmed spaces the route cannot avoid (only the start's own)


@dataclass(frozen=True)
class NoRoute:
    """No route in this mode; ``reason`` (code) and ``detail`` say why."""

    mode: Mode
    reason: str  # unreachable, no_step_free, no_exit, exits_blocked
    detail: str
    blockers: tuple[int, ...] = ()  # crossings that stop it (stairs, narrow doors, alarmed exits)


class Router:
    """Routes on one graph. Thread-safe for reads: every query builds its own arrays."""

    def __init__(self, graph: NavGraph) -> None:
        self.graph = graph
        self._base = {mode: base_seconds(graph, mode) for mode in Mode}
        self._areas = [grazing(r.walkable) if not r.walkable.is_empty else None for r in graph.regions]
        for region in graph.regions:
            shapely.prepare(region.walkable)

    # --- places ------------------------------------------------------------------------------------------

    def locate(self, place: Place) -> tuple[int, tuple[float, float]]:
        """(region, point on its walkable floor) for a place; RouteError when it is nowhere walkable."""
        point = Point(place.x, place.y)
        candidates = [r for r in self.graph.regions if r.storey == place.storey and not r.walkable.is_empty]
        if place.space is not None and place.space in self.graph.space_region:
            own = self.graph.regions[self.graph.space_region[place.space]]
            if not own.walkable.is_empty:
                candidates = [own]
        if not candidates:
            raise RouteError(f"no walkable floor on storey {place.storey}")
        best = min(candidates, key=lambda r: r.walkable.distance(point))
        if best.walkable.covers(point):
            return best.index, (place.x, place.y)
        snapped = nearest_points(best.walkable, point)[0]
        if snapped.distance(point) > MAX_SNAP:
            raise RouteError(f"({place.x:.2f}, {place.y:.2f}) is {snapped.distance(point):.1f} m from any walkable "
                             f"floor of storey {place.storey}")
        return best.index, (snapped.x, snapped.y)

    def space_at(self, x: float, y: float, storey: str) -> str | None:
        point = Point(x, y)
        best: tuple[float, str] | None = None
        for guid, region in self.graph.space_region.items():
            if self.graph.regions[region].storey != storey:
                continue
            plan = self.graph.space_plans[guid]
            distance = plan.distance(point)
            if distance < 0.3 and (best is None or distance < best[0]):
                best = (distance, guid)
        return best[1] if best else None

    # --- queries -----------------------------------------------------------------------------------------

    def route(self, start: Place, goal: Place | None, mode: Mode, conditions: Conditions | None = None,
              prefer_exit: int | None = None) -> Route | NoRoute:
        """The best route from ``start`` to ``goal`` (None: to the nearest exit, which evacuation implies)."""
        conditions = conditions or Conditions()
        graph = self.graph
        if goal is None and mode != Mode.EVACUATION:
            raise RouteError("a route without a destination is an evacuation route")
        if goal is None and len(graph.exit_nodes()) == 0:
            return NoRoute(mode, "no_exit", "the building model has no exit door (no door marked IsExternal)")
        s_region, s_point = self.locate(start)
        own = self.space_at(s_point[0], s_point[1], start.storey)
        exempt = frozenset({own} if own else ())
        speed = WHEELCHAIR_SPEED if mode == Mode.ACCESSIBLE else WALK_SPEED
        seconds = live_seconds(graph, self._base[mode], conditions, exempt, speed)
        n = graph.node_count
        s, g = n, n + 1
        rows = [graph.edge_u, graph.edge_v]
        data = [seconds]
        alarmed = self._alarmed_area(conditions, exempt)
        crowded = self._crowded(conditions)
        s_nodes, s_len = self._visible_from(s_region, s_point)
        extra_u, extra_v = [np.full(len(s_nodes), s)], [s_nodes]
        extra_w = [s_len / speed + self._penalty(alarmed, crowded, speed, s_point, graph.node_xy[s_nodes])]
        g_point: tuple[float, float] | None = None
        g_z = 0.0
        if goal is not None:
            g_region, g_point = self.locate(goal)
            g_z = graph.regions[g_region].elevation
            g_nodes, g_len = self._visible_from(g_region, g_point)
            extra_u.append(g_nodes)
            extra_v.append(np.full(len(g_nodes), g))
            extra_w.append(g_len / speed + self._penalty(alarmed, crowded, speed, g_point, graph.node_xy[g_nodes]))
            if g_region == s_region:
                direct = visible(self._areas[s_region], np.array([s_point]), np.array([g_point]))
                if direct[0]:
                    extra_u.append(np.array([s]))
                    extra_v.append(np.array([g]))
                    straight = np.hypot(s_point[0] - g_point[0], s_point[1] - g_point[1]) / speed
                    extra_w.append(straight + self._penalty(alarmed, crowded, speed, s_point, np.array([g_point])))
        else:
            exits = graph.exit_nodes()
            extra_u.append(exits)
            extra_v.append(np.full(len(exits), g))
            extra_w.append(np.full(len(exits), 1e-6))
        u = np.concatenate([rows[0], *extra_u]).astype(np.int64)
        v = np.concatenate([rows[1], *extra_v]).astype(np.int64)
        w = np.concatenate([data[0], *extra_w])
        # Directed: every edge both ways except exit -> virtual goal, which must not be a free shortcut from one
        # exit to another (a path to a preferred exit would run out of one door and in by the next).
        usable = np.isfinite(w)
        both = usable & (v != g)
        rows_u = np.concatenate([u[usable], v[both]])
        rows_v = np.concatenate([v[usable], u[both]])
        weights = np.maximum(np.concatenate([w[usable], w[both]]), 1e-9)
        matrix = csr_matrix((weights, (rows_u, rows_v)), shape=(n + 2, n + 2))
        dist, pred = dijkstra(matrix, directed=True, indices=s, return_predecessors=True)
        target = g
        exit_crossing: int | None = None
        if goal is None:
            exits = graph.exit_nodes()
            if prefer_exit is not None:
                preferred = exits[graph.node_crossing[exits] == prefer_exit]
                if len(preferred) and np.isfinite(dist[g]):
                    best_pref = preferred[np.argmin(dist[preferred])]
                    if dist[best_pref] <= dist[g] * (1 + HYSTERESIS) and dist[best_pref] < ALARM_PENALTY:
                        target = int(best_pref)
        if not np.isfinite(dist[target]):
            return self._explain(start, goal, mode)
        chain = [target]
        while chain[-1] != s:
            chain.append(int(pred[chain[-1]]))
        chain.reverse()
        if chain[-1] == g and goal is None:
            chain.pop()  # the virtual goal behind every exit
        if goal is None:
            exit_crossing = int(graph.node_crossing[chain[-1]])
        s_z = graph.regions[s_region].elevation
        points = [self._point(i, s, g, s_point, s_z, g_point, g_z) for i in chain]
        steps = []
        lookup = _EdgeLookup(graph, seconds)
        for a, b, pa, pb in zip(chain, chain[1:], points, points[1:], strict=False):
            length = float(np.linalg.norm(np.subtract(pb, pa)[:2]))
            kind, crossing, step_seconds = lookup.edge(a, b, length / speed)
            if kind in (EdgeKind.STAIR, EdgeKind.RAMP, EdgeKind.ELEVATOR):
                length = lookup.length(a, b)
            steps.append(Step(kind, crossing, pa, pb, length, step_seconds))
        total = float(dist[target])
        through: tuple[str, ...] = ()
        if total >= ALARM_PENALTY:
            if goal is None:
                return NoRoute(mode, "exits_blocked", "every way out passes through a zone with an active fire or "
                                                     "smoke alarm")
            through = tuple(sorted(conditions.alarmed_spaces - exempt))
            total -= ALARM_PENALTY * round(total / ALARM_PENALTY)
        length = sum(step.length for step in steps)
        return Route(mode, tuple(points), tuple(steps), length, total, exit_crossing, through)

    def _point(self, i: int, s: int, g: int, s_point: tuple[float, float], s_z: float,
               g_point: tuple[float, float] | None, g_z: float) -> tuple[float, float, float]:
        if i == s:
            return (s_point[0], s_point[1], s_z)
        if i == g and g_point is not None:
            return (g_point[0], g_point[1], g_z)
        x, y = self.graph.node_xy[i]
        return (float(x), float(y), float(self.graph.node_z[i]))

    def _alarmed_area(self, conditions: Conditions, exempt: frozenset[str]) -> shapely.Geometry | None:
        plans = [self.graph.space_plans[g] for g in conditions.alarmed_spaces - exempt if g in self.graph.space_plans]
        if not plans:
            return None
        area = shapely.union_all(plans).buffer(-0.05)  # a path along the alarmed room's wall does not enter it
        shapely.prepare(area)
        return area

    def _crowded(self, conditions: Conditions) -> list[tuple[shapely.Geometry, float]]:
        """(plan, crowd factor) of every space with a crowd, when the query takes crowds into account."""
        if not conditions.congestion:
            return []
        return [(self.graph.space_plans[guid], crowd_factor(density)) for guid, density in conditions.density.items()
                if density > 0 and guid in self.graph.space_plans]  # fmt: skip

    def _penalty(self, alarmed: shapely.Geometry | None, crowded: list[tuple[shapely.Geometry, float]], speed: float,
                 point: tuple[float, float], ends: np.ndarray) -> np.ndarray:
        """What the graph's own edges carry, for the start's (goal's) temporary edges to ``ends``: ALARM_PENALTY
        where one crosses an alarmed space of another room, and the crowd delay of the metres it walks in a crowd
        (in an open hall these edges can cross several zones)."""
        extra = np.zeros(len(ends))
        if len(ends) == 0 or (alarmed is None and not crowded):
            return extra
        lines = shapely.linestrings(np.stack([np.repeat(np.array([point]), len(ends), axis=0), ends], axis=1))
        if alarmed is not None:
            extra += np.where(shapely.intersects(alarmed, lines), ALARM_PENALTY, 0.0)
        for plan, factor in crowded:
            extra += shapely.length(shapely.intersection(lines, plan)) * (factor - 1.0) / speed
        return extra

    def _visible_from(self, region: int, point: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """Nodes of ``region`` that ``point`` sees, and their distances."""
        members = self.graph.region_nodes(region)
        area = self._areas[region]
        if len(members) == 0 or area is None:
            return members, np.zeros(0)
        origin = np.repeat(np.array([point]), len(members), axis=0)
        seen = members[visible(area, origin, self.graph.node_xy[members])]
        distance = np.hypot(*(self.graph.node_xy[seen] - np.array(point)).T)
        return seen, distance

    def _explain(self, start: Place, goal: Place | None, mode: Mode) -> NoRoute:
        """Why there is no route: what the walking route would have needed that this mode refuses."""
        graph = self.graph
        if mode != Mode.WALK:
            walking = self.route(start, goal, Mode.WALK)
            if isinstance(walking, Route):
                blockers = tuple(sorted({st.crossing for st in walking.steps
                                         if st.crossing >= 0 and not np.isfinite(self._cost_of(st, mode))}))
                names = ", ".join(graph.crossings[c].name or graph.crossings[c].kind for c in blockers)
                if mode == Mode.ACCESSIBLE:
                    return NoRoute(mode, "no_step_free", f"no step-free route: the way needs {names}", blockers)
                return NoRoute(mode, "unreachable", f"no evacuation route without {names}", blockers)
        target = "any exit" if goal is None else "the destination"
        return NoRoute(mode, "unreachable", f"{target} cannot be reached from the start: no door, stair or lift "
                                            f"joins their rooms in the model")

    def _cost_of(self, step: Step, mode: Mode) -> float:
        if step.crossing < 0:
            return 0.0
        matches = np.flatnonzero(self.graph.edge_crossing == step.crossing)
        return float(np.min(self._base[mode][matches])) if len(matches) else np.inf


class _EdgeLookup:
    """Kind, crossing and cost of the graph edge between two nodes (temporary start/goal edges are walks)."""

    def __init__(self, graph: NavGraph, seconds: np.ndarray) -> None:
        self.graph = graph
        self.seconds = seconds
        self.n = graph.node_count

    def _find(self, a: int, b: int) -> int | None:
        if a >= self.n or b >= self.n:
            return None
        lo, hi = min(a, b), max(a, b)
        hits = np.flatnonzero((self.graph.edge_u == lo) & (self.graph.edge_v == hi))
        return int(hits[0]) if len(hits) else None

    def edge(self, a: int, b: int, fallback_seconds: float) -> tuple[EdgeKind, int, float]:
        """(kind, crossing, seconds); a temporary edge of the start or goal is a walk of ``fallback_seconds``."""
        index = self._find(a, b)
        if index is None:
            return EdgeKind.WALK, -1, fallback_seconds
        kind = EdgeKind(int(self.graph.edge_kind[index]))
        return kind, int(self.graph.edge_crossing[index]), float(self.seconds[index] % ALARM_PENALTY)

    def length(self, a: int, b: int) -> float:
        index = self._find(a, b)
        return float(self.graph.edge_length[index]) if index is not None else 0.0
