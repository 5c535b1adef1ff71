"""/api/plans, an alarm's plan checklist and linkage, pages to staff, and drills with their report.

Thin HTTP over alarms.PlanService, LinkageService's log, the PageRepository and alarms.DrillService; every action
is audited there. Errors carry ``error`` a code: 403 forbidden, 404 no such alarm / plan / step / drill, 409 the
step was done already or a drill runs, 422 a bad scenario.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from alarms.drills import DrillError, drill_json
from alarms.plans import PlanError, plan_json
from api.auth import Principal, current_principal
from api.errors import error_responses
from api.followup import page_json
from api.routes_workorders import _actor, followup

router = APIRouter(tags=["plans and drills"])

AlarmId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="The alarm's id")]
StepNumber = Annotated[int, PathParam(ge=1, le=50, description="The step's number in the plan, from 1")]
DrillId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="The drill's id")]
PageId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="The page's id")]


class Text(BaseModel):
    zh: str
    en: str


class PlanStepOut(BaseModel):
    n: int
    text: Text


class PlanOut(BaseModel):
    id: str
    name: Text
    alarm_classes: list[str]
    steps: list[PlanStepOut]


class ChecklistStep(BaseModel):
    n: int
    text: Text
    done: bool
    done_at: float | None
    done_by: str | None
    role: str | None
    note: str | None
    after_s: float | None = Field(description="Seconds from the alarm's raise to this step")


class ChecklistOut(BaseModel):
    alarm_id: int
    plan: str
    name: Text
    done: int
    total: int
    steps: list[ChecklistStep]


class StepBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000, description="What was found or done")


class LinkageActionOut(BaseModel):
    kind: str = Field(description="doors_released, door_relocked, cameras, evacuation_requested, evacuation_ended, "
                                  "page, work_order")  # fmt: skip
    target: str | None
    status: str = Field(description="done, failed, reverted or skipped")
    detail: str | None
    at: float
    drill: bool
    audit_id: int | None


class LinkageOut(BaseModel):
    alarm_id: int
    cameras: list[str] = Field(description="Cameras surfaced for the alarm (nearest first)")
    actions: list[LinkageActionOut]


class PageOut(BaseModel):
    id: int
    alarm_id: int | None = Field(description="The alarm paged about (null for a work order's page)")
    work_order_id: int | None = Field(description="The overdue work order paged about (its escalation), or null")
    role: str
    title: Text
    zone: str | None
    camera: str | None
    created_at: float
    acked_at: float | None
    acked_by: str | None
    drill: bool


class DrillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str | None = Field(default=None, max_length=64, description="A demo scenario (halltwin demo only)")
    target: str | None = Field(default=None, max_length=96, description="The scenario's zone, door or button")
    note: str | None = Field(default=None, max_length=2000)


class DrillOut(BaseModel):
    id: int
    scenario: str | None
    target: str | None
    note: str | None
    started_at: float
    started_by: str
    ended_at: float | None
    ended_by: str | None
    active: bool


def _error(exc: PlanError | DrillError) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "error": exc.code}, exc.status)


@router.get("/api/plans", response_model=list[PlanOut], responses=error_responses(401, 403, 503))
async def plans(request: Request) -> list[dict[str, Any]]:
    """The site's emergency plans (site.yaml plans:), one per alarm class."""
    return [plan_json(plan) for plan in followup(request).plans.site.plans]


READ_ERRORS = error_responses(401, 403, 404, 422, 503)


@router.get("/api/alarms/{alarm_id}/plan", response_model=ChecklistOut, responses=READ_ERRORS)
async def alarm_plan(request: Request, alarm_id: AlarmId) -> JSONResponse:
    """The alarm's plan as a checklist: each step done or not, by whom and when."""
    try:
        checklist = await followup(request).plans.checklist(alarm_id)
    except PlanError as exc:
        return _error(exc)
    return JSONResponse(checklist.to_json())


@router.post(
    "/api/alarms/{alarm_id}/plan/steps/{n}/done", response_model=ChecklistOut,
    responses=error_responses(401, 403, 404, 409, 422, 503),
)  # fmt: skip
async def step_done(
    request: Request, alarm_id: AlarmId, n: StepNumber, principal: Annotated[Principal, Depends(current_principal)],
    body: Annotated[StepBody | None, Body()] = None,
) -> JSONResponse:  # fmt: skip
    """Record step ``n`` of the alarm's plan as done by the caller (once; security staff)."""
    try:
        checklist = await followup(request).plans.mark_done(_actor(principal), alarm_id, n, body.note if body else None)
    except PlanError as exc:
        return _error(exc)
    return JSONResponse(checklist.to_json())


