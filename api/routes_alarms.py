"""/api/alarms: list and read alarms, acknowledge (one or a flood), shelve, reset, comment, out of service; KPIs.

Thin HTTP over alarms.AlarmOperator: the caller comes from the access guard (api/access.py decides the roles
per route; the operator adds the per-alarm rules, such as emergency buttons reset by security only), every
action is audited there, and a refused action answers the operator's status with ``error`` its code.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from alarms import Actor, AlarmActionError, AlarmEngine, AlarmOperator
from alarms.kpis import alarm_kpis
from alarms.wire import alarm_json, event_json
from api.auth import Principal, current_principal
from api.errors import error_responses
from api.text_fields import SOME_TEXT
from store.alarms import AlarmFilter

router = APIRouter(tags=["alarms"])

AlarmId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="The alarm's id")]
StateName = Literal["unack", "ack", "rtn_unack", "normal"]
PriorityName = Literal["critical", "high", "medium", "low"]
ClassName = Literal[
    "fire", "smoke", "leak", "ups", "temperature", "humidity", "door", "emergency", "comm", "power", "crowding",
    "queue", "linkage", "other",
]  # fmt: skip


def _not_a_bool(value: Any) -> Any:
    """JSON true is not the alarm 1 (pydantic's lax int takes it); 3.0 still is alarm 3."""
    if isinstance(value, bool):
        raise ValueError("an alarm id is a number, not true or false")
    return value


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=1000, description="Kept with the alarm and in the audit")


class BulkAckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(_not_a_bool)]] = Field(
        min_length=1, max_length=10_000
    )
    comment: str | None = Field(default=None, max_length=1000)


class ShelveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: float = Field(gt=0, le=1440, description="How long it stays shelved (at most a day)")
    reason: str = Field(min_length=1, max_length=500, pattern=SOME_TEXT)
    one_shot: StrictBool = Field(default=False, description="True: shelving also ends when the alarm clears")


class TextBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000, pattern=SOME_TEXT)


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, pattern=SOME_TEXT)


def _engine(request: Request) -> AlarmEngine:
    engine: AlarmEngine | None = getattr(request.app.state.runtime, "alarms", None)
    if engine is None:
        raise HTTPException(503, detail="the alarm engine is not running")
    return engine


def _actor(principal: Principal) -> Actor:
    return Actor(principal.name, principal.role.value, principal.client)


async def _do(action: Any) -> JSONResponse:
    try:
        alarm = await action
    except AlarmActionError as refused:
        return JSONResponse({"detail": refused.message, "error": refused.code}, refused.status)
    return JSONResponse(alarm_json(alarm))


ACTION_ERRORS = error_responses(401, 403, 404, 409, 422, 503)
Who = Annotated[Principal, Depends(current_principal)]


