"""One building's wayfinding: places by name, routes as JSON with directions, evacuation memory (hysteresis)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from shapely.geometry import Polygon

from twin.nav.builder import Built
from twin.nav.costs import Conditions
from twin.nav.graph import EdgeKind
from twin.nav.instructions import bilingual, directions, walking_seconds, wheelchair_seconds
from twin.nav.modes import Mode
from twin.nav.router import NoRoute, Place, Route, RouteError, Router
from twin.site.model import Names


class Navigator:
    """Routes on one built model; ``labels`` name its rooms (space GlobalId -> Names, e.g. the site's zones)."""

    def __init__(self, built: Built, labels: Mapping[str, Names] | None = None) -> None:
        self.built = built
        self.router = Router(built.graph)
        self.labels: dict[str, Names] = {s.guid: bilingual(s.long_name or s.name) for s in built.index.spaces}
        self.labels.update(labels or {})
        self._exit_memory: dict[tuple[str, int, int], int] = {}
        self._lock = threading.Lock()

    # --- places ------------------------------------------------------------------------------------------

    def space_place(self, guid: str) -> Place:
        """A point in the walkable part of a space (its representative point, snapped when furniture is there)."""
        space = self.built.index.space(guid)
        if space is None:
            raise RouteError(f"no space {guid}")
        point = Polygon(space.footprint).representative_point()
        return Place(point.x, point.y, space.storey or "", guid)

    def resolve(self, text: str) -> Place:
        """A space by GlobalId, name or long name (case-insensitive); RouteError naming what matched."""
        wanted = text.strip()
        index = self.built.index
        if index.space(wanted) is not None:
            return self.space_place(wanted)
        folded = wanted.casefold()
        matches = [s for s in index.spaces
                   if folded in (s.name.casefold(), (s.long_name or "").casefold())
                   or folded in (self.labels[s.guid].zh.casefold(), self.labels[s.guid].en.casefold())]
        if len(matches) == 1:
            return self.space_place(matches[0].guid)
        if len(matches) > 1:
            listed = ", ".join(f"{s.name} ({s.guid})" for s in matches[:6])
            raise RouteError(f"{text!r} names {len(matches)} rooms: {listed}; give a GlobalId")
        raise RouteError(f"no room named {text!r} (give a space name, long name or GlobalId)")

    # --- routes ------------------------------------------------------------------------------------------

    def route(self, start: Place, goal: Place | None, mode: Mode, conditions: Conditions | None = None,
              destination: Names | None = None) -> dict[str, Any]:
        """The route as JSON: points, length, times, directions; or {"ok": false, "reason", "detail"}."""
        key = (start.storey, round(start.x), round(start.y))
        prefer = None
        if goal is None:
            with self._lock:
                prefer = self._exit_memory.get(key)
        result = self.router.route(start, goal, mode, conditions, prefer_exit=prefer)
        if isinstance(result, NoRoute):
            return {
                "ok": False, "mode": mode.value, "reason": result.reason, "detail": result.detail,
                "blockers": [self._crossing_json(c) for c in result.blockers],
            }  # fmt: skip
        if goal is None and result.exit is not None:
            with self._lock:
                self._exit_memory[key] = result.exit
        return self._route_json(result, destination)

    def _route_json(self, route: Route, destination: Names | None) -> dict[str, Any]:
        graph = self.router.graph
        used: list[dict[str, Any]] = []
        for step in route.steps:
            if step.crossing >= 0 and (not used or used[-1]["guid"] != graph.crossings[step.crossing].guid):
                used.append(self._crossing_json(step.crossing))
        storeys: list[str] = []
        for point in route.points:
            guid = min(graph.storeys, key=lambda s: abs(s.elevation - point[2])).guid
            if not storeys or storeys[-1] != guid:
                storeys.append(guid)
        steps = directions(self.router, route, self.labels, destination)
        answer: dict[str, Any] = {
            "ok": True,
            "mode": route.mode.value,
            "length_m": round(route.length, 2),
            "walking_s": round(walking_seconds(route), 1),
            "cost_s": round(route.seconds, 1),
            "points": [[round(x, 3), round(y, 3), round(z, 3)] for x, y, z in route.points],
            "storeys": storeys,
            "crossings": used,
            "uses_stairs": any(s.kind == EdgeKind.STAIR for s in route.steps),
            "uses_elevator": any(s.kind == EdgeKind.ELEVATOR for s in route.steps),
            "through_alarm": list(route.through_alarm),
            "steps": [
                {"text": {"zh": i.text.zh, "en": i.text.en}, "kind": i.kind, "metres": i.metres,
                 "seconds": i.seconds, "storey": i.storey, "at": [round(c, 3) for c in i.at],
                 "landmark": i.landmark}
                for i in steps
            ],
        }  # fmt: skip
        if route.mode == Mode.ACCESSIBLE:
            answer["wheelchair_s"] = round(wheelchair_seconds(route), 1)
        if route.exit is not None:
            answer["exit"] = self._crossing_json(route.exit)
        return answer

    def _crossing_json(self, index: int) -> dict[str, Any]:
        crossing = self.router.graph.crossings[index]
        width = crossing.width if crossing.width != float("inf") else None
        return {"guid": crossing.guid, "kind": crossing.kind, "name": crossing.name, "width_m": width}
