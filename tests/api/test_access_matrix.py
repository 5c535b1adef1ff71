"""The role matrix: EVERY route of the app (enumerated from app.routes, the demo's and the WebSocket included) is in
the access table, public routes answer without a session, every other route answers 401 without one, 403 to each
role it does not serve and neither to the roles it serves; /ws refuses a connection without a valid session."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Mount, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api import access
from api.app import create_app
from api.auth_guard import app_routes
from api.demo import scenario_router
from api.runtime import HallRuntime
from iot_gateway.simulators.hall import HallSimulator
from store import Role
from tests.api.auth_helpers import create_user
from tests.api.server import running_app
from tests.iot_gateway.test_gateway_faults import make_site, modbus_device
from tests.peers import free_port

# Path parameters get values that name nothing: every call is refused or answers 404/422, none acts.
SAMPLES = {"point_id": "no-such-point", "door_id": "no-such-door", "name": "no-such-scenario"}
PARAM = re.compile(r"\{([^}:]+)(:[^}]*)?\}")
CONVERTOR = re.compile(r"\{(\w+):\w+\}")  # {alarm_id:int}: OpenAPI shows the name alone

# Public routes that answer 401 themselves: the login (a wrong password) and the queue system's webhook (a signature
# that does not match the body; a machine has no session).
SIGNED_IN_BY_BODY = ("/api/auth/login", "/api/queues/events")


@dataclass(frozen=True)
class Endpoint:
    method: str  # "WS" for the WebSocket
    path: str  # the template, as in the access table
    url: str  # a concrete path to call


@dataclass
class Served:
    url: str
    app: FastAPI
    runtime: HallRuntime


def concrete(path: str) -> str:
    return PARAM.sub(lambda m: SAMPLES.get(m.group(1), "1" if ":int}" in m.group(0) else "x"), path)


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (method, path) the app serves, read from app.routes (included routers flattened)."""
    found: list[Endpoint] = []
    for context in app_routes(app.routes):
        route, path = context.original_route, str(context.path)
        if isinstance(route, WebSocketRoute):
            found.append(Endpoint(access.WS, path, path))
        elif isinstance(route, Mount):
            found.append(Endpoint("GET", path, path + "/no-such-file"))
        else:
            for method in sorted(context.methods or ()):
                if method != "HEAD":  # HEAD is checked as GET
                    found.append(Endpoint(method, path, concrete(path)))
    return found


def demo_app(runtime: HallRuntime) -> FastAPI:
    """The app as `halltwin demo` builds it (with the scenario routes), on a simulator that is never started."""
    return create_app(runtime, extra_routers=[scenario_router(HallSimulator(runtime.site))])


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    runtime = HallRuntime(make_site(modbus_device("ac-1", free_port())), tmp_path / "site.yaml", tmp_path / "data",
                          poll_devices=False)  # fmt: skip
    app = demo_app(runtime)
    async with running_app(runtime, app) as url:
        yield Served(url, app, runtime)


async def session_token(runtime: HallRuntime, role: Role) -> str:
    """A fresh session of the user named after ``role`` (made in the store: no Argon2 per call)."""
    user = await runtime.store.users.get(role.value) or await create_user(runtime.store, role.value, role)
    token, _ = await runtime.store.sessions.create(user, "127.0.0.1", ttl_s=600)
    return token


def test_every_route_is_in_the_access_table(tmp_path: Path) -> None:
    runtime = HallRuntime(make_site(modbus_device("ac-1", 1)), tmp_path / "site.yaml", tmp_path / "data")
    app = demo_app(runtime)
    found = endpoints(app)
    missing = sorted(f"{e.method} {e.path}" for e in found if access.access_for(e.method, e.path) is None)
    assert not missing, f"routes missing from api/access.py ROUTES (refused with 403 until listed): {missing}"
    # The walk sees what OpenAPI documents, so a route cannot hide from this test by nesting.
    documented = {path for path in app.openapi()["paths"]}
    assert documented <= {CONVERTOR.sub(r"{\1}", e.path) for e in found}
    assert {(e.method, e.path) for e in found} >= {("WS", "/ws"), ("POST", "/api/demo/scenarios/{name}/start")}


