"""The demo hall served end to end for tests: own broker, every device simulated on free ports, the full runtime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from api.demo import scenario_router
from api.runtime import HallRuntime
from bim_models.demo_hall import SITE_PATH, ensure_demo_hall
from iot_gateway.broker import MqttBrokerLauncher
from iot_gateway.simulators.hall import HallLayout, HallSimulator, read_layout
from iot_gateway.simulators.site_ports import with_free_ports
from tests.api.auth_helpers import staff_headers
from tests.api.server import running_app
from twin.site.loader import load_site
from twin.site.model import BacnetConnection, DeviceKind, ModbusConnection, SiteConfig

# Ten simulated seconds per real second, as `halltwin demo` runs: a UPS on battery visibly discharges.
TIME_SCALE = 10.0
POLL_PERIOD_S = 1.0  # the demo site's poll_interval_s (the model default)
MQTT_PERIOD_S = 5.0  # MqttDeviceSimulator re-publishes every topic this often (retain false)
# Every device GOOD: one MQTT re-publish period (the gateway may subscribe just after the first publish) plus
# two poll periods, with head-room for two cores shared by several test runs (a fresh clone's suite runs at load
# 9-14: devices that time out while the demo starts come back after their pollers' back-off).
ALL_GOOD_DEADLINE_S = MQTT_PERIOD_S + 2 * POLL_PERIOD_S + 30.0
SCENARIO_DEADLINE_S = 3 * POLL_PERIOD_S + 2.0  # a scenario's points change on the next poll (or COV)
# The simulated devices answer from the test's own event loop, which a loaded suite stalls for a second or more
# (screenshots, a start-up alarm flood, two other workers and Chromium on two cores): a request in flight across
# such a stall timed out at the site's 1 s, the device was reported lost and its alarms disturbed the page under
# test. The tests here are about the pages, not about how fast a lost device is noticed (tests/iot_gateway).
DEVICE_TIMEOUT_S = 3.0

Points = dict[str, dict[str, Any]]


def demo_site(mqtt_port: int) -> SiteConfig:
    """The bundled demo site with every simulated endpoint on a free loopback port, and the pollers' answer
    deadline at DEVICE_TIMEOUT_S."""
    ensure_demo_hall()
    site = with_free_ports(load_site(SITE_PATH), mqtt_port=mqtt_port)
    devices = [
        device.model_copy(update={"connection": device.connection.model_copy(update={"timeout_s": DEVICE_TIMEOUT_S})})
        if isinstance(device.connection, ModbusConnection | BacnetConnection) else device
        for device in site.devices
    ]  # fmt: skip
    return site.model_copy(update={"devices": devices})


def polled_device_ids(site: SiteConfig) -> list[str]:
    """Devices the gateway polls (computed devices, such as the queue analytics, are published, not polled)."""
    return [d.id for d in site.devices if d.connection is not None and d.connection.type != "computed"]


@dataclass
class DemoHall:
    """A running demo hall: its URL, HTTP client, runtime, simulator, broker and layout."""

    url: str
    client: httpx.AsyncClient
    runtime: HallRuntime
    hall: HallSimulator
    broker: MqttBrokerLauncher
    layout: HallLayout

    @property
    def site(self) -> SiteConfig:
        return self.hall.site

    async def points(self) -> Points:
        response = await self.client.get("/api/points")
        response.raise_for_status()
        return {point["id"]: point for point in response.json()}

    async def wait_points(
        self, why: str, condition: Callable[[Points], list[str]], deadline_s: float = SCENARIO_DEADLINE_S
    ) -> Points:
        """Poll /api/points until ``condition`` returns no complaints; fail with the last complaints else."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_s
        while True:
            points = await self.points()
            complaints = condition(points)
            if not complaints:
                return points
            if loop.time() > end:
                shown = "; ".join(complaints[:12])
                raise AssertionError(f"{why}: not within {deadline_s:g} s ({len(complaints)} left): {shown}")
            await asyncio.sleep(0.2)

    async def wait_values(
        self, why: str, expected: Mapping[str, object], deadline_s: float = SCENARIO_DEADLINE_S
    ) -> Points:
        """Wait until each point in ``expected`` is GOOD with that value."""

        def mismatches(points: Points) -> list[str]:
            return [
                f"{pid}={points[pid]['value']!r} ({points[pid]['quality']}), want {want!r}"
                for pid, want in expected.items()
                if points[pid]["value"] != want or points[pid]["quality"] != "GOOD"
            ]

        return await self.wait_points(why, mismatches, deadline_s)


@contextlib.asynccontextmanager
async def running_demo(tmp_path: Path, model_cache: Path | None = None) -> AsyncIterator[DemoHall]:
    """Broker, hall simulator and runtime (with the MQTT bridge and the scenario API), all on free ports.
    Everything started here is stopped here, in reverse order, also when the test fails."""
    broker = MqttBrokerLauncher(workdir=tmp_path / "broker")
    await broker.start()
    try:
        site = await asyncio.to_thread(demo_site, broker.port)
        layout = await asyncio.to_thread(read_layout, SITE_PATH.parent / site.site.ifc, site)
        hall = HallSimulator(site, layout, time_scale=TIME_SCALE)
        # The simulators first: the gateway then finds every device answering on its first poll.
        await hall.start()
        try:
            runtime = HallRuntime(site, SITE_PATH, tmp_path / "data", mqtt_bridge=True)
            if model_cache is not None:
                runtime.cache_dir = model_cache
            app = create_app(runtime, extra_routers=[scenario_router(hall)])
            app.state.demo = True  # as `halltwin demo` does: /api/health says so, and the viewer offers the scenarios
            # 30 s: when the suite's browser modules overlap on two cores, a login (Argon2) was seen to take > 10 s.
            async with running_app(runtime, app) as url, httpx.AsyncClient(base_url=url, timeout=30.0) as client:
                # Logged in as facility: points, history, /ws and the scenario controls are for staff only.
                client.headers.update(await staff_headers(runtime, client))
                yield DemoHall(url, client, runtime, hall, broker, layout)
        finally:
            await hall.stop()
    finally:
        await broker.stop()


def all_good(points: Points) -> list[str]:
    """Complaints about points that are not GOOD, or devices whose comm_lost point is not a GOOD false. Computed
    queue figures are left out: a wait percentile is BAD ("no ticket yet") until the first call of its service."""
    complaints = [f"{pid}: {p['quality']}" for pid, p in points.items() if p["quality"] != "GOOD"
                  and not (pid.startswith("queue.") and p.get("reason") == "no ticket yet for this figure")]
    complaints += [f"{pid} is {p['value']!r}" for pid, p in points.items() if pid.endswith(".comm_lost") and p["value"]]
    return complaints


def fire_expectations(demo: DemoHall, zone: str) -> dict[str, object]:
    """Fire in ``zone``: its fire-zone input, the smoke detectors standing in it and the evacuation broadcast are
    true; every other fire zone and smoke detector stays false."""
    panel = next(d for d in demo.site.devices if d.kind == DeviceKind.FIRE_PANEL)
    expected: dict[str, object] = {}
    for point in panel.points:
        suffix = point.id.removeprefix(panel.id + ".")
        if suffix.startswith("zone_") and suffix.endswith(".fire"):
            expected[point.id] = zone in demo.layout.group_zones[point.ifc_guid or ""]
        elif suffix.startswith("smoke_"):
            expected[point.id] = demo.layout.element_zone.get(point.ifc_guid or "") == zone
    expected[f"{panel.id}.evac_broadcast"] = True
    return expected
