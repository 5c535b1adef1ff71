"""The three.js viewer in headless Chromium (software WebGL) against the real app: model, storeys, picking,
languages and live colouring from the PointBus through /ws."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI

from api import routes_model, static
from tests.api.server import FZK_OFFICE_SPACE, keep_screenshot, make_runtime, running_app, write_fzk_site
from tests.peers import REPO_ROOT
from twin.points import PointUpdate, Quality

pytestmark = pytest.mark.browser

READY_TIMEOUT_MS = 90_000  # first load converts the IFC and SwiftShader compiles shaders on two busy cores
STEP_TIMEOUT_MS = 15_000
VIEWPORT = {"width": 1280, "height": 800}
BACKGROUND = np.array([0xE9, 0xEE, 0xF3])
ERDGESCHOSS = "2eyxpyOx95m90jmsXLOuR0"
GROUND_WALL = "3rPX_Juz59peXXY6wDJl18"  # Wand-Ext-ERDG-1
UPPER_WALL = "0knNIAVBPBFvBy_m5QVHsU"  # Wand-Ext-OG-1
OFFICE_DOOR = "2qiPPF3FrF8OIqfrKiSUqm"  # Innentuer-3, the door of room '2' Buero
INNER_WALL = "2XPyKWY018sA1ygZKgQPtU"  # Wand-Int-ERDG-4, stands in for an air-conditioning unit
STATE_COLOURS = {"normal": "#2e9e4f", "alarm": "#e02424", "stale": "#f0b429", "bad": "#f07d1a"}


class Viewer:
    """One browser page on the viewer, with the page's uncaught errors collected."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    @classmethod
    async def open(cls, browser: Any, url: str, shots: Path) -> Viewer:
        viewer = cls(await browser.new_page(viewport=VIEWPORT), shots)
        await viewer.page.goto(url + "/")
        await viewer.page.wait_for_function(
            "window.hallTwin && window.hallTwin.state !== 'loading'", timeout=READY_TIMEOUT_MS
        )
        state = await viewer.js("[window.hallTwin.state, window.hallTwin.error]")
        assert state == ["ready", None], f"the viewer did not get ready: {state}"
        return viewer

    async def js(self, expression: str, arg: Any = None) -> Any:
        return await self.page.evaluate(expression, arg)

    async def until(self, expression: str, arg: Any = None) -> None:
        await self.page.wait_for_function(expression, arg=arg, timeout=STEP_TIMEOUT_MS)

    async def screenshot(self, name: str) -> Path:
        path = self.shots / name
        await self.page.screenshot(path=str(path))
        keep_screenshot(path)
        return path

    async def canvas_colours(self) -> tuple[int, float]:
        """(distinct colours, share of pixels that are not background) of a fresh frame, every 4th pixel."""
        frame = await self.js("window.hallTwin.readPixels(4)")
        rgb = np.array(frame["rgb"], dtype=np.int16).reshape(-1, 3)
        distinct = len(np.unique(rgb, axis=0))
        not_background = float(np.mean(np.any(np.abs(rgb - BACKGROUND) > 8, axis=1)))
        return distinct, not_background

    async def click_element(self, guid: str) -> None:
        """Click where the element is visible on screen, as a user would."""
        point = await self.js("(guid) => window.hallTwin.screenPointOf(guid)", guid)
        assert point is not None, f"{guid} is nowhere visible on screen"
        await self.page.mouse.click(point["x"], point["y"])

    async def panel_field(self, key: str) -> str:
        text: str = await self.page.locator(f'#info-panel dd[data-field="{key}"]').inner_text()
        return text

    async def select_storey(self, value: str) -> None:
        await self.page.select_option("#storey-select", value)