@router.get("/api/alarms/{alarm_id}/linkage", response_model=LinkageOut, responses=READ_ERRORS)
async def alarm_linkage(request: Request, alarm_id: AlarmId) -> dict[str, Any]:
    """What the linkage did for the alarm: doors, cameras, evacuation request, page, work order, each with status."""
    services = followup(request)
    alarm = await services.alarm_repository.get(alarm_id)
    if alarm is None:
        raise HTTPException(404, detail=f"no alarm {alarm_id}")
    actions = await services.actions.for_alarm(alarm_id)
    cameras = services.linkage.cameras_of(alarm, services.linkage.zones_of(alarm))
    return {"alarm_id": alarm_id, "cameras": cameras, "actions": [
        {"kind": a.kind, "target": a.target, "status": a.status, "detail": a.detail, "at": a.at, "drill": a.drill,
         "audit_id": a.audit_id} for a in actions]}  # fmt: skip


@router.get("/api/pages", response_model=list[PageOut], responses=error_responses(401, 403, 422, 503))
async def pages(
    request: Request, principal: Annotated[Principal, Depends(current_principal)],
    unacked: Annotated[bool, Query(description="Only pages nobody acknowledged yet")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    """Pages to staff (an emergency button, a fire, an overdue work order): the caller's role's pages; admins see
    all."""
    role = None if principal.role.value == "admin" else principal.role.value
    return [page_json(p) for p in await followup(request).pages.list(role, unacked, limit)]


@router.post("/api/pages/{page_id}/ack", response_model=PageOut, responses=error_responses(401, 403, 404, 422, 503))
async def ack_page(
    request: Request, page_id: PageId, principal: Annotated[Principal, Depends(current_principal)]
) -> dict[str, Any]:
    """Acknowledge a page (the first acknowledgement is kept)."""
    services = followup(request)
    page = await services.pages.get(page_id)
    audit = request.app.state.runtime.store.audit
    if page is None or (principal.role.value != "admin" and page.role != principal.role.value):
        await audit.append(action="page.ack", actor=principal.name, role=principal.role.value,
                           client=principal.client, target=f"page:{page_id}", result="refused",
                           detail="no such page for this role")  # fmt: skip
        raise HTTPException(404, detail=f"no page {page_id} for role {principal.role.value}")
    acked = await services.pager.ack(page_id, principal.name)  # told on /ws: other desks drop it
    assert acked is not None
    about = f"alarm {page.alarm_id}" if page.alarm_id is not None else f"work order {page.work_order_id}"
    detail = f"page of {about} acknowledged"
    await audit.append(action="page.ack", actor=principal.name, role=principal.role.value, client=principal.client,
                       target=f"page:{page_id}", result="ok", detail=detail)  # fmt: skip
    return page_json(acked)


@router.get("/api/drills", response_model=list[DrillOut], responses=error_responses(401, 403, 503))
async def drills(request: Request) -> list[dict[str, Any]]:
    """Drills, newest first."""
    return [drill_json(d) for d in await followup(request).drills.drills.list()]


@router.post("/api/drills/start", response_model=DrillOut, status_code=201,
             responses=error_responses(401, 403, 409, 422, 503))  # fmt: skip
async def start_drill(
    request: Request, principal: Annotated[Principal, Depends(current_principal)],
    body: Annotated[DrillBody | None, Body()] = None,
) -> JSONResponse:  # fmt: skip
    """Start a drill: alarms raised until it ends, and all done for them, are marked as drill. With a scenario
    (``halltwin demo``) the simulated devices play the incident."""
    body = body or DrillBody()
    try:
        drill = await followup(request).drills.start(_actor(principal), body.scenario, body.target, body.note)
    except DrillError as exc:
        return _error(exc)
    return JSONResponse(drill_json(drill), 201)


@router.post("/api/drills/{drill_id}/end", response_model=DrillOut, responses=error_responses(401, 403, 404, 422, 503))
async def end_drill(
    request: Request, drill_id: DrillId, principal: Annotated[Principal, Depends(current_principal)]
) -> JSONResponse:
    """End a drill (its scenario is cleared)."""
    try:
        drill = await followup(request).drills.end(_actor(principal), drill_id)
    except DrillError as exc:
        return _error(exc)
    return JSONResponse(drill_json(drill))


@router.get("/api/drills/{drill_id}/report", responses=error_responses(401, 403, 404, 422, 503))
async def drill_report(request: Request, drill_id: DrillId) -> JSONResponse:
    """Per drill alarm: seconds from raise to acknowledgement, to each plan step and linkage action; a summary."""
    try:
        return JSONResponse(await followup(request).drills.report(drill_id))
    except DrillError as exc:
        return _error(exc)
