"""The FastAPI app factory: routers for health, model, points and the live stream, plus the web viewer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from fastapi import APIRouter, FastAPI

from api.runtime import HallRuntime

WEB_VIEWER = Path(__file__).resolve().parent.parent / "web_viewer"


def create_app(runtime: HallRuntime, extra_routers: Sequence[APIRouter] = (), prepare_model: bool = False) -> FastAPI:
    """An app serving ``runtime``; starting the app starts the runtime, stopping it stops every task.
    ``extra_routers`` add routes of a particular mode (the demo's scenario controls); ``prepare_model`` converts
    the building model at start rather than at the first request (servers do; most tests do not need a model)."""
    from api import (
        allow_header,
        docs_offline,
        routes_alarms,
        routes_audit,
        routes_auth,
        routes_bigscreen,
        routes_broadcast,
        routes_cameras,
        routes_commands,
        routes_devices,
        routes_health,
        routes_heatmap,
        routes_model,
        routes_plans,
        routes_points,
        routes_queues,
        routes_rounds,
        routes_wayfinding,
        routes_workorders,
        static,
        ws,
    )
    from api.auth_guard import AccessGuard, document_access
    from api.errors import document_body_errors, install_error_handlers

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.lifespan(app):
            if prepare_model:
                routes_model.model_service(app).prepare()
                if runtime.wayfinding is not None:
                    runtime.wayfinding.prepare()  # the navigation graph, in a child process like the GLB
            yield

    # FastAPI's own /docs and /redoc load their scripts from a CDN: docs_offline serves Swagger UI locally.
    app = FastAPI(title="HallTwin", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    runtime.model_service = routes_model.model_service(app)  # the heatmap reads the model's plan
    app.state.demo = False  # `halltwin demo` sets it: /api/health tells the login page to list the demo accounts
    docs_offline.mount_docs(app)
    allow_header.install(app)  # a 405 lists every method of its path (two routes may share one)

    app.include_router(routes_health.router)
    app.include_router(routes_model.router)
    app.include_router(routes_points.router)
    app.include_router(routes_devices.router)
    app.include_router(routes_commands.router)
    app.include_router(ws.router)
    app.include_router(routes_auth.router)
    app.include_router(routes_audit.router)
    app.include_router(routes_broadcast.router)
    app.include_router(routes_alarms.router)
    app.include_router(routes_queues.router)
    app.include_router(routes_heatmap.router)
    app.include_router(routes_bigscreen.router)
    app.include_router(routes_workorders.router)
    app.include_router(routes_plans.router)
    app.include_router(routes_rounds.router)
    app.include_router(routes_wayfinding.router)
    app.include_router(routes_cameras.router)
    for router in extra_routers:
        app.include_router(router)
    # Every request and WebSocket is checked against the one access table (api/access.py) before any route runs.
    app.add_middleware(AccessGuard)
    install_error_handlers(app)
    plain_openapi = app.openapi

    def openapi_with_access() -> dict[str, object]:
        if app.openapi_schema is None:
            app.openapi_schema = document_access(document_body_errors(plain_openapi()))
        return app.openapi_schema

    app.openapi = openapi_with_access  # type: ignore[method-assign]
    # The viewer answers every path no route matches (the router's fallback), so routes added later still win.
    static.mount_viewer(app, WEB_VIEWER)
    return app