async def test_fzk_house_renders_picks_and_switches_storeys(
    fzk_site: Path, tmp_path: Path, model_cache: Path, browser: Any, screenshot_dir: Path
) -> None:
    runtime = make_runtime(fzk_site, tmp_path / "data", cache_dir=model_cache)
    async with running_app(runtime) as url:
        viewer = await Viewer.open(browser, url, screenshot_dir)
        distinct, covered = await viewer.canvas_colours()
        assert distinct > 100, f"the canvas looks blank: {distinct} distinct colours"
        assert covered > 0.2, f"the building covers only {covered:.0%} of the canvas"
        await viewer.screenshot("fzk_all_storeys.png")
        assert await viewer.page.locator("h1").inner_text() == "政务服务大厅数字孪生"
        assert await viewer.js("window.hallTwin.storeys().map((s) => s.name)") == ["Erdgeschoss", "Dachgeschoss"]

        await viewer.select_storey(ERDGESCHOSS)
        visible = await viewer.js(f"[{GROUND_WALL!r}, {UPPER_WALL!r}].map((g) => window.hallTwin.isVisible(g))")
        assert visible == [True, False]
        _, covered_ground = await viewer.canvas_colours()
        assert 0.05 < covered_ground < covered  # the ground floor alone: the roof and upper walls are gone

        await viewer.click_element(FZK_OFFICE_SPACE)
        name = viewer.page.get_by_test_id("info-name")
        await name.wait_for(timeout=STEP_TIMEOUT_MS)
        assert await name.inner_text() == "Buero (2)"
        assert await viewer.panel_field("panel.storey") == "Erdgeschoss"
        assert await viewer.panel_field("panel.zone") == "办公区"
        assert await viewer.panel_field("panel.class") == "房间 · IfcSpace"

        await viewer.click_element(OFFICE_DOOR)
        await viewer.until("document.querySelector('[data-testid=info-name]').textContent === 'Innentuer-3'")
        assert await viewer.panel_field("panel.room") == "Buero (2)"
        assert await viewer.panel_field("panel.class") == "门 · IfcDoor"
        await viewer.screenshot("fzk_ground_floor_door_panel.png")

        await viewer.page.get_by_test_id("lang-toggle").click()
        await viewer.until("document.querySelector('h1').textContent === 'Service Hall Digital Twin'")
        assert await viewer.panel_field("panel.class") == "Door · IfcDoor"
        await viewer.until("document.getElementById('live-status').textContent === 'Live data connected'")
        await viewer.screenshot("fzk_english.png")
        assert viewer.errors == []


def live_devices() -> list[dict[str, object]]:
    """An access door on the office door and an air-conditioning unit on a wall (FZK-Haus has no devices)."""
    return [
        {
            "id": "door-1",
            "name": {"zh": "办公室门禁", "en": "Office door"},
            "kind": "access_door",
            "zone": "office",
            "ifc_guid": OFFICE_DOOR,
            "connection": {"type": "bacnet_ip", "address": "127.0.0.1:47999", "device_instance": 900},
            "points": [
                {
                    "id": "door-1.open",
                    "name": {"zh": "门开启", "en": "Door open"},
                    "kind": "binary",
                    "brick": "Door_Position_Sensor",
                    "address": {"type": "bacnet", "object": "binary-input:1"},
                },
                {
                    "id": "door-1.forced",
                    "name": {"zh": "强行开门", "en": "Door forced"},
                    "kind": "binary",
                    "brick": "Intrusion_Alarm",
                    "address": {"type": "bacnet", "object": "binary-input:2"},
                },
            ],
        },
        {
            "id": "ac-1",
            "name": {"zh": "等候区空调", "en": "Waiting area AC"},
            "kind": "ac_unit",
            "zone": "waiting",
            "ifc_guid": INNER_WALL,
            "connection": {"type": "modbus_tcp", "host": "127.0.0.1", "port": 15999},
            "points": [
                {
                    "id": "ac-1.supply_air_temp",
                    "name": {"zh": "送风温度", "en": "Supply air temperature"},
                    "kind": "analog",
                    "unit": "°C",
                    "brick": "Supply_Air_Temperature_Sensor",
                    "address": {"type": "modbus", "table": "input", "offset": 0, "data_type": "int16", "scale": 0.1},
                },
            ],
        },
    ]


def update(point_id: str, value: float | bool | None, quality: Quality = Quality.GOOD) -> PointUpdate:
    now = time.time()
    return PointUpdate(point_id, value, quality, now, now)


async def test_live_points_colour_devices_and_fill_the_panel(
    fzk_site: Path, tmp_path: Path, model_cache: Path, browser: Any, screenshot_dir: Path
) -> None:
    site = write_fzk_site(fzk_site.parent, devices=live_devices())
    runtime = make_runtime(site, tmp_path / "data", cache_dir=model_cache)
    async with running_app(runtime) as url:
        bus = runtime.bus
        bus.publish_many([update("door-1.open", False), update("door-1.forced", False)])
        bus.publish(update("ac-1.supply_air_temp", 18.5))
        viewer = await Viewer.open(browser, url, screenshot_dir)
        await viewer.until("document.getElementById('live-status').dataset.status === 'connected'")
        state_of = "([guid, state]) => window.hallTwin.elementState(guid) === state"
        await viewer.until(state_of, [OFFICE_DOOR, "normal"])
        await viewer.until(state_of, [INNER_WALL, "normal"])
        assert await viewer.js("(g) => window.hallTwin.deviceColour(g)", OFFICE_DOOR) == STATE_COLOURS["normal"]

        bus.publish(update("door-1.forced", True))
        await viewer.until(state_of, [OFFICE_DOOR, "alarm"])
        assert await viewer.js("(g) => window.hallTwin.deviceColour(g)", OFFICE_DOOR) == STATE_COLOURS["alarm"]
        for quality, state in ((Quality.STALE, "stale"), (Quality.BAD, "bad"), (Quality.UNAVAILABLE, "unavailable")):
            bus.publish(update("ac-1.supply_air_temp", 18.5 if quality is Quality.STALE else None, quality))
            await viewer.until(state_of, [INNER_WALL, state])

        await viewer.select_storey(ERDGESCHOSS)
        await viewer.click_element(OFFICE_DOOR)
        forced_row = viewer.page.locator('[data-testid=info-points] tr[data-point="door-1.forced"]')
        await forced_row.wait_for(timeout=STEP_TIMEOUT_MS)
        assert await forced_row.get_attribute("data-state") == "alarm"
        assert (await forced_row.inner_text()).split("\t")[1:3] == ["强行开门", "是"]
        assert await viewer.page.get_by_test_id("info-state").get_attribute("data-state") == "alarm"
        await viewer.screenshot("fzk_live_alarm_panel.png")

        # A dropped stream reconnects by itself and picks up values published meanwhile.
        messages = await viewer.js("window.hallTwin.live.messages")
        await viewer.js("window.hallTwin.live.socket.close()")
        bus.publish(update("door-1.forced", False))
        await viewer.until("(n) => window.hallTwin.live.messages > n && window.hallTwin.live.status === 'connected'",
                           messages)  # fmt: skip
        await viewer.until(state_of, [OFFICE_DOOR, "normal"])
        value_cell = forced_row.locator("td.value")
        assert await value_cell.inner_text() == "否"  # the open panel follows live values
        assert viewer.errors == []


