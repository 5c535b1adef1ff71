"""Public wayfinding routes for visitors: /api/destinations (search), /api/route, /api/kiosks, /api/emergency."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.errors import error_responses
from api.wayfinding import BadPlace, Unavailable, UnknownPlace, WayfindingService, destination_json
from twin.nav.modes import Mode

router = APIRouter(tags=["wayfinding"])

Xyz = Annotated[list[float], Field(min_length=3, max_length=3, description="x, y (plan metres), z (floor level)")]
Kind = Literal["service", "window", "room", "toilet", "mother_baby", "self_service", "guidance", "convenience",
               "waiting", "exit", "elevator", "stair", "ramp"]  # fmt: skip


class Text(BaseModel):
    zh: str
    en: str


class DestinationOut(BaseModel):
    """A place a visitor can be routed to."""

    id: str = Field(description="Pass as `to` (or `from`) of /api/route, e.g. service:passport, window:5, zone:1f-wc")
    kind: str = Field(description="service, window, room, toilet, mother_baby, self_service, guidance, convenience, "
                      "waiting, exit, elevator, stair, ramp")
    name: Text
    category: str | None = Field(description="Service category id (services only)")
    storey: str = Field(description="Storey GlobalId")
    storey_name: str
    xyz: Xyz = Field(description="Where the route ends")
    space: str | None = Field(description="IfcSpace GlobalId of the room")
    zone: str | None = Field(description="Site zone id")
    windows: list[str] = Field(description="Window numbers where the service is handled (services, windows)")
    window_group: str | None
    ticket_service: str | None = Field(description="queues.services id: the queue this service takes a ticket in")
    note: Text | None
    element: str | None = Field(description="GlobalId of the element to highlight (counter, exit door, lift)")


class Hit(DestinationOut):
    score: int = Field(description="How well the query matched (higher is better)")
    matched: str = Field(description="The name, keyword, pinyin or window number that matched")


class Category(BaseModel):
    id: str
    name: Text


class SearchOut(BaseModel):
    query: str
    count: int
    results: list[Hit]
    categories: list[Category] = Field(description="The service catalogue's categories, in site.yaml order")


class KioskOut(BaseModel):
    id: str = Field(description="Pass as `from` of /api/route")
    name: Text
    storey: str
    storey_name: str
    xyz: Xyz


class Crossing(BaseModel):
    guid: str
    kind: str = Field(description="door, exit, stair, ramp or elevator")
    name: str
    width_m: float | None
    label: Text | None = Field(default=None, description="Exits: the name visitors are shown (出口（咨询导办区）)")


class Step(BaseModel):
    text: Text
    say: str = Field(description="The text in the requested language")
    kind: str = Field(description="walk, door, stair, ramp, elevator, exit or arrive")
    metres: float
    seconds: float
    storey: str
    storey_name: str
    at: Xyz
    landmark: str | None = Field(description="GlobalId of the door, stair or lift named")


class StoreyOut(BaseModel):
    guid: str
    name: str
    elevation: float | None


class Leg(BaseModel):
    storey: str
    points: list[Xyz]


class FromOut(BaseModel):
    id: str | None
    name: Text
    storey: str
    storey_name: str
    xyz: Xyz


class RouteOut(BaseModel):
    """A route, or ``ok: false`` with the reason (e.g. no safe evacuation route) and a message for the visitor."""

    ok: bool
    mode: str
    lang: str
    emergency: bool = Field(description="A fire or smoke alarm is active: routes go around its spaces")
    avoided_spaces: list[str] = Field(description="IfcSpace GlobalIds of alarmed spaces routes go around")
    crowd_spaces: int = Field(description="Spaces whose live crowd density was taken into account")
    from_: FromOut = Field(alias="from")
    to: DestinationOut | None = Field(description="The destination (none for evacuation: see exit)")
    length_m: float | None = None
    walking_s: float | None = None
    wheelchair_s: float | None = Field(default=None, description="Accessible mode: time at wheelchair speed")
    cost_s: float | None = Field(default=None, description="Time with lift waits and crowd delays")
    points: list[Xyz] | None = Field(default=None, description="The whole polyline, 3D")
    legs: list[Leg] | None = Field(default=None, description="The polyline per storey, in walking order")
    storeys: list[StoreyOut] | None = Field(default=None, description="Storeys crossed, in order")
    crossings: list[Crossing] | None = None
    uses_stairs: bool | None = None
    uses_elevator: bool | None = None
    through_alarm: list[str] | None = Field(default=None, description="Alarmed spaces the route cannot avoid (the "
                                            "start's own)")
    exit: Crossing | None = Field(default=None, description="Evacuation: the exit door taken")
    steps: list[Step] | None = None
    reason: str | None = Field(default=None, description="No route: unreachable, no_step_free, no_exit, "
                               "exits_blocked")
    detail: str | None = None
    message: Text | None = Field(default=None, description="No route: what to tell the visitor")
    blockers: list[Crossing] | None = None

    model_config = {"populate_by_name": True}


class EmergencyZone(BaseModel):
    id: str
    name: Text


class EmergencyOut(BaseModel):
    active: bool = Field(description="A fire or smoke alarm is active or latched: show evacuation guidance")
    drill: bool
    alarm_classes: list[str]
    zones: list[EmergencyZone]
    spaces: list[str] = Field(description="IfcSpace GlobalIds of the alarmed spaces")
    since: str | None = Field(description="ISO time of the first alarm raised")
    message: Text | None


def service(request: Request) -> WayfindingService:
    runtime = request.app.state.runtime
    if runtime.wayfinding is None:
        raise HTTPException(503, "wayfinding is not running (the server is starting or stopping)",
                            headers={"Retry-After": "3"})
    found: WayfindingService = runtime.wayfinding
    return found


def _unavailable(exc: Unavailable) -> HTTPException:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return HTTPException(503, str(exc), headers=headers)


Query_ = Annotated[str, Query(max_length=100, description="Chinese or English words, pinyin or initials "
                                                          "(hjqr), a window number (5号窗口, window 5, 5), a room")]


@router.get("/api/destinations", response_model=SearchOut, responses=error_responses(404, 422, 503))
async def destinations(
    request: Request,
    q: Query_ = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    kind: Annotated[Kind | None, Query(description="Only destinations of this kind")] = None,
    near: Annotated[str | None, Query(max_length=200, description="Where the visitor is (as `from` of /api/route): "
                                      "equal matches on that storey come first")] = None,
) -> dict[str, Any]:
    """Search the hall's destinations; an empty ``q`` lists them all (services first)."""
    wayfinding = service(request)
    try:
        ready = wayfinding.ready()
        storey = wayfinding.start_of(ready, near).place.storey if near and near.strip() else None
    except Unavailable as exc:
        raise _unavailable(exc) from None
    except UnknownPlace as exc:
        raise HTTPException(404, str(exc).replace("from:", "near:", 1)) from None
    hits = ready.search.search(q, limit, frozenset({kind}) if kind else None, storey)
    return {
        "query": q, "count": len(hits),
        "results": [{**destination_json(ready, h.destination), "score": h.score, "matched": h.matched} for h in hits],
        "categories": [{"id": c, "name": n.model_dump()} for c, n in ready.destinations.categories.items()],
    }  # fmt: skip


