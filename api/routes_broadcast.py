"""/api/broadcast: zone states, start a broadcast (message, text or uploaded audio) to zones, stop one, queue calls,
and the broadcast log with page audio playback for the security desk. Thin HTTP over broadcast.BroadcastService."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal, current_principal
from api.errors import error_responses
from api.text_fields import SOME_TEXT
from broadcast.model import KINDS, BroadcastRefused
from broadcast.queue_calls import call_ticket
from broadcast.recordings import MAX_UPLOAD_BYTES, MEDIA_TYPES
from broadcast.service import BroadcastService
from store.broadcasts import BroadcastRecord

router = APIRouter(prefix="/api/broadcast", tags=["broadcast"])

Kind = Literal["evacuation", "emergency", "page", "queue_call", "notice", "music"]
ZoneId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=96)]


class Texts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zh: str = Field(min_length=1, max_length=200, pattern=SOME_TEXT)
    en: str = Field(min_length=1, max_length=200, pattern=SOME_TEXT)


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = Field(description="Sets the priority: evacuation > emergency > page > queue_call/notice > music")
    zones: list[ZoneId] | None = Field(default=None, max_length=200, description="PA zone ids; none: every zone")
    message: ZoneId | None = Field(default=None, description="A stored message id (GET /api/broadcast: messages)")
    text: Texts | None = Field(default=None, description="Spoken by the offline TTS, Chinese then English")
    repeat: int = Field(
        default=1, ge=1, le=10, description="Plays of the message (evacuation and music: until stopped)"
    )


class StopBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="stopped by the operator", min_length=1, max_length=500, pattern=SOME_TEXT)


class QueueCallBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket: str = Field(pattern=r"^[A-Za-z]{0,3}\d{1,5}$", description="e.g. A023")
    window: str = Field(pattern=r"^\d{1,3}[A-Za-z]?$", description="Window number, e.g. 5")
    zone: ZoneId = Field(description="The window's site zone (or its PA zone)")


def _service(request: Request) -> BroadcastService:
    node = getattr(request.app.state.runtime, "broadcast", None)
    if node is None:
        raise HTTPException(503, detail="the broadcast service is not running on this node")
    service: BroadcastService = node.service
    return service


def _principal(request: Request) -> Principal:
    return current_principal(request)


def _refused(exc: BroadcastRefused) -> JSONResponse:
    return JSONResponse({"detail": exc.message, "error": exc.code}, exc.http_status)


def _record(record: BroadcastRecord, request: Request) -> dict[str, Any]:
    audio = record.audio_file is not None
    return {
        "id": record.id, "kind": record.kind, "priority": record.priority, "zones": record.zones,
        "source": record.source, "title": record.title, "started_at": record.started_at,
        "started_by": record.started_by, "role": record.role, "ended_at": record.ended_at,
        "ended_by": record.ended_by, "end_reason": record.end_reason, "confirmed": record.confirmed,
        "audio": audio, "audio_seconds": record.audio_seconds, "audio_expires_at": record.audio_expires_at,
        "audio_url": f"/api/broadcast/recordings/{record.id}/audio" if audio else None,
        "supervision": record.supervision,
    }  # fmt: skip


@router.get("", responses=error_responses(503))
async def broadcast_state(request: Request) -> dict[str, Any]:
    """Every PA zone: what plays, its priority, since when, who started it, and its speakers' confirmations."""
    service = _service(request)
    return {
        "zones": service.zone_states(),
        "active": [broadcast.to_json() for broadcast in service.active.values()],
        "messages": [{"id": m.id, "name": m.name, "kind": m.kind, "source": m.source} for m in service.messages.list()],
        "kinds": list(KINDS),
    }


@router.post("", status_code=201, responses=error_responses(403, 404, 409, 422, 503))
async def start_broadcast(request: Request, body: Annotated[StartBody, Body()]) -> Any:
    """Start a broadcast; the arbiter preempts lower priorities at once and resumes them afterwards."""
    service = _service(request)
    text = body.text.model_dump() if body.text is not None else None
    try:
        broadcast = await service.start_broadcast(_principal(request), body.kind, body.zones, message=body.message,
                                                  text=text, repeat=body.repeat)  # fmt: skip
    except BroadcastRefused as exc:
        return _refused(exc)
    return JSONResponse(broadcast.to_json(), 201)


