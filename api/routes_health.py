"""/api/health: is the service up, and how far along is start-up."""

from __future__ import annotations

from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/api/health")
async def health(request: Request) -> dict[str, object]:
    runtime = request.app.state.runtime
    return {"status": "ok", "site": runtime.site.site.id, "tasks": sorted(runtime.task_names())}