@router.get("/api/kiosks", response_model=list[KioskOut], responses=error_responses(503))
async def kiosks(request: Request) -> list[dict[str, Any]]:
    """The guidance kiosks and where each one stands ("you are here")."""
    wayfinding = service(request)
    try:
        ready = wayfinding.ready()
    except Unavailable as exc:
        raise _unavailable(exc) from None
    out = []
    for kiosk in request.app.state.runtime.site.kiosks:
        try:
            start = wayfinding.start_of(ready, kiosk.id)
        except (UnknownPlace, BadPlace):
            continue  # placed nowhere walkable: the check and the log say so
        storey = start.place.storey
        out.append({"id": kiosk.id, "name": kiosk.name.model_dump(), "storey": storey,
                    "storey_name": ready.storey_names.get(storey, ""),
                    "xyz": [start.place.x, start.place.y, ready.elevation.get(storey, 0.0)]})
    return out


@router.get("/api/route", response_model=RouteOut, response_model_by_alias=True,
            responses=error_responses(404, 422, 503))
async def route(
    request: Request,
    from_: Annotated[str, Query(alias="from", min_length=1, max_length=200,
                                description="Kiosk id, destination id, space GlobalId or x,y,storey")],
    to: Annotated[str | None, Query(max_length=200, description="Destination id (not for evacuation)")] = None,
    mode: Annotated[Mode, Query(description="walk, accessible (no stairs, wide doors) or evacuation (to the "
                                            "nearest safe exit, never lifts)")] = Mode.WALK,
    lang: Annotated[Literal["zh", "en"], Query(description="Language of each step's `say`")] = "zh",
    crowd: Annotated[bool, Query(description="Take live crowd density into account where the hall measures it")]
    = False,
) -> dict[str, Any]:
    """The route with its polyline per storey and steps; ``ok: false`` with the reason when there is none."""
    wayfinding = service(request)
    if mode != Mode.EVACUATION and not (to and to.strip()):
        return _refused("to: a destination id is needed (only mode=evacuation routes without one)", ROUTE_NEEDS_TO)
    try:
        return await wayfinding.route(from_, to, mode, crowd, lang)
    except Unavailable as exc:
        raise _unavailable(exc) from None
    except UnknownPlace as exc:
        raise HTTPException(404, str(exc)) from None
    except BadPlace as exc:
        return _refused(str(exc), NOT_WALKABLE)


# The 422 codes of /api/route for parameters that are each valid but not together (OpenAPI cannot say "to is
# required unless mode is evacuation") or that name a point off every walkable floor.
ROUTE_NEEDS_TO = "destination_required"
NOT_WALKABLE = "not_walkable"


def _refused(detail: str, code: str) -> Any:
    return JSONResponse({"detail": detail, "error": code}, status_code=422)


@router.get("/api/emergency", response_model=EmergencyOut, responses=error_responses(503))
async def emergency(request: Request) -> dict[str, Any]:
    """Is there a fire or smoke alarm now (visitors' pages poll this; they have no /ws)."""
    return service(request).emergency()