@router.post("/audio", status_code=201, responses=error_responses(403, 404, 409, 422, 503))
async def page_with_audio(
    request: Request,
    audio: Annotated[UploadFile, File(description="The page: a microphone recording (WebM/Ogg) or a WAV/MP3 file")],
    zones: Annotated[
        str | None, Form(max_length=4000, description="Comma-separated PA zone ids; none: every zone")
    ] = None,
    kind: Annotated[Literal["page", "emergency"], Form()] = "page",
) -> Any:
    """A manual page from the browser microphone or a file; its audio is kept for the configured time (>= 30 min)."""
    service = _service(request)
    data = await audio.read(MAX_UPLOAD_BYTES + 1)
    chosen = [zone.strip() for zone in zones.split(",") if zone.strip()] if zones else None
    try:
        broadcast = await service.start_broadcast(_principal(request), kind, chosen, audio=data,
                                                  audio_name=(audio.filename or "upload")[:100])  # fmt: skip
    except BroadcastRefused as exc:
        return _refused(exc)
    return JSONResponse(broadcast.to_json(), 201)


@router.post("/{broadcast_id}/stop", responses=error_responses(403, 404, 409, 422, 503))
async def stop_broadcast(
    request: Request, broadcast_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: Annotated[StopBody, Body()]
) -> Any:
    """Stop a running broadcast; emergency and evacuation broadcasts are stopped by the security role only."""
    service = _service(request)
    try:
        broadcast = await service.stop_broadcast(_principal(request), broadcast_id, body.reason)
    except BroadcastRefused as exc:
        return _refused(exc)
    return broadcast.to_json()


@router.post("/queue-call", responses=error_responses(403, 404, 409, 422, 503))
async def queue_call(request: Request, body: Annotated[QueueCallBody, Body()]) -> Any:
    """Speak a called ticket in the window's PA zone at queue-call priority (or only show it: silent calling)."""
    service = _service(request)
    try:
        call = await call_ticket(service, _principal(request), body.ticket, body.window, body.zone)
    except BroadcastRefused as exc:
        return _refused(exc)
    return {"ticket": call.ticket, "window": call.window, "pa_zone": call.pa_zone, "spoken": call.spoken,
            "broadcast": call.broadcast, "text": call.text, "reason": call.reason}  # fmt: skip


@router.get("/recordings", responses=error_responses(422, 503))
async def recordings(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only ids below this (paging)")] = None,
    kind: Annotated[Kind | None, Query()] = None,
    with_audio: Annotated[bool, Query(description="Only pages whose audio is still kept")] = False,
) -> dict[str, Any]:
    """The broadcast log, newest first: what, when, who, zones, confirmed speakers, fire-linkage checks."""
    service = _service(request)
    found = await service.log.list(limit=limit, kind=kind, with_audio=with_audio, before_id=before)
    return {"recordings": [_record(record, request) for record in found]}


@router.get("/recordings/{broadcast_id}/audio", response_class=FileResponse,
            responses={**error_responses(404, 422, 503), 200: {"content": {"audio/*": {}},
                       "description": "The page audio as uploaded"}})  # fmt: skip
async def recording_audio(request: Request, broadcast_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Any:
    """Play back a page's audio (security desk); gone once its keep time has run out."""
    service = _service(request)
    record = await service.log.get(broadcast_id)
    if record is None:
        raise HTTPException(404, detail=f"no broadcast {broadcast_id}")
    path = service.recordings.path(record.audio_file) if record.audio_file else None
    if path is None:
        raise HTTPException(404, detail=f"broadcast {broadcast_id} has no kept audio (none, or its keep time ran out)")
    await service.audit.append(action="broadcast.playback", actor=_principal(request).name,
                               role=_principal(request).role, client=_principal(request).client,
                               target=f"broadcast:{broadcast_id}", result="ok")  # fmt: skip
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix.lstrip("."), "application/octet-stream"))
