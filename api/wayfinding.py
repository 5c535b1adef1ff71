"""The running hall's wayfinding: the navigation graph built off the event loop, destinations and their search,
places a route starts from, live conditions (fire/smoke alarms, crowds) and route answers for /api/route.

The graph is built in a child process (twin.nav.build_process, cached by the IFC's hash in the data folder's
cache) when the server starts, or at the first request when it did not; until it is ready, requests get
``Unavailable`` (503 with Retry-After). Routes run on a worker thread: a Dijkstra over the graph takes
milliseconds, but a large model must not stall the event loop for every other client.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.i18n import names
from twin.nav.costs import Conditions
from twin.nav.destination_search import DestinationSearch
from twin.nav.destinations import Destination, Destinations, build_destinations
from twin.nav.live import Danger, crowd_density, danger
from twin.nav.modes import Mode
from twin.nav.navigator import Navigator
from twin.nav.router import Place, RouteError
from twin.site.model import Names

if TYPE_CHECKING:
    from api.runtime import HallRuntime
    from twin.nav.builder import Built

log = logging.getLogger(__name__)

BUILD_RETRY_AFTER_S = 3
FAILED_RETRY_AFTER_S = 60
_POINT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*(\S.*?)\s*$")


class Unavailable(Exception):
    """Wayfinding cannot answer now; ``retry_after`` seconds is when it may (None: not before the model changes)."""

    def __init__(self, message: str, retry_after: int | None, code: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.code = code


class UnknownPlace(LookupError):
    """A ``from`` or ``to`` that names nothing this hall has; the message says what was looked for."""


class BadPlace(ValueError):
    """A ``from`` or ``to`` that is written wrongly (e.g. a point off every walkable floor)."""


@dataclass(frozen=True)
class Ready:
    """What a built model offers: the navigator, destinations and their search, and place lookups."""

    navigator: Navigator
    destinations: Destinations
    search: DestinationSearch
    space_area: dict[str, float]
    storey_names: dict[str, str]
    elevation: dict[str, float]


@dataclass(frozen=True)
class Start:
    place: Place
    id: str | None
    name: Names


class WayfindingService:
    """Wayfinding of one runtime: build state, lookups and route answers (see the module docstring)."""

    def __init__(self, runtime: HallRuntime) -> None:
        self.runtime = runtime
        self._ready: Ready | None = None
        self._task: asyncio.Task[None] | None = None
        self._failure: str | None = None
        self._failed_on: tuple[int, int] | None = None  # the IFC's (mtime, size) when the build failed
        self.builds = 0

    # --- build ---------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Start building now (at server start) so that the first visitor does not wait."""
        if self._ready is None and self._task is None and self._failure is None:
            self._task = self.runtime.spawn("wayfinding-build", self._build())

    async def _build(self) -> None:
        from twin.nav.build_process import build_in_process

        self.builds += 1
        started = time.perf_counter()
        ifc = self.runtime.ifc_path
        try:
            if not ifc.is_file():
                raise FileNotFoundError(f"the building model {ifc} does not exist (site.ifc in "
                                        f"{self.runtime.site_path})")
            built = await build_in_process(ifc, self.runtime.cache_dir / "nav")
            self._ready = await asyncio.to_thread(self._assemble, built)
            self._failure = None
            log.info("wayfinding ready: %d destinations, graph %d nodes (%.1f s)", len(self._ready.destinations.items),
                     built.graph.node_count, time.perf_counter() - started)  # fmt: skip
        except Exception as exc:  # any build failure is answered to visitors as 503 with the reason
            self._failure = f"wayfinding is unavailable: cannot build the navigation graph of {ifc}: {exc}"
            self._failed_on = _signature(ifc)
            log.error("%s", self._failure)
        finally:
            self._task = None

    def _assemble(self, built: Built) -> Ready:
        site = self.runtime.site
        labels = {z.ifc_guid: z.name for z in site.zones if built.index.space(z.ifc_guid) is not None}
        navigator = Navigator(built, labels)
        destinations = build_destinations(site, built.index)
        for destination in list(destinations.items.values()):
            try:  # a destination nobody can walk to is left out, with the reason in the notes
                navigator.router.locate(Place(destination.x, destination.y, destination.storey, destination.space))
            except RouteError as exc:
                del destinations.items[destination.id]
                destinations.notes.append(f"{destination.id}: {exc}")
        for note in destinations.notes:
            log.warning("wayfinding: %s", note)
        areas = {s.guid: s.area for s in built.index.spaces}
        return Ready(navigator, destinations, DestinationSearch(destinations.items.values()), areas,
                     {s.guid: s.name for s in built.index.storeys}, {s.guid: s.elevation for s in built.index.storeys})

    def ready(self) -> Ready:
        """The built model, or Unavailable (building: retry in a few seconds; failed: the reason)."""
        if self._ready is not None:
            return self._ready
        if self._failure is not None and _signature(self.runtime.ifc_path) != self._failed_on:
            self._failure = None  # the model was fixed (or put in place): build again
        if self._failure is not None:
            raise Unavailable(self._failure, FAILED_RETRY_AFTER_S, "nav_failed")
        self.prepare()
        raise Unavailable("wayfinding is starting: the navigation graph of the building is being built; retry in a "
                          "few seconds", BUILD_RETRY_AFTER_S, "nav_building")

    # --- live conditions -----------------------------------------------------------------------------------

    def danger(self) -> Danger:
        engine = self.runtime.alarms
        alarms = engine.active() if engine is not None else []
        return danger(alarms, self.runtime.site, self.runtime.site.linkage.fire_classes)

    def conditions(self, ready: Ready, crowd: bool) -> tuple[Conditions, Danger]:
        """Alarmed spaces always (no route should lead a visitor into a fire), crowd densities when asked for."""
        found = self.danger()
        density = crowd_density(self.runtime.site, self.runtime.bus.latest, ready.space_area) if crowd else {}
        return Conditions(alarmed_spaces=found.spaces, density=density, congestion=crowd and bool(density)), found

    # --- places --------------------------------------------------------------------------------------------

    def storey_guid(self, ready: Ready, text: str) -> str | None:
        if text in ready.storey_names:
            return text
        folded = text.strip().casefold()
        return next((g for g, n in ready.storey_names.items() if n.casefold() == folded), None)

    def start_of(self, ready: Ready, text: str) -> Start:
        """``from``: a kiosk id, a destination id, a space GlobalId or "x,y,storey" (storey name or GlobalId)."""
        wanted = text.strip()
        kiosk = next((k for k in self.runtime.site.kiosks if k.id == wanted), None)
        if kiosk is not None:
            return Start(self._kiosk_place(ready, kiosk), kiosk.id, kiosk.name)
        destination = ready.destinations.get(wanted)
        if destination is not None:
            return Start(_place(destination), destination.id, destination.name)
        space = ready.navigator.built.index.space(wanted)
        if space is not None:
            return Start(ready.navigator.space_place(wanted), wanted, ready.navigator.labels[wanted])
        match = _POINT.match(wanted)
        if match:
            storey = self.storey_guid(ready, match.group(3))
            if storey is None:
                listed = ", ".join(ready.storey_names.values())
                raise UnknownPlace(f"from: no storey {match.group(3)!r} in the building (storeys: {listed})")
            x, y = float(match.group(1)), float(match.group(2))
            return Start(Place(x, y, storey), None, names("wayfinding.point", x=f"{x:.1f}", y=f"{y:.1f}"))
        raise UnknownPlace(f"from: {wanted!r} is no kiosk, destination, space GlobalId or point x,y,storey of this "
                           f"hall")

    def _kiosk_place(self, ready: Ready, kiosk: Any) -> Place:
        if kiosk.point is not None:
            storey = self.storey_guid(ready, kiosk.point.storey)
            if storey is not None:
                return Place(kiosk.point.x, kiosk.point.y, storey)
        zone = next((z for z in self.runtime.site.zones if z.id == kiosk.zone), None)
        if zone is None or ready.navigator.built.index.space(zone.ifc_guid) is None:
            raise BadPlace(f"kiosk {kiosk.id}: its location is not on the building model")
        return ready.navigator.space_place(zone.ifc_guid)

    def goal_of(self, ready: Ready, text: str) -> Destination:
        wanted = text.strip()
        destination = ready.destinations.get(wanted)
        if destination is not None:
            return destination
        space = ready.navigator.built.index.space(wanted)
        if space is not None:
            found = next((d for d in ready.destinations.items.values()
                          if d.space == wanted and d.kind not in ("service", "window", "exit")), None)  # fmt: skip
            if found is not None:
                return found
        hint = ready.search.search(wanted, 3)
        also = f"; did you mean {', '.join(h.destination.id for h in hint)}?" if hint else ""
        raise UnknownPlace(f"to: no destination {wanted!r} (see GET /api/destinations){also}")

    # --- routes --------------------------------------------------------------------------------------------

    async def route(self, start_text: str, goal_text: str | None, mode: Mode, crowd: bool, lang: str) -> dict[
            str, Any]:
        ready = self.ready()
        start = self.start_of(ready, start_text)
        goal = None if mode == Mode.EVACUATION else self.goal_of(ready, goal_text or "")
        conditions, found = self.conditions(ready, crowd)
        goal_place = _place(goal) if goal is not None else None
        try:
            answer = await asyncio.to_thread(ready.navigator.route, start.place, goal_place, mode, conditions,
                                             goal.arrive_at if goal else None)  # fmt: skip
        except RouteError as exc:
            raise BadPlace(str(exc)) from None
        return self._shape(ready, answer, start, goal, found, conditions, lang)

    def _shape(self, ready: Ready, answer: dict[str, Any], start: Start, goal: Destination | None, found: Danger,
               conditions: Conditions, lang: str) -> dict[str, Any]:
        answer["from"] = {"id": start.id, "name": start.name.model_dump(), "storey": start.place.storey,
                          "storey_name": ready.storey_names.get(start.place.storey, ""),
                          "xyz": [start.place.x, start.place.y, ready.elevation.get(start.place.storey, 0.0)]}
        answer["to"] = destination_json(ready, goal) if goal else None
        answer["lang"] = lang
        answer["emergency"] = found.active
        answer["avoided_spaces"] = sorted(found.spaces)
        answer["crowd_spaces"] = len(conditions.density)
        if not answer["ok"]:
            answer["message"] = _no_route_message(answer)
            return answer
        answer["storeys"] = [{"guid": g, "name": ready.storey_names.get(g, ""), "elevation": ready.elevation.get(g)}
                             for g in answer["storeys"]]  # fmt: skip
        answer["legs"] = _legs(answer["points"], ready.elevation)
        exit_door = ready.destinations.get(f"exit:{answer['exit']['guid']}") if answer.get("exit") else None
        if answer.get("exit"):
            answer["exit"]["label"] = exit_door.name.model_dump() if exit_door else None
        for step in answer["steps"]:
            if step["kind"] == "exit" and exit_door is not None and step["landmark"] == exit_door.element:
                step["text"] = names("nav.exit", door=exit_door.name).model_dump()  # the model's door name is a code
            step["say"] = step["text"][lang]
            step["storey_name"] = ready.storey_names.get(step["storey"], "")
        return answer

    def emergency(self) -> dict[str, Any]:
        found = self.danger()
        zones = {z.id: z for z in self.runtime.site.zones}
        return {
            "active": found.active,
            "drill": found.drill,
            "alarm_classes": list(found.classes),
            "zones": [{"id": z, "name": zones[z].name.model_dump() if z in zones else {"zh": z, "en": z}}
                      for z in found.zones],
            "spaces": sorted(found.spaces),
            "since": _iso(found.since),
            "message": _emergency_message(found),
        }  # fmt: skip


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def _place(destination: Destination) -> Place:
    return Place(destination.x, destination.y, destination.storey, destination.space)