async def test_viewer_works_on_a_server_without_live_data(
    fzk_site: Path, tmp_path: Path, model_cache: Path, browser: Any, screenshot_dir: Path
) -> None:
    """A server that only serves the model (no /api/points, no /ws): the twin still loads and picks."""
    runtime = make_runtime(fzk_site, tmp_path / "data", cache_dir=model_cache)
    app = FastAPI(lifespan=runtime.lifespan)
    app.state.runtime = runtime
    app.include_router(routes_model.router)
    static.mount_viewer(app)
    async with running_app(runtime, app) as url:
        viewer = await Viewer.open(browser, url, screenshot_dir)
        await viewer.until("document.getElementById('live-status').dataset.status === 'offline'")
        assert await viewer.page.get_by_test_id("live-status").inner_text() == "无实时数据"
        await viewer.select_storey(ERDGESCHOSS)
        await viewer.click_element(OFFICE_DOOR)
        await viewer.until("document.querySelector('[data-testid=info-name]')?.textContent === 'Innentuer-3'")
        assert await viewer.page.locator("[data-testid=info-points]").count() == 0
        assert viewer.errors == []


async def test_demo_hall_in_the_viewer(tmp_path: Path, model_cache: Path, browser: Any, screenshot_dir: Path) -> None:
    """The demo hall: every storey renders, a device can be clicked, an alarm turns it red."""
    if importlib.util.find_spec("bim_models.demo_hall") is None:
        pytest.skip("bim_models/demo_hall.py is not written yet")
    from bim_models.demo_hall import ensure_demo_hall

    await asyncio.to_thread(ensure_demo_hall)
    site_path = REPO_ROOT / "bim_models" / "site.yaml"
    runtime = make_runtime(site_path, tmp_path / "data", cache_dir=model_cache)
    points = list(runtime.point_catalog.values())
    async with running_app(runtime) as url:
        viewer = await Viewer.open(browser, url, screenshot_dir)
        distinct, covered = await viewer.canvas_colours()
        assert distinct > 100 and covered > 0.12, (distinct, covered)  # a long, low hall seen from a corner
        await viewer.screenshot("demo_hall_all_storeys.png")
        storeys = await viewer.js("window.hallTwin.storeys()")
        assert len(storeys) >= 2
        for storey in storeys:
            await viewer.select_storey(storey["guid"])
            distinct, covered = await viewer.canvas_colours()
            assert distinct > 50 and covered > 0.05, (storey["name"], distinct, covered)
            await viewer.screenshot(f"demo_hall_storey_{storey['name']}.png")

        alarm = next(p for p in points if p.kind.value == "binary" and _is_alarm_suffix(p.id) and p.ifc_guid)
        runtime.bus.publish(update(alarm.id, True))
        state_of = "([guid, state]) => window.hallTwin.elementState(guid) === state"
        await viewer.until(state_of, [alarm.ifc_guid, "alarm"])
        storey_of = await viewer.js("(g) => window.hallTwin.model.info.get(g).storey", alarm.ifc_guid)
        await viewer.select_storey(storey_of or "all")
        await viewer.click_element(str(alarm.ifc_guid))
        row = viewer.page.locator(f'[data-testid=info-points] tr[data-point="{alarm.id}"]')
        await row.wait_for(timeout=STEP_TIMEOUT_MS)
        assert await row.get_attribute("data-state") == "alarm"
        await viewer.screenshot("demo_hall_alarm_panel.png")
        assert viewer.errors == []


def _is_alarm_suffix(point_id: str) -> bool:
    suffix = point_id.rsplit(".", 1)[-1]
    return suffix in {"fire", "forced", "fault", "on_battery", "trouble"} or suffix.startswith(
        ("smoke_", "ebtn_", "leak_")
    )
