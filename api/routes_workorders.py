"""/api/workorders: list (filters), create by hand, read, the lifecycle actions, and the resolution photo.

Thin HTTP over alarms.WorkOrderService (role rules beyond the access table, audit, due times). A refused action
answers with ``error`` its code: 403 forbidden (role, or someone else's order), 404 no such order, 409 the order
is not in a status the action may start from, 413 photo too big, 415 photo type, 422 a missing note or assignee.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from alarms.workorders import WorkOrderService
from api.auth import Principal, current_principal
from api.errors import ErrorBody, error_responses
from api.followup import Followup
from api.rooms import UnknownRoom, spaces_of
from api.text_fields import SOME_TEXT
from store.workorders import (
    STATUSES,
    NewWorkOrder,
    WorkOrder,
    WorkOrderConflict,
    WorkOrderError,
    WorkOrderFilter,
    WorkOrderNotFound,
)
from twin.site.base_model import ID_PATTERN

router = APIRouter(prefix="/api/workorders", tags=["work orders"])

GUID_PATTERN = r"^[0-9A-Za-z_$]{22}$"
OrderId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="The work order's id")]
StatusName = Literal["open", "assigned", "acknowledged", "in_progress", "resolved", "closed"]
PriorityName = Literal["critical", "high", "medium", "low"]
IdText = Annotated[str, Field(min_length=1, max_length=96, pattern=ID_PATTERN)]
UserName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
GUID = Annotated[str, Field(pattern=GUID_PATTERN)]
ROOM_DOC = ("A room: an IfcSpace GlobalId, a site zone (id or name), or the room's name or number as the building "
            "model has it (IfcSpace Name or LongName); orders placed in that space or on it")


class Title(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zh: str = Field(min_length=1, max_length=200, pattern=SOME_TEXT)
    en: str = Field(min_length=1, max_length=200, pattern=SOME_TEXT)


class CreateBody(BaseModel):
    """A work order by hand: what, how urgent, where (device, element, room or zone), optionally for whom."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    priority: PriorityName = "medium"
    description: str | None = Field(default=None, max_length=4000)
    assignee: UserName | None = None
    device: IdText | None = None
    ifc_guid: GUID | None = None
    space_guid: GUID | None = None
    zone: IdText | None = None


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=4000, description="Kept with the order's history")


class RequiredNoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=4000, pattern=SOME_TEXT)


class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: UserName = Field(description="The user who does the work")
    note: str | None = Field(default=None, max_length=4000)


class EventOut(BaseModel):
    at: float
    kind: str = Field(description="created, assign, acknowledge, start, resolve, close, reopen, comment, "
                      "escalated or photo")
    status: str = Field(description="The status after it")
    by: str
    role: str | None
    note: str | None


class WorkOrderOut(BaseModel):
    id: int
    title: dict[str, str]
    description: str | None
    status: StatusName
    priority: PriorityName
    due_at: float = Field(description="Epoch seconds; past it an active order is escalated")
    escalated: bool
    assignee: str | None
    device: str | None
    ifc_guid: str | None
    space_guid: str | None
    zone: str | None
    alarm_id: int | None
    round_run: int | None
    source: Literal["alarm", "round", "manual"]
    drill: bool
    note: str | None = Field(description="The resolution note")
    photo: bool
    created_at: float
    created_by: str
    events: list[EventOut] = Field(description="Every step with who and when (empty in lists)")


def order_json(order: WorkOrder) -> dict[str, Any]:
    return {
        "id": order.id, "title": order.title, "description": order.description, "status": order.status,
        "priority": order.priority, "due_at": order.due_at, "escalated": order.escalated, "assignee": order.assignee,
        "device": order.device, "ifc_guid": order.ifc_guid, "space_guid": order.space_guid, "zone": order.zone,
        "alarm_id": order.alarm_id, "round_run": order.round_run_id, "source": order.source, "drill": order.drill,
        "note": order.note, "photo": order.photo, "created_at": order.created_at, "created_by": order.created_by,
        "events": [{"at": e.at, "kind": e.kind, "status": e.status, "by": e.by, "role": e.role, "note": e.note}
                   for e in order.events],
    }  # fmt: skip


def followup(request: Request) -> Followup:
    found: Followup | None = getattr(request.app.state.runtime, "followup", None)
    if found is None:
        raise HTTPException(503, detail="work orders are not available: the runtime has not started its store")
    return found


def _service(request: Request) -> WorkOrderService:
    return followup(request).workorders


def refused(exc: WorkOrderError) -> JSONResponse:
    status = 404 if isinstance(exc, WorkOrderNotFound) else 409 if isinstance(exc, WorkOrderConflict) else 422
    if exc.code.startswith("forbidden"):
        status = 403
    return JSONResponse({"detail": str(exc), "error": exc.code}, status)