def destination_json(ready: Ready, d: Destination) -> dict[str, Any]:
    """A destination as the API shows it (DestinationOut)."""
    site_zone = d.zone
    return {
        "id": d.id, "kind": d.kind, "name": d.name.model_dump(), "category": d.category,
        "storey": d.storey, "storey_name": ready.storey_names.get(d.storey, ""),
        "xyz": [d.x, d.y, ready.elevation.get(d.storey, 0.0)], "space": d.space, "zone": site_zone,
        "windows": list(d.windows), "window_group": d.window_group, "ticket_service": d.ticket_service,
        "note": d.note.model_dump() if d.note else None, "element": d.element,
    }  # fmt: skip


def _legs(points: list[list[float]], elevation: dict[str, float]) -> list[dict[str, Any]]:
    """The polyline cut into runs on one storey (a stair or lift ride joins two runs)."""
    legs: list[dict[str, Any]] = []
    for point in points:
        storey = min(elevation, key=lambda g: abs(elevation[g] - point[2]))
        if not legs or legs[-1]["storey"] != storey:
            legs.append({"storey": storey, "points": []})
        legs[-1]["points"].append(point)
    return legs


def _no_route_message(answer: dict[str, Any]) -> dict[str, str]:
    reason = answer.get("reason")
    known = ("exits_blocked", "no_step_free", "no_exit")
    return names(f"wayfinding.no_route.{reason if reason in known else 'unreachable'}").model_dump()


def _emergency_message(found: Danger) -> dict[str, str] | None:
    if not found.active:
        return None
    return names("wayfinding.emergency_drill" if found.drill else "wayfinding.emergency").model_dump()


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat()

