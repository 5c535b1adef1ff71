"""/api/heatmap: a storey's occupancy grid, live or averaged over a time window, in a compact form (base64 uint8
cells with origin and cell size) plus each zone's people and density. For staff (the twin draws it on the floor)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from api.errors import error_responses
from monitoring.heatmap.service import HeatmapService, HeatmapUnavailable

router = APIRouter(prefix="/api/heatmap", tags=["heatmap"])


def _service(request: Request) -> HeatmapService:
    node = getattr(request.app.state.runtime, "heatmap", None)
    if node is None:
        raise HTTPException(503, detail="the heatmap is not running")
    service: HeatmapService = node.service
    return service


@router.get("", responses=error_responses(404, 422, 503))
async def heatmap(
    request: Request,
    storey: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_$\-]+$",
                                 description="Storey GlobalId or name (1F)")],
    window: Annotated[float, Query(ge=0, le=24 * 60, allow_inf_nan=False,
                                   description="Minutes to average over; 0: now")] = 0,
) -> dict[str, Any]:
    """``data``: base64 of width x height uint8 cells, row-major from ``origin`` (IFC world metres, the lowest x
    and y), each cell ``cell`` metres square; 255 is ``scale`` people per m2 or more."""
    service = _service(request)
    if service.live is None:
        # The first request waits for the model's plan as /api/model waits for its GLB: the one conversion of the
        # model service (started now if nobody asked for the model yet), then a first grid.
        model = request.app.state.runtime.model_service
        if model is not None:
            from api.routes_model import ModelUnavailable

            try:
                await model.files()
            except ModelUnavailable as exc:
                raise HTTPException(503, detail=f"no heatmap without the building model: {exc}") from exc
        if await service.ensure_layout():
            await service.step()
    if window > service.settings.keep_min:
        raise HTTPException(422, detail=f"window: at most {service.settings.keep_min} minutes are kept (heatmap."
                            "keep_min)")
    try:
        return service.heatmap(storey, window)
    except HeatmapUnavailable as exc:
        raise HTTPException(503, detail=str(exc)) from exc
    except KeyError as exc:
        raise HTTPException(404, detail=str(exc.args[0])) from exc
