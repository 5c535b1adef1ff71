"""Logging in from tests: create a user in the runtime's store, log in over HTTP, get headers or a browser cookie."""

from __future__ import annotations

from typing import Any

import httpx

from api.auth import COOKIE_NAME
from api.runtime import HallRuntime
from store import Role, Store, User

TEST_PASSWORD = "test-password"


async def create_user(store: Store, name: str, role: Role | str, password: str = TEST_PASSWORD) -> User:
    """A user with this role and password (an existing one is given them)."""
    return await store.users.reset(name, Role(role), password)


async def login(client_or_base_url: httpx.AsyncClient | str, name: str, password: str = TEST_PASSWORD) -> str:
    """POST /api/auth/login; the session token (fails the test with the server's answer when refused)."""
    if isinstance(client_or_base_url, httpx.AsyncClient):
        response = await client_or_base_url.post("/api/auth/login", json={"username": name, "password": password})
    else:
        async with httpx.AsyncClient(base_url=client_or_base_url, timeout=10.0) as client:
            response = await client.post("/api/auth/login", json={"username": name, "password": password})
    assert response.status_code == 200, f"login as {name!r}: {response.status_code} {response.text}"
    token: str = response.json()["token"]
    return token


async def login_headers(
    client_or_base_url: httpx.AsyncClient | str, name: str, password: str = TEST_PASSWORD
) -> dict[str, str]:
    """``Authorization: Bearer`` headers of a fresh session of ``name``."""
    return {"Authorization": f"Bearer {await login(client_or_base_url, name, password)}"}


async def staff_headers(
    runtime: HallRuntime, client_or_base_url: httpx.AsyncClient | str, role: Role | str = Role.FACILITY
) -> dict[str, str]:
    """Headers of a user named after ``role`` (created in the running runtime's store if needed)."""
    name = Role(role).value
    await create_user(runtime.store, name, role)
    return await login_headers(client_or_base_url, name)


async def browser_cookies(
    runtime: HallRuntime, base_url: str, role: Role | str = Role.FACILITY
) -> list[dict[str, Any]]:
    """The session cookie of a user named after ``role``, for playwright's ``context.add_cookies``."""
    name = Role(role).value
    await create_user(runtime.store, name, role)
    token = await login(base_url, name)
    return [{"name": COOKIE_NAME, "value": token, "url": base_url, "httpOnly": True, "sameSite": "Strict"}]
