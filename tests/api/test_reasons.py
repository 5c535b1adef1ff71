"""The reason travels with the quality: /api/points, /api/points/{id}, /ws and MQTT carry why a value is not GOOD."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from api.runtime import HallRuntime
from iot_gateway.mqtt_bridge import point_payload
from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator
from tests.api.auth_helpers import staff_headers
from tests.api.server import running_app
from tests.iot_gateway.test_gateway_faults import bacnet_device, make_site
from tests.peers import free_port
from twin.points import PointUpdate, Quality


@pytest.fixture
async def hall(tmp_path: Path) -> AsyncIterator[tuple[str, HallRuntime]]:
    """A BACnet device serving two objects behind a gateway whose site file names three: one object is not there."""
    device = bacnet_device("env-ctl", free_port(socket.SOCK_DGRAM), 1301)
    served = make_site(device).device("env-ctl")
    ghost = json.loads(json.dumps(device["points"][1]))
    ghost.update(id="env-ctl.ghost_temp", address={"type": "bacnet", "object": "analog-input:77"})
    device["points"].append(ghost)
    site = make_site(device)
    simulator = BacnetDeviceSimulator(served)
    await simulator.start()
    runtime = HallRuntime(site, tmp_path / "site.yaml", tmp_path / "data")
    try:
        async with running_app(runtime) as url:
            yield url, runtime
    finally:
        await simulator.stop()


async def test_one_unknown_object_of_three_is_bad_with_its_reason_on_the_api_and_ws(
    hall: tuple[str, HallRuntime],
) -> None:
    url, runtime = hall
    headers = await staff_headers(runtime, url)  # the facility role reads points
    wanted = {"env-ctl.leak_1", "env-ctl.server_room_temp", "env-ctl.ghost_temp"}
    async with httpx.AsyncClient(base_url=url, timeout=5.0, headers=headers) as client:
        deadline = asyncio.get_running_loop().time() + 10.0
        while True:
            points = {p["id"]: p for p in (await client.get("/api/points")).json() if p["id"] in wanted}
            if points and all(p["quality"] != "UNAVAILABLE" for p in points.values()):
                break
            assert asyncio.get_running_loop().time() < deadline, f"points never read: {points}"
            await asyncio.sleep(0.05)
        one = (await client.get("/api/points/env-ctl.ghost_temp")).json()

    assert points["env-ctl.leak_1"]["quality"] == "GOOD" and points["env-ctl.leak_1"]["reason"] is None
    assert points["env-ctl.server_room_temp"]["quality"] == "GOOD"
    ghost = points["env-ctl.ghost_temp"]
    assert ghost["quality"] == "BAD" and ghost["value"] is None
    assert "unknown-object" in ghost["reason"] and len(ghost["reason"]) < 120
    assert one["reason"] == ghost["reason"]

    ws_url = url.replace("http://", "ws://") + "/ws?points=env-ctl.ghost_temp,env-ctl.leak_1"
    async with connect(ws_url, additional_headers=headers) as ws:
        snapshot: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5.0))
    live = {p["id"]: p for p in snapshot["points"]}
    assert live["env-ctl.ghost_temp"]["q"] == "BAD" and live["env-ctl.ghost_temp"]["r"] == ghost["reason"]
    assert "r" not in live["env-ctl.leak_1"]  # GOOD values carry no reason


def test_mqtt_payload_carries_the_reason_only_when_set() -> None:
    bad = PointUpdate("p", None, Quality.UNAVAILABLE, 1.0, 2.0, "no answer within 1 s")
    assert json.loads(point_payload(bad)) == {"v": None, "q": "UNAVAILABLE", "ts": 2.0, "r": "no answer within 1 s"}
    good = PointUpdate("p", 1.5, Quality.GOOD, 1.0, 2.0)
    assert json.loads(point_payload(good)) == {"v": 1.5, "q": "GOOD", "ts": 2.0}


@pytest.mark.browser
async def test_viewer_shows_the_reason_beside_the_quality(
    fzk_site: Path, tmp_path: Path, model_cache: Path, browser: Any, screenshot_dir: Path
) -> None:
    from tests.api.server import make_runtime, write_fzk_site
    from tests.api.test_viewer_browser import ERDGESCHOSS, INNER_WALL, STEP_TIMEOUT_MS, Viewer, live_devices

    site = write_fzk_site(fzk_site.parent, devices=live_devices())
    runtime = make_runtime(site, tmp_path / "data", cache_dir=model_cache)
    point = "ac-1.supply_air_temp"

    def publish(quality: Quality, reason: str | None, value: float | None = None) -> None:
        now = time.time()
        runtime.bus.publish(PointUpdate(point, value, quality, now, now, reason))

    async with running_app(runtime) as url:
        publish(Quality.BAD, "exception 2 ILLEGAL_ADDRESS")
        viewer = await Viewer.open(browser, url, screenshot_dir, runtime)
        await viewer.until("document.getElementById('live-status').dataset.status === 'connected'")
        await viewer.select_storey(ERDGESCHOSS)
        await viewer.click_element(INNER_WALL)
        reason = viewer.page.locator(f'[data-testid=info-points] tr[data-reason-for="{point}"] td.reason')
        await reason.wait_for(timeout=STEP_TIMEOUT_MS)
        assert await reason.inner_text() == "原因：exception 2 ILLEGAL_ADDRESS"
        row = viewer.page.locator(f'[data-testid=info-points] tr[data-point="{point}"]')
        assert await row.locator("td.quality").inner_text() == "异常"
        await viewer.screenshot("reason_in_panel.png")

        # A new reason with the same quality reaches the open panel; a GOOD value takes the reason away.
        publish(Quality.BAD, "no answer within 1 s")
        await viewer.until(
            "(p) => document.querySelector(`tr[data-reason-for=\"${p}\"] td.reason`)?.textContent"
            " === '原因：no answer within 1 s'",
            point,
        )
        publish(Quality.GOOD, None, 18.5)
        await viewer.until("(p) => !document.querySelector(`tr[data-reason-for=\"${p}\"]`)", point)
        assert await row.locator("td.quality").inner_text() == "良好"
        assert viewer.errors == []
