"""405 answers list in ``Allow`` the methods of the resource the path names (api/allow_header.py)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from api import allow_header


def app_with_alarm_like_routes() -> FastAPI:
    app = FastAPI()

    @app.get("/alarms/{alarm_id}")
    async def one(alarm_id: int) -> int:
        return alarm_id

    @app.post("/alarms/ack")
    async def ack_many() -> str:
        return "acked"

    @app.get("/orders")
    async def orders() -> list[int]:
        return []

    @app.post("/orders")
    async def create() -> int:
        return 1

    allow_header.install(app)
    return app


async def allow_of(client: httpx.AsyncClient, method: str, path: str) -> set[str]:
    response = await client.request(method, path)
    assert response.status_code == 405, response.text
    return set(response.headers["allow"].split(", "))


async def test_allow_lists_the_named_resource_and_every_route_of_a_path() -> None:
    transport = httpx.ASGITransport(app=app_with_alarm_like_routes())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        # A literal path is its own resource, not an alarm whose id happens to be "ack".
        assert await allow_of(client, "OPTIONS", "/alarms/ack") == {"POST"}
        assert await allow_of(client, "DELETE", "/alarms/7") == {"GET"}
        assert await allow_of(client, "PUT", "/orders") == {"GET", "POST"}
