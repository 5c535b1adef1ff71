"""The access guard: an ASGI middleware that finds the route a request will reach, looks it up in api.access and
lets it through, answers 401 (no valid session) or 403 (role not served, or route missing from the table), or closes
a WebSocket with 4401/4403 and the reason. It also documents 401/403 in the OpenAPI description."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.routing import BaseRoute, Match, Mount, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from api import access
from api.auth import AuthProblem, Principal, authenticate

log = logging.getLogger(__name__)

WS_UNAUTHORIZED = 4401  # the 4000-4999 range is the application's: 4000 + the HTTP status
WS_FORBIDDEN = 4403


def app_routes(routes: list[BaseRoute]) -> list[RouteContext]:
    """Every route of the app with its full path: FastAPI keeps included routers as nested groups, this flattens
    them (the same walk FastAPI's OpenAPI uses)."""
    return list(iter_route_contexts(routes))


def matched_route(routes: list[BaseRoute], scope: Scope) -> RouteContext | None:
    """The route the router will run for ``scope`` (None: no full match, so the viewer fallback, a 404 or a 405)."""
    for context in iter_route_contexts(routes):
        match, _ = context.matches(scope)
        if match is Match.FULL:
            return context
    return None


def route_key(context: RouteContext, scope: Scope) -> tuple[str, str]:
    path = str(context.path or "")
    route = context.original_route
    if isinstance(route, WebSocketRoute) or scope["type"] == "websocket":
        return access.WS, path
    if isinstance(route, Mount):
        return "GET", path
    method = str(scope.get("method", "GET"))
    return ("GET" if method == "HEAD" else method), path


class AccessGuard:
    """Every HTTP request and WebSocket passes here before any route runs (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        route = matched_route(scope["app"].router.routes, scope)
        if route is None:  # the viewer's static files, or the router's own 404/405: nothing protected
            await self.app(scope, receive, send)
            return
        method, path = route_key(route, scope)
        rule = access.access_for(method, path)
        if rule is None:
            log.warning("refused %s %s: the route is not in the access table (api/access.py)", method, path)
            detail = f"{method} {path} is not in the access table (api/access.py): refused until it is"
            await self._refuse(scope, receive, send, 403, "route_not_listed", detail)
            return
        if rule is access.PUBLIC:
            await self.app(scope, receive, send)
            return
        store = scope["app"].state.runtime.store
        principal, problem = await authenticate(store, scope)
        if principal is None:
            problem = problem or AuthProblem("not_authenticated", "not logged in")
            await self._refuse(scope, receive, send, 401, problem.code, problem.detail)
            return
        if not access.allows(rule, principal.role):
            log.info("refused %s %s to %s (role %s)", method, path, principal.name, principal.role.value)
            detail = f"role {principal.role.value!r} may not use {method} {path} (allowed: {access.describe(rule)})"
            # Who tried to reach what, and from where (T/ZAS 4012 8.4.4): a logged-in refusal is audited.
            await store.audit.append(
                action="access.refused", actor=principal.name, role=principal.role.value, client=principal.client,
                target=f"{method} {path}", result="refused", detail=detail,
            )  # fmt: skip
            await self._refuse(scope, receive, send, 403, "forbidden", detail)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, code: str, detail: str) -> None:
        if scope["type"] == "websocket":
            # Accept, then close with the reason: a browser cannot read the reason of a refused handshake.
            message = await receive()
            if message["type"] != "websocket.connect":
                return
            await send({"type": "websocket.accept"})
            reason = detail.encode("utf-8")[:120].decode("utf-8", "ignore")  # a close reason fits 123 bytes
            await send({"type": "websocket.close", "code": 4000 + status, "reason": reason})
            return
        body = json.dumps({"detail": detail, "error": code}).encode("utf-8")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _principal_of(scope: Scope) -> Principal | None:
    principal = scope.get("state", {}).get("principal")
    return principal if isinstance(principal, Principal) else None


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "error": {"type": "string"}},
    "required": ["detail"],
}


def document_access(schema: dict[str, Any]) -> dict[str, Any]:
    """Add 401 and 403 to every protected operation, and the bearer/cookie security schemes, from the table."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(
        {
            "bearer": {"type": "http", "scheme": "bearer", "description": "token from POST /api/auth/login"},
            "session_cookie": {"type": "apiKey", "in": "cookie", "name": "halltwin_session"},
        }
    )
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            rule = access.access_for(method.upper(), path)
            if rule is access.PUBLIC:
                continue
            who = "nobody (missing from api/access.py)" if rule is None else access.describe(rule)
            operation["security"] = [{"bearer": []}, {"session_cookie": []}]
            operation["description"] = (operation.get("description", "") + f"\n\nRoles: {who}.").strip()
            responses = operation["responses"]
            content = {"application/json": {"schema": ERROR_SCHEMA}}
            if rule is not None:
                responses.setdefault("401", {"description": "No valid session: log in first", "content": content})
            responses.setdefault("403", {"description": f"Refused: only {who}", "content": content})
    return schema
