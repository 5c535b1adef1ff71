"""/api/rounds: inspection round templates, today's runs, one run, item results; /api/qr: QR codes per device
and room and their printable sheet (each opens /maintenance?device=ID or ?room=ID)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from alarms.qr_codes import labels, qr_svg, sheet_html, target_url
from alarms.rounds import run_json
from api.auth import Principal, current_principal
from api.errors import error_responses
from api.routes_workorders import _actor, followup
from api.text_fields import SOME_TEXT
from store.rounds import RoundError

router = APIRouter(tags=["inspection rounds"])

RunId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="The round run's id")]
ItemNumber = Annotated[int, PathParam(ge=1, le=10_000, description="The item's number in the run, from 1")]


class OkResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Literal["ok"]
    note: str | None = Field(default=None, max_length=2000)


class IssueResult(BaseModel):
    """fail opens a repair work order; na: the item could not be checked. Both say why."""

    model_config = ConfigDict(extra="forbid")

    result: Literal["fail", "na"]
    note: str = Field(min_length=1, max_length=2000, pattern=SOME_TEXT, description="What was found")


ResultBody = Annotated[OkResult | IssueResult, Field(discriminator="result")]


class RoundItemOut(BaseModel):
    n: int
    zone: str | None
    device: str | None
    text: dict[str, str]
    result: str | None
    note: str | None
    at: float | None
    by: str | None
    work_order: int | None


class RoundRunOut(BaseModel):
    id: int
    round: str
    name: dict[str, str]
    due_at: float
    window_end: float
    direction: Literal["forward", "reverse"]
    status: Literal["open", "done", "missed"]
    work_order: int | None
    finished_at: float | None
    checked: int
    total: int
    items: list[RoundItemOut]


def _round_error(exc: RoundError) -> JSONResponse:
    status = {"unknown_run": 404, "unknown_item": 404, "run_closed": 409, "forbidden": 403}.get(exc.code, 422)
    return JSONResponse({"detail": str(exc), "error": exc.code}, status)


@router.get("/api/rounds", responses=error_responses(401, 403, 503))
async def round_templates(request: Request) -> list[dict[str, Any]]:
    """The inspection round templates of site.yaml (stops, check items, schedule, order)."""
    return [template.model_dump(mode="json") for template in followup(request).rounds.site.rounds]


@router.get("/api/rounds/today", response_model=list[RoundRunOut], responses=error_responses(401, 403, 503))
async def rounds_today(request: Request) -> list[dict[str, Any]]:
    """Today's runs (site time zone), scheduled now if the round task has not yet done so."""
    service = followup(request).rounds
    day = service.today()
    await service.schedule_day(day)
    since, until = service.day_bounds(day)
    return [run_json(run, service.templates.get(run.round_id)) for run in await service.runs_between(since, until)]


@router.get("/api/rounds/{run_id}", response_model=RoundRunOut, responses=error_responses(401, 403, 404, 422, 503))
async def round_run(request: Request, run_id: RunId) -> dict[str, Any]:
    service = followup(request).rounds
    run = await service.runs.get(run_id)
    if run is None:
        raise HTTPException(404, detail=f"no inspection round run {run_id}")
    return run_json(run, service.templates.get(run.round_id))


@router.post(
    "/api/rounds/{run_id}/items/{n}", response_model=RoundRunOut,
    responses=error_responses(401, 403, 404, 409, 422, 503),
)  # fmt: skip
async def round_result(
    request: Request, run_id: RunId, n: ItemNumber, body: Annotated[ResultBody, Body()],
    principal: Annotated[Principal, Depends(current_principal)],
) -> JSONResponse:  # fmt: skip
    """Record item ``n``'s result (a correction replaces it until the run is done)."""
    service = followup(request).rounds
    try:
        run = await service.record(_actor(principal), run_id, n, body.result, body.note)
    except RoundError as exc:
        return _round_error(exc)
    return JSONResponse(run_json(run, service.templates.get(run.round_id)))


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get(
    "/api/qr/sheet",
    responses={200: {"content": {"text/html": {}}, "description": "The sheet, ready to print"},
               **error_responses(401, 403, 422)},
)  # fmt: skip
async def qr_sheet(
    request: Request,
    kind: Annotated[Literal["device", "room", "all"], Query(description="Which labels")] = "all",
) -> HTMLResponse:
    """A printable A4 sheet of QR labels, one per device and room; each opens it on the maintenance page."""
    site = request.app.state.runtime.site
    return HTMLResponse(sheet_html(site, _base_url(request), kind))


@router.get(
    "/api/qr/{kind}/{item_id}",
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The QR code as SVG"},
               **error_responses(401, 403, 404, 422)},
)  # fmt: skip
async def qr_code(
    request: Request,
    kind: Annotated[Literal["device", "room"], PathParam(description="device or room")],
    item_id: Annotated[str, PathParam(max_length=96)],
) -> Response:
    """One QR code (SVG) opening /maintenance?device=ID or ?room=ID."""
    site = request.app.state.runtime.site
    if item_id not in {label.id for label in labels(site, kind)}:
        raise HTTPException(404, detail=f"no {kind} {item_id!r} in site {site.site.id}")
    return Response(qr_svg(target_url(_base_url(request), kind, item_id)), media_type="image/svg+xml")