ACTION_ERRORS = error_responses(401, 403, 404, 409, 422, 503)


@router.get("", response_model=list[WorkOrderOut], responses=error_responses(401, 403, 422, 503))
async def list_orders(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    status: Annotated[list[StatusName] | None, Query(description="Any of these statuses")] = None,
    assignee: Annotated[str | None, Query(max_length=64, description="User name; 'me' for the caller")] = None,
    device: Annotated[str | None, Query(max_length=96, pattern=ID_PATTERN, description="A device's id")] = None,
    zone: Annotated[str | None, Query(max_length=96)] = None,
    room: Annotated[str | None, Query(min_length=1, max_length=200, pattern=SOME_TEXT, description=ROOM_DOC)] = None,
    ifc_guid: Annotated[str | None, Query(pattern=GUID_PATTERN, description="The element's IFC GlobalId")] = None,
    source: Annotated[Literal["alarm", "round", "manual"] | None, Query()] = None,
    alarm_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    overdue: Annotated[bool, Query(description="Only active orders past their due time")] = False,
    active: Annotated[bool, Query(description="Only orders still to be done (not resolved or closed)")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> JSONResponse:
    """Work orders, newest first. ``assignee=me`` lists the caller's own (the maintenance page's "my orders");
    ``room`` those of a room (a QR code on its door), ``device`` and ``ifc_guid`` those of one thing. A room no
    zone or model space is named after is a 422 naming it."""
    service = _service(request)
    spaces: list[str] = []
    if room is not None:
        try:
            spaces = await spaces_of(request, room)
        except UnknownRoom as exc:
            return JSONResponse({"detail": str(exc), "error": "unknown_room"}, 422)
    statuses: list[str] = list(status or [])
    if active:
        statuses = [s for s in (statuses or STATUSES) if s not in ("resolved", "closed")]
    wanted = WorkOrderFilter(
        status=statuses, assignee=principal.name if assignee == "me" else assignee, device=device, zone=zone,
        source=source, alarm_id=alarm_id, ifc_guid=ifc_guid, spaces=spaces,
        overdue_at=service.clock.time() if overdue else None, limit=limit, offset=offset,
    )  # fmt: skip
    return JSONResponse([order_json(order) for order in await service.find(wanted)])


@router.post("", response_model=WorkOrderOut, status_code=201, responses=error_responses(401, 403, 404, 422, 503))
async def create_order(
    request: Request, body: Annotated[CreateBody, Body()], principal: Annotated[Principal, Depends(current_principal)]
) -> JSONResponse:
    """Open a work order by hand; it is due by its priority (site.yaml workorders.due_minutes)."""
    service = _service(request)
    new = NewWorkOrder(
        title={"zh": body.title.zh, "en": body.title.en}, priority=body.priority, source="manual", due_at=0.0,
        created_by=principal.name, description=body.description, assignee=body.assignee, device=body.device,
        ifc_guid=body.ifc_guid, space_guid=body.space_guid, zone=body.zone,
    )  # fmt: skip
    problem = _unknown_place(request, body)
    if problem is None and body.assignee is not None and not await _user_exists(request, body.assignee):
        problem = f"no user {body.assignee!r}"
    if problem is not None:
        return JSONResponse({"detail": problem, "error": "unknown_reference"}, 404)
    try:
        order, _ = await service.create(_actor(principal), new)
    except WorkOrderError as exc:
        return refused(exc)
    return JSONResponse(order_json(order), 201)


async def _user_exists(request: Request, name: str) -> bool:
    return await request.app.state.runtime.store.users.get(name) is not None


def _unknown_place(request: Request, body: CreateBody) -> str | None:
    site = request.app.state.runtime.site
    if body.device is not None and body.device not in {d.id for d in site.devices}:
        return f"no device {body.device!r} in site {site.site.id}"
    if body.zone is not None and body.zone not in {z.id for z in site.zones}:
        return f"no zone {body.zone!r} in site {site.site.id}"
    return None


@router.get("/{order_id}", response_model=WorkOrderOut, responses=error_responses(401, 403, 404, 422, 503))
async def get_order(request: Request, order_id: OrderId) -> dict[str, Any]:
    """One work order with its whole history."""
    order = await _service(request).get(order_id)
    if order is None:
        raise HTTPException(404, detail=f"no work order {order_id}")
    return order_json(order)


class _Actor:
    """The principal as the services see an actor (role as its plain name)."""

    def __init__(self, principal: Principal) -> None:
        self.name = principal.name
        self.role: str | None = principal.role.value
        self.client = principal.client


def _actor(principal: Principal) -> _Actor:
    return _Actor(principal)


async def _act(
    request: Request, principal: Principal, order_id: int, action: str, note: str | None, assignee: str | None = None
) -> JSONResponse:
    try:
        order = await _service(request).act(_actor(principal), order_id, action, note=note, assignee=assignee)
    except WorkOrderError as exc:
        return refused(exc)
    return JSONResponse(order_json(order))


@router.post("/{order_id}/assign", response_model=WorkOrderOut, responses=ACTION_ERRORS)
async def assign(
    request: Request, order_id: OrderId, body: Annotated[AssignBody, Body()],
    principal: Annotated[Principal, Depends(current_principal)],
) -> JSONResponse:  # fmt: skip
    """Give the order to a user (until work has started); admin and facility dispatch."""
    if not await _user_exists(request, body.assignee):
        return JSONResponse({"detail": f"no user {body.assignee!r}", "error": "unknown_user"}, 404)
    return await _act(request, principal, order_id, "assign", body.note, body.assignee)


def _simple(action: str, doc: str) -> None:
    async def handler(
        request: Request, order_id: OrderId, principal: Annotated[Principal, Depends(current_principal)],
        body: Annotated[NoteBody | None, Body()] = None,
    ) -> JSONResponse:  # fmt: skip
        return await _act(request, principal, order_id, action, body.note if body else None)

    handler.__doc__ = doc
    handler.__name__ = f"{action}_order"
    router.post(f"/{{order_id}}/{action}", response_model=WorkOrderOut, responses=ACTION_ERRORS)(handler)


def _with_note(action: str, doc: str) -> None:
    async def handler(
        request: Request, order_id: OrderId, body: Annotated[RequiredNoteBody, Body()],
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> JSONResponse:  # fmt: skip
        return await _act(request, principal, order_id, action, body.note)

    handler.__doc__ = doc
    handler.__name__ = f"{action}_order"
    router.post(f"/{{order_id}}/{action}", response_model=WorkOrderOut, responses=ACTION_ERRORS)(handler)


_simple("acknowledge", "Take note of the order (taking it when unassigned): open or assigned -> acknowledged.")
_simple("start", "Start the work (taking it when unassigned): -> in_progress.")
_with_note("resolve", "Done: in_progress -> resolved, with a note of what was done (and a photo, see /photo).")
_simple("close", "Accept the resolution: resolved -> closed (admin, facility).")
_with_note("reopen", "Not fixed after all: resolved or closed -> open, due again by its priority (admin, facility).")
_with_note("comment", "Add a note to the history without changing the status.")


PHOTO_ERRORS: dict[int | str, dict[str, Any]] = {
    **error_responses(401, 403, 404, 409, 422, 503),
    413: {"model": ErrorBody, "description": "The photo is larger than workorders.photo_max_bytes"},
    415: {"model": ErrorBody, "description": "Not a JPEG, PNG or WebP image (checked by its first bytes)"},
}


@router.post("/{order_id}/photo", response_model=WorkOrderOut, responses=PHOTO_ERRORS)
async def upload_photo(
    request: Request, order_id: OrderId, photo: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
    principal: Annotated[Principal, Depends(current_principal)],
) -> JSONResponse:  # fmt: skip
    """The resolution photo (multipart/form-data field ``photo``); a new upload replaces the previous one."""
    service = _service(request)
    limit = service.photo_limits.max_bytes
    data = await photo.read(limit + 1)
    content_type = (photo.content_type or "").split(";")[0].strip().lower()
    if len(data) > limit:
        detail = f"the photo has more than {limit} bytes"
        await service.audit.append(action="workorder.photo", actor=principal.name, role=principal.role.value,
                                   client=principal.client, target=f"workorder:{order_id}", result="refused",
                                   detail=detail)  # fmt: skip
        return JSONResponse({"detail": detail, "error": "photo_too_large"}, 413)
    try:
        order = await service.set_photo(_actor(principal), order_id, content_type, data)
    except WorkOrderError as exc:
        response = refused(exc)
        if exc.code == "invalid_photo":
            response.status_code = 415
        return response
    return JSONResponse(order_json(order))


@router.get(
    "/{order_id}/photo",
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}},
                     "description": "The photo as uploaded"}, **error_responses(401, 403, 404, 422, 503)},
)  # fmt: skip
async def get_photo(request: Request, order_id: OrderId) -> Response:
    """The resolution photo."""
    photo = await _service(request).photo(order_id)
    if photo is None:
        raise HTTPException(404, detail=f"work order {order_id} has no photo")
    return Response(photo.data, media_type=photo.content_type, headers={"Cache-Control": "private, max-age=60"})

