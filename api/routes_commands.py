"""POST /api/points/{id}/write and /release, GET /api/doors, POST /api/doors/{id}/unlock and /lock.

Thin HTTP over the CommandRouter and the DoorService (api/command_router.py, api/doors.py): the body is read, the
caller comes from the access guard, the outcome's code picks the HTTP status (command_router.CODES) and every
status a route can answer is documented. Errors have the shared ErrorBody shape (``detail`` the sentence,
``error`` the code) plus ``result``, the whole outcome, so a client sees what the device read back.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal, current_principal
from api.command_router import CommandResult, CommandRouter
from api.doors import DoorService, DoorState
from api.errors import ErrorBody
from api.text_fields import SOME_TEXT

router = APIRouter(tags=["commands"])

Scalar = bool | int | float | str
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        description="Send the same key to retry a command safely: it acts once and answers the first result",
    ),
]



class WriteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Scalar = Field(description="A number (analog), true/false (binary), a state name or number (multistate)")
    reason: str = Field(min_length=1, max_length=500, pattern=SOME_TEXT, description="Why (kept in the audit log)")


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, pattern=SOME_TEXT, description="Why (kept in the audit log)")


class UnlockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, pattern=SOME_TEXT, description="Why (kept in the audit log)")
    duration_s: float = Field(ge=1, le=3600, description="Seconds until the door re-locks by itself")


class CommandOut(BaseModel):
    """The outcome of a command (also inside every error body as ``result``)."""

    status: str = Field(description="ok, refused (nothing was sent) or failed (the device did not confirm)")
    code: str = Field(description="ok, or why not: not_writable, forbidden_role, overridden, read_back_mismatch...")
    message: str = Field(description="One sentence, naming what the device answered")
    summary: dict[str, str] = Field(description="The outcome in a short line per language: {zh, en}")
    action: str
    target: str = Field(description="The point or door commanded")
    point: str | None = None
    value: Scalar | None = Field(default=None, description="What was asked, in the point's own form")
    read_back: Scalar | None = Field(default=None, description="What the device reports after the command")
    priority: int | None = Field(default=None, description="BACnet: the priority written, or the one holding it")
    audit_id: int | None = None
    replayed: bool = Field(default=False, description="True: the first answer to this Idempotency-Key")
    unlocked_until: float | None = Field(default=None, description="Doors: epoch seconds of the automatic re-lock")


class CommandErrorBody(ErrorBody):
    result: CommandOut | None = None


class DoorOut(BaseModel):
    id: str
    name: dict[str, str]
    ifc_guid: str
    zone: str
    lock_point: str
    open_point: str
    forced_point: str | None
    locked: bool | None = Field(description="null: the lock point has no good value")
    open: bool | None
    forced: bool | None
    quality: str = Field(description="The worst quality of the door's points")
    reason: str | None = Field(description="Why the quality is not GOOD")
    unlocked_until: float | None = Field(description="Epoch seconds of the automatic re-lock of a running unlock")
    roles: list[str] = Field(description="Roles that may lock and unlock it")


_DESCRIPTIONS = {
    401: "No valid session: log in (POST /api/auth/login) and send the cookie or the bearer token",
    403: "The caller's role may not give this command (the access table, or the site's write_roles / door roles)",
    404: "No such point or door",
    409: "Refused by the point's state: not writable, read-only protocol, not releasable, devices not polled by "
    "this node, an Idempotency-Key reused for another command, or overridden (a higher BACnet priority holds it)",
    422: "The value, reason or duration is invalid (the detail names it)",
    502: "The device refused the write (Modbus exception, BACnet error) or reads back another value",
    503: "Commands are not available (the runtime runs without a store to audit them)",
    504: "The device did not answer, or no good read-back came within the confirmation time",
}


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": CommandErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


COMMAND_RESPONSES = _responses(401, 403, 404, 409, 422, 502, 503, 504)


def _router(request: Request) -> CommandRouter:
    commands: CommandRouter | None = getattr(request.app.state.runtime, "commands", None)
    if commands is None:
        raise _unavailable()
    return commands


def _doors(request: Request) -> DoorService:
    doors: DoorService | None = getattr(request.app.state.runtime, "doors", None)
    if doors is None:
        raise _unavailable()
    return doors


def _unavailable() -> Exception:
    from fastapi import HTTPException

    return HTTPException(503, detail="commands are not available: the runtime has no store to audit them")


def command_json(result: CommandResult) -> dict[str, Any]:
    until = result.extra.get("until") if result.action == "door.unlock" else None
    return CommandOut(
        status=result.status, code=result.code, message=result.message, action=result.action, target=result.target,
        summary={"zh": result.summary.zh, "en": result.summary.en},
        point=result.point_id, value=result.value, read_back=result.read_back, priority=result.priority,
        audit_id=result.audit_id, replayed=result.replayed, unlocked_until=until,
    ).model_dump()  # fmt: skip


def answer(result: CommandResult) -> JSONResponse:
    body = command_json(result)
    if result.ok:
        return JSONResponse(body)
    return JSONResponse({"detail": result.message, "error": result.code, "result": body}, result.http_status)


@router.post("/api/points/{point_id}/write", response_model=CommandOut, responses=COMMAND_RESPONSES)
async def write_point(
    request: Request,
    point_id: str,
    body: Annotated[WriteBody, Body()],
    principal: Annotated[Principal, Depends(current_principal)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Write a value; 200 only once the device reads it back (BACnet at the point's priority)."""
    result = await _router(request).write(principal, point_id, body.value, body.reason, idempotency_key)
    return answer(result)


