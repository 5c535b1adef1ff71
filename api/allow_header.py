"""405 answers that list every method of the path in ``Allow`` (RFC 9110 15.5.6).

Starlette answers a request whose path matches but whose method does not with the ``Allow`` of the first route of
that path only; a path served by two routes (GET and POST /api/workorders) then claimed to allow one method. The
handler rebuilds ``Allow`` from every route the path matches."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from api.auth_guard import app_routes


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route of the app serves at the request's path (HEAD with GET, OPTIONS never).

    A path that a route names literally is that resource alone: /api/alarms/ack (POST) is not the alarm
    /api/alarms/{alarm_id} (GET), whose template also matches the text but whose id is a number."""
    by_path: dict[str, set[str]] = {}
    scope = dict(request.scope)
    for context in app_routes(app.router.routes):
        route_methods = getattr(context.original_route, "methods", None)
        if not route_methods:
            continue
        scope["method"] = next(iter(route_methods))
        match, _ = context.matches(scope)
        if match is not Match.NONE:
            by_path.setdefault(str(context.path or ""), set()).update(route_methods)
    literal = [methods for path, methods in by_path.items() if "{" not in path]
    return sorted(set().union(*(literal or by_path.values())))


def install(app: FastAPI) -> None:
    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            methods = allowed_methods(app, request)
            if methods:
                exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
        return await http_exception_handler(request, exc)

    app.add_exception_handler(HTTPException, method_not_allowed)