@router.get("/api/alarms", responses=error_responses(401, 403, 422, 503))
async def list_alarms(
    request: Request,
    state: StateName | None = None,
    priority: PriorityName | None = None,
    zone: Annotated[str | None, Query(max_length=96)] = None,
    alarm_class: ClassName | None = None,
    active: bool | None = None,
    include_history: bool = False,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[dict[str, Any]]:
    """Current alarms (open: not back to normal, or shelved / out of service), newest first; with
    include_history=true also those that are over."""
    engine = _engine(request)
    wanted = AlarmFilter(state, priority, zone, alarm_class, active, include_history, limit)
    return [alarm_json(alarm) for alarm in await engine.store.alarms.search(wanted)]


@router.get("/api/alarms/kpis", responses=error_responses(401, 403, 422, 503))
async def kpis(
    request: Request, window_min: Annotated[float, Query(ge=10, le=43_200, description="The period, minutes")] = 60
) -> dict[str, Any]:
    """Alarm system health over the last window_min minutes (ISA-18.2): per 10 min, floods, stale, chattering,
    top-10 sources, priority mix."""
    engine = _engine(request)
    until = engine.clock.time()
    since = until - window_min * 60.0
    raised = await engine.store.alarms.raised_between(since, until)
    settings = engine.settings
    return alarm_kpis(raised, engine.active(), since=since, until=until, stale_after_s=settings.stale_after_h * 3600,
                      chatter_count=settings.chatter_count, chatter_window_s=settings.chatter_window_s)  # fmt: skip


@router.get("/api/alarms/{alarm_id:int}", responses=error_responses(401, 403, 404, 422, 503))
async def get_alarm(request: Request, alarm_id: AlarmId) -> dict[str, Any]:
    """One alarm with every transition (who, role, when, why)."""
    engine = _engine(request)
    alarm = await engine.store.alarms.get(alarm_id)
    if alarm is None:
        raise HTTPException(404, detail=f"no alarm {alarm_id}")
    body = alarm_json(alarm)
    body["events"] = [event_json(event) for event in await engine.store.alarms.events(alarm_id)]
    return body


@router.post("/api/alarms/ack", responses=error_responses(401, 403, 422, 503))
async def ack_many(request: Request, body: Annotated[BulkAckBody, Body()], principal: Who) -> dict[str, Any]:
    """Acknowledge many alarms at once (a flood); answers those acknowledged and why the others were not."""
    done, refused = await AlarmOperator(_engine(request)).ack_many(body.ids, _actor(principal), body.comment)
    return {"acked": [alarm_json(a) for a in done], "refused": {str(k): v for k, v in refused.items()}}


@router.post("/api/alarms/{alarm_id}/ack", responses=ACTION_ERRORS)
async def ack(
    request: Request, alarm_id: AlarmId, principal: Who, body: Annotated[CommentBody | None, Body()] = None
) -> JSONResponse:
    """Acknowledge (unack -> ack, rtn_unack -> normal)."""
    comment = body.comment if body is not None else None
    return await _do(AlarmOperator(_engine(request)).ack(alarm_id, _actor(principal), comment))


@router.post("/api/alarms/{alarm_id}/shelve", responses=ACTION_ERRORS)
async def shelve(
    request: Request, alarm_id: AlarmId, body: Annotated[ShelveBody, Body()], principal: Who
) -> JSONResponse:
    """Shelve for some minutes (never a life-safety alarm: fire, emergency buttons)."""
    operator = AlarmOperator(_engine(request))
    return await _do(operator.shelve(alarm_id, _actor(principal), body.minutes, body.reason, body.one_shot))


@router.post("/api/alarms/{alarm_id}/unshelve", responses=ACTION_ERRORS)
async def unshelve(request: Request, alarm_id: AlarmId, principal: Who) -> JSONResponse:
    return await _do(AlarmOperator(_engine(request)).unshelve(alarm_id, _actor(principal)))


@router.post("/api/alarms/{alarm_id}/reset", responses=ACTION_ERRORS)
async def reset(
    request: Request, alarm_id: AlarmId, principal: Who, body: Annotated[CommentBody | None, Body()] = None
) -> JSONResponse:
    """Reset a latched alarm once its condition is gone (emergency buttons: security staff only)."""
    comment = body.comment if body is not None else None
    return await _do(AlarmOperator(_engine(request)).reset(alarm_id, _actor(principal), comment))


@router.post("/api/alarms/{alarm_id}/comment", responses=ACTION_ERRORS)
async def comment(
    request: Request, alarm_id: AlarmId, body: Annotated[TextBody, Body()], principal: Who
) -> JSONResponse:
    return await _do(AlarmOperator(_engine(request)).comment(alarm_id, _actor(principal), body.text))


@router.post("/api/alarms/{alarm_id}/out-of-service", responses=ACTION_ERRORS)
async def out_of_service(
    request: Request, alarm_id: AlarmId, body: Annotated[ReasonBody, Body()], principal: Who
) -> JSONResponse:
    """Take the alarm's source out of service (maintenance) with a reason; never a life-safety alarm."""
    return await _do(AlarmOperator(_engine(request)).out_of_service(alarm_id, _actor(principal), body.reason))


@router.post("/api/alarms/{alarm_id}/in-service", responses=ACTION_ERRORS)
async def in_service(request: Request, alarm_id: AlarmId, principal: Who) -> JSONResponse:
    return await _do(AlarmOperator(_engine(request)).in_service(alarm_id, _actor(principal)))
