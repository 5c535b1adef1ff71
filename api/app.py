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
        docs_offline,
        routes_audit,
        routes_auth,
        routes_commands,
        routes_health,
        routes_model,
        routes_points,
        static,
        ws,
    )
    from api.auth_guard import AccessGuard, document_access
    from api.errors import document_body_errors

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.lifespan(app):
            if prepare_model:
                routes_model.model_service(app).prepare()
            yield

    # FastAPI's own /docs and /redoc load their scripts from a CDN: docs_offline serves Swagger UI locally.
    app = FastAPI(title="HallTwin", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.state.demo = False  # `halltwin demo` sets it: /api/health tells the login page to list the demo accounts
    docs_offline.mount_docs(app)

    app.include_router(routes_health.router)
    app.include_router(routes_model.router)
    app.include_router(routes_points.router)
    app.include_router(routes_commands.router)
    app.include_router(ws.router)
    app.include_router(routes_auth.router)
    app.include_router(routes_audit.router)
    for router in extra_routers:
        app.include_router(router)
    # Every request and WebSocket is checked against the one access table (api/access.py) before any route runs.
    app.add_middleware(AccessGuard)
    plain_openapi = app.openapi

    def openapi_with_access() -> dict[str, object]:
        if app.openapi_schema is None:
            app.openapi_schema = document_access(document_body_errors(plain_openapi()))
        return app.openapi_schema

    app.openapi = openapi_with_access  # type: ignore[method-assign]
    # The viewer answers every path no route matches (the router's fallback), so routes added later still win.
    static.mount_viewer(app, WEB_VIEWER)
    return app
