"""/ws with a real WebSocket client: snapshot, live updates from a device, filter, batching, drops, shutdown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.live_fanout import LiveFanout
from api.runtime import HallRuntime
from tests.api.auth_helpers import staff_headers
from tests.api.server import running_app
from tests.api.test_points_api import Hall, hall  # noqa: F401  (hall is a fixture used here)
from tests.iot_gateway.test_gateway_faults import make_site, modbus_device
from tests.peers import free_port, wait_until
from twin.points import PointUpdate, Quality

RECV_TIMEOUT = 5.0


async def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next frame about points (the open-alarm list and alarm frames are the alarm tests' to check)."""
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT))
        if frame.get("type") not in ("alarms", "alarm"):
            return frame


async def until_update(ws: ClientConnection, point_id: str, value: object) -> list[dict[str, Any]]:
    """Frames received until one carries ``point_id`` with ``value``."""
    frames = []
    while True:
        frame = await receive(ws)
        frames.append(frame)
        if frame["type"] == "updates" and any(p["id"] == point_id and p["v"] == value for p in frame["points"]):
            return frames


def ws_url(http_url: str, query: str = "") -> str:
    return http_url.replace("http://", "ws://") + "/ws" + query


async def staff_ws_url(http_url: str, runtime: HallRuntime, query: str = "") -> str:
    """The /ws URL with a facility user's session token (?token=): the stream is for staff only."""
    token = (await staff_headers(runtime, http_url))["Authorization"].removeprefix("Bearer ")
    return ws_url(http_url, query) + ("&" if query else "?") + f"token={token}"


@pytest.fixture
async def quiet_hall(tmp_path: Path) -> AsyncIterator[tuple[str, HallRuntime]]:
    """A served hall that polls nothing: the test publishes on the runtime's bus itself."""
    site = make_site(modbus_device("ac-1", free_port()))
    runtime = HallRuntime(site, tmp_path / "site.yaml", tmp_path / "data", poll_devices=False)
    async with running_app(runtime) as url:
        yield url, runtime


def update(point_id: str, value: float) -> PointUpdate:
    return PointUpdate(point_id, value, Quality.GOOD, 1.0, 2.0)


async def test_snapshot_then_live_updates_from_the_device(hall: Hall) -> None:  # noqa: F811
    bus = hall.runtime.bus
    await wait_until(lambda: "ac-1.setpoint" in bus.latest, 3.0, "first poll")
    async with connect(await staff_ws_url(hall.url, hall.runtime)) as ws:
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        by_id = {p["id"]: p for p in snapshot["points"]}
        assert by_id["ac-1.setpoint"]["v"] == 24.0 and by_id["ac-1.setpoint"]["q"] == "GOOD"
        assert set(by_id["ac-1.setpoint"]) == {"id", "v", "q", "ts", "sts"}
        hall.simulator.set_value("ac-1.setpoint", 25.5)
        await until_update(ws, "ac-1.setpoint", 25.5)
        await hall.simulator.stop()
        frames = await until_update(ws, "ac-1.comm_lost", True)
        qualities = {p["id"]: p["q"] for f in frames if f["type"] == "updates" for p in f["points"]}
        assert qualities["ac-1.setpoint"] == "UNAVAILABLE"


async def test_filter_sends_only_the_requested_points(quiet_hall: tuple[str, HallRuntime]) -> None:
    url, runtime = quiet_hall
    runtime.bus.publish(update("ac-1.mode", 1))
    runtime.bus.publish(update("ac-1.setpoint", 20.0))
    async with connect(await staff_ws_url(url, runtime, "?points=ac-1.setpoint,ac-1.on")) as ws:
        snapshot = await receive(ws)
        assert [p["id"] for p in snapshot["points"]] == ["ac-1.setpoint"]
        runtime.bus.publish(update("ac-1.mode", 2))
        runtime.bus.publish(update("ac-1.setpoint", 21.0))
        frame = await receive(ws)
        assert [(p["id"], p["v"]) for p in frame["points"]] == [("ac-1.setpoint", 21.0)]


async def test_unknown_points_in_the_filter_are_refused_clearly(quiet_hall: tuple[str, HallRuntime]) -> None:
    url, runtime = quiet_hall
    async with connect(await staff_ws_url(url, runtime, "?points=ac-1.setpoint,nope.x")) as ws:
        frame = await receive(ws)
        assert frame == {"type": "error", "message": "unknown point id(s) in ?points=: nope.x"}
        with pytest.raises(ConnectionClosed):
            await receive(ws)
        assert ws.close_code == 1008


async def test_bursts_are_batched_into_few_frames(quiet_hall: tuple[str, HallRuntime]) -> None:
    url, runtime = quiet_hall
    async with connect(await staff_ws_url(url, runtime, "?points=ac-1.setpoint")) as ws:
        await receive(ws)
        for i in range(2000):
            runtime.bus.publish(update("ac-1.setpoint", float(i)))
        frames = await until_update(ws, "ac-1.setpoint", 1999.0)
        values = [p["v"] for f in frames for p in f["points"]]
        assert values == [float(i) for i in range(2000)]  # in order, none lost
        assert len(frames) <= 5


async def test_a_slow_client_loses_the_oldest_and_is_told_how_many(quiet_hall: tuple[str, HallRuntime]) -> None:
    url, runtime = quiet_hall
    runtime.live.close()
    runtime.live = LiveFanout(runtime.bus, client_queue=50)
    async with connect(await staff_ws_url(url, runtime, "?points=ac-1.setpoint")) as ws:
        await receive(ws)
        for i in range(1000):  # one synchronous burst: the sender cannot run until it is over
            runtime.bus.publish(update("ac-1.setpoint", float(i)))
        assert await receive(ws) == {"type": "dropped", "count": 950}
        frames = await until_update(ws, "ac-1.setpoint", 999.0)
        assert [p["v"] for f in frames for p in f["points"]] == [float(i) for i in range(950, 1000)]


async def test_runtime_shutdown_closes_streams_with_going_away(quiet_hall: tuple[str, HallRuntime]) -> None:
    url, runtime = quiet_hall
    async with connect(await staff_ws_url(url, runtime)) as ws:
        await receive(ws)
        runtime.live.close()
        with pytest.raises(ConnectionClosed):
            await receive(ws)
        assert ws.close_code == 1001
    assert not runtime.live.feeds


async def test_server_shutdown_closes_open_streams(tmp_path: Path) -> None:
    site = make_site(modbus_device("ac-1", free_port()))
    runtime = HallRuntime(site, tmp_path / "site.yaml", tmp_path / "data", poll_devices=False)
    async with running_app(runtime) as url:
        ws = await connect(await staff_ws_url(url, runtime))
        await receive(ws)
    # Leaving running_app shut the server down with this client still connected.
    with pytest.raises(ConnectionClosed):
        await receive(ws)
    assert ws.close_code in (1001, 1012)  # 1012: uvicorn restarting; 1001: our fan-out closed first
    await ws.close()
