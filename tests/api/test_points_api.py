"""/api/points and /api/points/{id}/history over HTTP, with a simulated Modbus device behind the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.runtime import HallRuntime
from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator
from tests.api.auth_helpers import staff_headers
from tests.api.server import running_app
from tests.iot_gateway.test_gateway_faults import GUID, make_site, modbus_device
from tests.peers import free_port

POINT_GUID = "2" * 22


@dataclass
class Hall:
    url: str
    runtime: HallRuntime
    simulator: ModbusDeviceSimulator
    headers: dict[str, str]  # a logged-in facility user's: points and history are for staff only


@pytest.fixture
async def hall(tmp_path: Path) -> AsyncIterator[Hall]:
    device = modbus_device("ac-1", free_port())
    device["points"][3]["ifc_guid"] = POINT_GUID  # supply_air_temp colours its own element
    site = make_site(device, modbus_device("ac-off", free_port()))  # ac-off: nothing listens there
    simulator = ModbusDeviceSimulator(site.device("ac-1"))
    simulator.set_value("ac-1.setpoint", 24.0)
    simulator.set_value("ac-1.supply_air_temp", 16.5)
    await simulator.start()
    runtime = HallRuntime(site, tmp_path / "site.yaml", tmp_path / "data")
    try:
        async with running_app(runtime) as url:
            yield Hall(url, runtime, simulator, await staff_headers(runtime, url))
    finally:
        await simulator.stop()


async def test_points_list_has_metadata_live_values_and_comm_points(hall: Hall) -> None:
    async with httpx.AsyncClient(base_url=hall.url, timeout=5.0, headers=hall.headers) as client:

        async def quality(point_id: str) -> str:
            response = await client.get(f"/api/points/{point_id}")
            return str(response.json()["quality"])

        deadline = asyncio.get_running_loop().time() + 3.0
        while await quality("ac-1.setpoint") != "GOOD" or await quality("ac-off.comm_lost") != "GOOD":
            assert asyncio.get_running_loop().time() < deadline, "points never became live"
            await asyncio.sleep(0.05)
        points = (await client.get("/api/points")).json()

    by_id = {p["id"]: p for p in points}
    assert set(by_id) == {
        f"{d}.{n}" for d in ("ac-1", "ac-off") for n in ("on", "setpoint", "mode", "supply_air_temp", "comm_lost")
    }
    setpoint = by_id["ac-1.setpoint"]
    assert setpoint["device"] == "ac-1" and setpoint["name"] == {"zh": "setpoint", "en": "setpoint"}
    assert (setpoint["unit"], setpoint["kind"], setpoint["ifc_guid"]) == ("degC", "analog", GUID)
    assert (setpoint["value"], setpoint["quality"]) == (24.0, "GOOD")
    assert setpoint["ts"] >= setpoint["source_ts"] > 0
    assert by_id["ac-1.supply_air_temp"]["ifc_guid"] == POINT_GUID
    assert by_id["ac-1.comm_lost"]["value"] is False
    assert by_id["ac-off.comm_lost"]["value"] is True
    assert (by_id["ac-off.setpoint"]["value"], by_id["ac-off.setpoint"]["quality"]) == (None, "UNAVAILABLE")


async def test_unknown_point_is_a_404_naming_it(hall: Hall) -> None:
    async with httpx.AsyncClient(base_url=hall.url, timeout=5.0, headers=hall.headers) as client:
        response = await client.get("/api/points/ac-1.nope")
        assert response.status_code == 404
        assert "no point 'ac-1.nope' in site test-hall" in response.json()["detail"]
        response = await client.get("/api/points/ac-1.nope/history")
        assert response.status_code == 404


async def test_points_before_first_data_are_unavailable(tmp_path: Path) -> None:
    site = make_site(modbus_device("ac-1", free_port()))
    runtime = HallRuntime(site, tmp_path / "site.yaml", tmp_path / "data", poll_devices=False)
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=5.0) as client:
        client.headers.update(await staff_headers(runtime, client))
        point = (await client.get("/api/points/ac-1.comm_lost")).json()
    assert (point["value"], point["quality"], point["ts"], point["source_ts"]) == (None, "UNAVAILABLE", None, None)


async def test_history_of_a_polled_point(hall: Hall) -> None:
    start = hall.runtime.clock.time() - 3600.0  # the setpoint holds still: its one sample may predate this test
    async with httpx.AsyncClient(base_url=hall.url, timeout=5.0, headers=hall.headers) as client:
        deadline = asyncio.get_running_loop().time() + 5.0
        while True:
            response = await client.get("/api/points/ac-1.setpoint/history", params={"start": start})
            assert response.status_code == 200, response.text
            body = response.json()
            if body["samples"]:
                break
            assert asyncio.get_running_loop().time() < deadline, "the recorder never stored the setpoint"
            await asyncio.sleep(0.05)
        assert body["resolution"] == "raw" and body["id"] == "ac-1.setpoint"
        assert body["samples"][0]["v"] == 24.0 and body["samples"][0]["q"] == "GOOD"

        iso = await client.get(
            "/api/points/ac-1.setpoint/history",
            params={"start": "2024-05-01T08:00:00Z", "end": "2024-05-01T09:00:00+08:00", "step": "60"},
        )
        assert iso.status_code == 422  # 09:00+08:00 is 01:00Z, before the start
        iso = await client.get(
            "/api/points/ac-1.setpoint/history",
            params={"start": "2024-05-01T08:00:00Z", "end": "2024-05-01T10:00:00Z", "step": "600"},
        )
        assert iso.status_code == 200, iso.text
        assert (iso.json()["start"], iso.json()["step"], iso.json()["buckets"]) == (1714550400.0, 600.0, [])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "yesterday"}, "start='yesterday' is neither epoch seconds nor an ISO 8601 time"),
        ({"start": "100", "end": "50"}, "start (100.000) must be before end (50.000)"),
        ({"start": "100", "end": "100"}, "must be before end"),
        ({"start": "0", "end": "100", "step": "0"}, "step='0' must be a positive number of seconds"),
        ({"start": "0", "end": "100", "step": "-5"}, "step='-5' must be a positive"),
        ({"start": "0", "end": "100", "step": "fast"}, "step='fast' must be a number of seconds"),
        ({"start": "nan"}, "must be a finite, non-negative epoch time"),
        ({"start": "0", "end": str(500 * 86400)}, "at most 400 are served"),
        ({"start": "0", "end": "86400", "step": "1"}, "gives 86400 buckets over this range; at most 10000"),
    ],
)
async def test_history_parameters_are_validated(hall: Hall, params: dict[str, str], message: str) -> None:
    async with httpx.AsyncClient(base_url=hall.url, timeout=5.0, headers=hall.headers) as client:
        response = await client.get("/api/points/ac-1.setpoint/history", params=params)
    assert response.status_code == 422
    assert message in response.json()["detail"]


async def test_openapi_describes_the_public_paths(hall: Hall) -> None:
    """/openapi.json is part of the public contract (../shared/DESIGN.md): it lists every path served so far."""
    async with httpx.AsyncClient(base_url=hall.url, timeout=5.0, headers=hall.headers) as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    public = {
        "/api/health", "/api/model", "/api/model/elements", "/api/zones", "/api/points", "/api/points/{point_id}",
        "/api/points/{point_id}/history",
    }  # fmt: skip
    assert public <= set(paths), public - set(paths)
    parameters = {p["name"] for p in paths["/api/points/{point_id}/history"]["get"]["parameters"]}
    assert parameters == {"point_id", "start", "end", "step"}