async def test_role_matrix_over_every_route(served: Served) -> None:
    problems: list[str] = []
    checked = 0
    async with httpx.AsyncClient(base_url=served.url, timeout=30.0) as client:
        for endpoint in endpoints(served.app):
            if endpoint.method == access.WS:
                continue  # below
            rule = access.access_for(endpoint.method, endpoint.path)
            assert rule is not None, f"{endpoint.method} {endpoint.path} is not in the access table"
            where = f"{endpoint.method} {endpoint.url}"
            anonymous = await client.request(endpoint.method, endpoint.url)
            checked += 1
            if rule is access.PUBLIC:
                if anonymous.status_code in (401, 403):
                    problems.append(f"{where}: public, but answered {anonymous.status_code} without a session")
                continue
            if anonymous.status_code != 401:
                problems.append(f"{where}: answered {anonymous.status_code} without a session, want 401")
            for role in Role:
                token = await session_token(served.runtime, role)
                response = await client.request(
                    endpoint.method, endpoint.url, headers={"Authorization": f"Bearer {token}"}
                )
                checked += 1
                allowed = access.allows(rule, role)
                if allowed and response.status_code in (401, 403):
                    problems.append(f"{where} as {role.value}: served role, answered {response.status_code}")
                if not allowed and response.status_code != 403:
                    problems.append(f"{where} as {role.value}: not a served role, answered {response.status_code}")
    assert not problems, "\n".join(problems)
    assert checked > 50


async def test_websocket_needs_a_session_of_a_served_role(served: Served) -> None:
    rule = access.access_for(access.WS, "/ws")
    assert isinstance(rule, frozenset)
    ws_url = served.url.replace("http://", "ws://") + "/ws"
    for token in (None, "forged-token"):
        url = ws_url if token is None else f"{ws_url}?token={token}"
        async with connect(url) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401, url
    for role in Role:
        token = await session_token(served.runtime, role)
        async with connect(f"{ws_url}?token={token}") as ws:
            if role in rule:
                assert '"snapshot"' in str(await ws.recv())
            else:
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_route_missing_from_the_table_is_refused_even_to_admins(tmp_path: Path) -> None:
    runtime = HallRuntime(make_site(modbus_device("ac-1", free_port())), tmp_path / "site.yaml", tmp_path / "data",
                          poll_devices=False)  # fmt: skip
    app = create_app(runtime)

    @app.get("/api/unlisted")
    async def unlisted() -> dict[str, str]:
        return {"secret": "s"}

    async with running_app(runtime, app) as url, httpx.AsyncClient(base_url=url) as client:
        token = await session_token(runtime, Role.ADMIN)
        response = await client.get("/api/unlisted", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403
        assert response.json()["error"] == "route_not_listed" and "GET /api/unlisted" in response.json()["detail"]
        assert (await client.get("/api/unlisted")).status_code == 403


async def test_openapi_documents_401_and_403_on_protected_routes(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            rule = access.access_for(method.upper(), path)
            codes = set(operation["responses"])
            if rule is access.PUBLIC:
                assert "401" not in codes or path in SIGNED_IN_BY_BODY, f"{method} {path}"
            else:
                assert {"401", "403"} <= codes, f"{method.upper()} {path} does not document 401/403"


# The policy of issue 7 in its own words, independent of the table: what visitors may see, and what never.
MUST_BE_PUBLIC = {
    ("GET", "/api/health"), ("GET", "/api/model"), ("GET", "/api/model/elements"), ("GET", "/api/zones"),
    ("POST", "/api/auth/login"), ("GET", "/openapi.json"), ("GET", "/docs"),
}  # fmt: skip
NEVER_PUBLIC_PREFIXES = ("/api/points", "/api/audit", "/api/doors", "/api/demo", "/api/alarms", "/api/workorders",
                         "/api/broadcast", "/api/cameras", "/api/auth/me", "/api/auth/logout", "/ws")  # fmt: skip


def test_the_table_keeps_the_policy(tmp_path: Path) -> None:
    runtime = HallRuntime(make_site(modbus_device("ac-1", 1)), tmp_path / "site.yaml", tmp_path / "data")
    found = {(e.method, e.path) for e in endpoints(demo_app(runtime))}
    for key in MUST_BE_PUBLIC:
        assert key in found and access.access_for(*key) is access.PUBLIC, key
    leaks = [
        key for key in found if key[1].startswith(NEVER_PUBLIC_PREFIXES) and access.access_for(*key) is access.PUBLIC
    ]
    assert not leaks, f"visitors must never reach {leaks}"
    staff_everywhere = [("GET", "/api/points"), ("GET", "/api/points/{point_id}/history"), (access.WS, "/ws")]
    assert all(access.access_for(*key) == access.STAFF for key in staff_everywhere)
    assert access.access_for("GET", "/api/audit") == {Role.ADMIN}
    assert access.access_for("POST", "/api/demo/scenarios/{name}/start") == {Role.ADMIN, Role.FACILITY}
    assert [p["id"] for p in access.pages_for(None)] == ["visitor"]
    assert [p["id"] for p in access.pages_for(Role.MANAGER)] == ["twin", "bigscreen", "visitor"]