@router.post("/api/points/{point_id}/release", response_model=CommandOut, responses=COMMAND_RESPONSES)
async def release_point(
    request: Request,
    point_id: str,
    body: Annotated[ReasonBody, Body()],
    principal: Annotated[Principal, Depends(current_principal)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Relinquish our BACnet command (null at the point's priority); the answer says who holds the point now."""
    result = await _router(request).release(principal, point_id, body.reason, idempotency_key)
    return answer(result)


def door_json(state: DoorState, service: DoorService) -> dict[str, Any]:
    door = state.door
    return DoorOut(
        id=door.id, name={"zh": door.name.zh, "en": door.name.en}, ifc_guid=door.ifc_guid, zone=door.zone,
        lock_point=door.lock_point, open_point=door.open_point, forced_point=door.forced_point,
        locked=state.locked, open=state.open, forced=state.forced, quality=state.quality.value,
        reason=state.reason, unlocked_until=state.unlocked_until, roles=sorted(service.roles(door)),
    ).model_dump()  # fmt: skip


@router.get("/api/doors", response_model=list[DoorOut], responses=_responses(401, 403, 503))
async def list_doors(request: Request) -> list[dict[str, Any]]:
    """The site's access-controlled doors with lock, open and forced state and their quality."""
    service = _doors(request)
    return [door_json(state, service) for state in service.states()]


@router.post("/api/doors/{door_id}/unlock", response_model=CommandOut, responses=COMMAND_RESPONSES)
async def unlock_door(
    request: Request,
    door_id: str,
    body: Annotated[UnlockBody, Body()],
    principal: Annotated[Principal, Depends(current_principal)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Unlock for duration_s seconds; the system re-locks it when they run out (also after a restart)."""
    result = await _doors(request).unlock(principal, door_id, body.reason, body.duration_s, idempotency_key)
    return answer(result)


@router.post("/api/doors/{door_id}/lock", response_model=CommandOut, responses=COMMAND_RESPONSES)
async def lock_door(
    request: Request,
    door_id: str,
    body: Annotated[ReasonBody, Body()],
    principal: Annotated[Principal, Depends(current_principal)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Lock now (a running unlock's timer is dropped)."""
    result = await _doors(request).lock(principal, door_id, body.reason, idempotency_key)
    return answer(result)
