"""The three.js viewer in headless Chromium (software WebGL) against the real app: model, storeys, picking,
languages and live colouring from the PointBus through /ws."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from api import routes_model, static
from api.runtime import HallRuntime
from tests.api.auth_helpers import browser_cookies, staff_headers
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
    async def open(cls, browser: Any, url: str, shots: Path, runtime: HallRuntime | None) -> Viewer:
        """The viewer in a browser context logged in as a facility user (the twin is for staff only); without a
        runtime (an app with no accounts), not logged in."""
        context = await browser.new_context(viewport=VIEWPORT)
        if runtime is not None:
            await context.add_cookies(await browser_cookies(runtime, url))
        viewer = cls(await context.new_page(), shots)
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
        """Click where the element is visible on screen, as a user would (once a camera flight has ended:
        a click flies the camera to what it picked)."""
        await self.until("!window.hallTwin.stage.flying")
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
        viewer = await Viewer.open(browser, url, screenshot_dir, runtime)
        distinct, covered = await viewer.canvas_colours()
        assert distinct > 100, f"the canvas looks blank: {distinct} distinct colours"
        assert covered > 0.2, f"the building covers only {covered:.0%} of the canvas"
        await viewer.screenshot("fzk_all_storeys.png")
        assert await viewer.page.locator("h1").inner_text() == "数字孪生"
        await viewer.until("window.hallTwin.scenarioApi === false")  # not the demo: no scenario panel
        assert await viewer.page.get_by_test_id("scenario-panel").is_hidden()
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
        # The storey in Chinese (a trivial German name, ifc_names.js), the IFC name as its second line.
        assert await viewer.panel_field("panel.storey") == "首层\nErdgeschoss"
        assert await viewer.panel_field("panel.zone") == "办公区"
        assert await viewer.panel_field("panel.class") == "房间 · IfcSpace"

        await viewer.click_element(OFFICE_DOOR)
        await viewer.until("document.querySelector('[data-testid=info-name]').textContent === 'Innentuer-3'")
        assert await viewer.panel_field("panel.room") == "Buero (2)"
        assert await viewer.panel_field("panel.class") == "门 · IfcDoor"
        await viewer.screenshot("fzk_ground_floor_door_panel.png")

        await viewer.page.get_by_test_id("lang-toggle").click()
        await viewer.until("document.querySelector('h1').textContent === 'Digital twin'")
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
                {
                    "id": "ac-1.setpoint",
                    "name": {"zh": "温度设定", "en": "Setpoint"},
                    "kind": "analog",
                    "unit": "°C",
                    "brick": "Air_Temperature_Setpoint",
                    "address": {"type": "modbus", "table": "holding", "offset": 0, "data_type": "int16", "scale": 0.1},
                    "writable": True,
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
        viewer = await Viewer.open(browser, url, screenshot_dir, runtime)
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


TREND = "[data-testid=trend]"


async def test_a_point_s_last_hour_is_drawn_from_history(
    fzk_site: Path, tmp_path: Path, model_cache: Path, browser: Any, screenshot_dir: Path
) -> None:
    """The panel of a device opens with the trend of its first analog point, read from the history store; another
    analog point is chosen with a click (or Enter) and says when it has no history."""
    site = write_fzk_site(fzk_site.parent, devices=live_devices())
    runtime = make_runtime(site, tmp_path / "data", cache_dir=model_cache)
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        client.headers.update(await staff_headers(runtime, client))
        now = time.time()
        # One sample a minute for the last hour: 20.0, 20.5, ... 24.5, then again.
        temps = [20.0 + (i % 10) * 0.5 for i in range(60)]
        runtime.bus.publish_many([
            PointUpdate("ac-1.supply_air_temp", v, Quality.GOOD, now - 3570 + 60 * i, now - 3570 + 60 * i)
            for i, v in enumerate(temps)
        ])  # fmt: skip

        async def recorded() -> bool:
            body = (await client.get("/api/points/ac-1.supply_air_temp/history", params={"step": 60})).json()
            return sum(b["count"] for b in body.get("buckets", [])) == len(temps)

        deadline = time.monotonic() + 10
        while not await recorded():
            assert time.monotonic() < deadline, "the history store did not record the samples"
            await asyncio.sleep(0.1)

        viewer = await Viewer.open(browser, url, screenshot_dir, runtime)
        await viewer.until("document.getElementById('live-status').dataset.status === 'connected'")
        await viewer.select_storey(ERDGESCHOSS)
        await viewer.click_element(INNER_WALL)
        await viewer.until(f"document.querySelector('{TREND}')?.dataset.status === 'ok'")
        trend = viewer.page.locator(TREND)
        assert await trend.get_attribute("data-point") == "ac-1.supply_air_temp"
        assert await trend.locator("svg").get_attribute("data-samples") == "60"
        assert await trend.get_by_test_id("trend-max").text_content() == "24.5 °C"
        assert await trend.get_by_test_id("trend-min").text_content() == "20 °C"
        assert (await trend.locator("h3").inner_text()).endswith("送风温度")
        supply = viewer.page.locator('[data-testid=info-points] tr[data-point="ac-1.supply_air_temp"]')
        assert await supply.get_attribute("aria-pressed") == "true"
        await viewer.screenshot("fzk_trend.png")

        setpoint = viewer.page.locator('[data-testid=info-points] tr[data-point="ac-1.setpoint"]')
        await setpoint.focus()
        await viewer.page.keyboard.press("Enter")
        await viewer.until(f"document.querySelector('{TREND}')?.dataset.status === 'none'")
        assert await viewer.page.locator(f"{TREND} .trend-note").inner_text() == "近一小时没有历史数据"
        assert await setpoint.get_attribute("aria-pressed") == "true"
        assert await supply.get_attribute("aria-pressed") == "false"
        assert viewer.errors == []


# (IFC class, predefined type) -> pictogram, IFC4 classes and IFC2X3's generic classes typed by their type object.
SYMBOL_CASES = [
    ("IfcSensor", "SMOKESENSOR", "smoke"), ("IfcSensor", "PeopleCounter", "people"), ("IfcSensor", None, "sensor"),
    ("IfcFlowMeter", "ENERGYMETER", "meter"), ("IfcAlarm", "EmergencyButton", "button"), ("IfcAlarm", None, "panel"),
    ("IfcUnitaryControlElement", "ALARMPANEL", "panel"), ("IfcDoor", None, "door"),
    ("IfcAudioVisualAppliance", "CAMERA", "camera"), ("IfcCommunicationsAppliance", "QueueSystem", "terminal"),
    ("IfcDistributionControlElement", "SMOKESENSOR", "smoke"), ("IfcFlowController", "ELECTRICMETER", "meter"),
    ("IfcEnergyConversionDevice", "SPLITSYSTEM", "ac"), ("IfcFlowStorageDevice", "UPS", "ups"),
    ("IfcFlowTerminal", "LIGHTFIXTURE", "device"), ("IfcWall", None, "device"),
]  # fmt: skip


async def test_device_pictograms_follow_the_ifc_class_and_type(
    fzk_site: Path, tmp_path: Path, model_cache: Path, browser: Any, screenshot_dir: Path
) -> None:
    runtime = make_runtime(fzk_site, tmp_path / "data", cache_dir=model_cache)
    async with running_app(runtime) as url:
        viewer = await Viewer.open(browser, url, screenshot_dir, runtime)
        got = await viewer.js(
            """async (cases) => {
              const { symbolOf } = await import('/src/symbols.js');
              return cases.map(([ifcClass, predefinedType]) => symbolOf({ ifcClass, predefinedType }));
            }""",
            [[ifc_class, predefined] for ifc_class, predefined, _ in SYMBOL_CASES],
        )
        assert got == [symbol for _, _, symbol in SYMBOL_CASES]


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
        viewer = await Viewer.open(browser, url, screenshot_dir, None)
        await viewer.until("document.getElementById('live-status').dataset.status === 'offline'")
        assert await viewer.page.get_by_test_id("live-status").inner_text() == "无实时数据"
        await viewer.select_storey(ERDGESCHOSS)
        await viewer.click_element(OFFICE_DOOR)
        await viewer.until("document.querySelector('[data-testid=info-name]')?.textContent === 'Innentuer-3'")
        assert await viewer.page.locator("[data-testid=info-points]").count() == 0
        assert await viewer.page.get_by_test_id("alarm-list").is_hidden()  # no live data, nothing to list
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
        viewer = await Viewer.open(browser, url, screenshot_dir, runtime)
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

        # A device with an alarm point that can be seen from here (the last storey): one behind a wall cannot.
        alarms = [p for p in points if p.kind.value == "binary" and _is_alarm_suffix(p.id) and p.ifc_guid]
        in_view = await viewer.js(
            "(gs) => gs.map((g) => window.hallTwin.screenPointOf(g) !== null)", [p.ifc_guid for p in alarms]
        )
        alarm = next(p for p, seen in zip(alarms, in_view, strict=True) if seen)
        runtime.bus.publish(update(alarm.id, True))
        state_of = "([guid, state]) => window.hallTwin.elementState(guid) === state"
        await viewer.until(state_of, [alarm.ifc_guid, "alarm"])
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


# --- the demo: scenario panel, alarm list, markers that do not show through floors ----------------------------

SCENARIO_LABELS_ZH = ["火灾", "漏水", "市电中断", "门被强行打开", "紧急按钮"]  # the order of /api/demo/scenarios
TOLERANCE = 10  # per channel, for colours read back from the frame
# Per marker: [guid, storey GlobalId, state, shown (storey on and nothing in front), page point or null].
MARKERS = """() => [...window.hallTwin.markers.sprites.keys()].map((g) => [
  g, window.hallTwin.model.info.get(g)?.storey ?? null, window.hallTwin.elementState(g),
  window.hallTwin.markerShown(g), window.hallTwin.markerScreenPoint(g)])"""
PRESSED = "[...document.querySelectorAll('[data-scenario]')].map((b) => b.getAttribute('aria-pressed'))"
FLIGHT_OVER = "!window.hallTwin.stage.flying"
ALL_KNOWN = "() => [...window.hallTwin.markers.sprites.values()].every((s) => s.userData.state !== 'unknown')"
# The engine lists more than the detectors during a fire (the fire zone, the confirmed fire, the linkage's checks):
# every burning detector is among the listed alarms.
ALARMS_INCLUDE = "(want) => { const listed = window.hallTwin.alarms(); return want.every((g) => listed.includes(g)); }"


def near(colour: str, wanted: str) -> bool:
    a, b = bytes.fromhex(colour.lstrip("#")), bytes.fromhex(wanted.lstrip("#"))
    return all(abs(x - y) <= TOLERANCE for x, y in zip(a, b, strict=True))


def far_from_all(point: dict[str, float], others: list[dict[str, float]], distance: float) -> bool:
    return all(abs(point["x"] - o["x"]) > distance or abs(point["y"] - o["y"]) > distance for o in others)


@pytest.mark.timeout(480)  # the whole demo under the suite's load: start-up, a fire and its end, each with a deadline
async def test_demo_scenario_panel_alarm_list_and_markers_behind_floors(
    tmp_path: Path, model_cache: Path, browser: Any, screenshot_dir: Path
) -> None:
    """The real demo (simulated devices polled by the gateway): a dot under the upper floor is not drawn; the
    scenario panel starts a fire; its smoke detectors turn red and are listed; a click on the list flies to
    one; Esc flies back; the panel clears the fire."""
    from tests.api.demo_fixtures import ALL_GOOD_DEADLINE_S, all_good, fire_expectations, running_demo

    async with running_demo(tmp_path, model_cache) as demo:
        viewer, _ = await asyncio.gather(
            Viewer.open(browser, demo.url, screenshot_dir, demo.runtime),
            demo.wait_points("every point GOOD", all_good, ALL_GOOD_DEADLINE_S),
        )
        await viewer.until("window.hallTwin.scenarioApi === true")
        assert await viewer.page.get_by_test_id("scenario-panel").is_visible()
        labels = await viewer.js("[...document.querySelectorAll('[data-scenario] .label')].map((e) => e.textContent)")
        assert labels == SCENARIO_LABELS_ZH
        assert await viewer.js(PRESSED) == ["false"] * len(labels)
        await viewer.until("window.hallTwin.markers.sprites.size > 50")
        await viewer.until(ALL_KNOWN)
        # A device slow to answer while the demo starts on a busy machine leaves a returned-to-normal alarm
        # (ISA-18.2: listed until acknowledged): the operator acknowledges it, and the list is empty.
        # One that returns to normal only after the first look is acknowledged at the next: look until none is open.
        # Under the suite's load some devices stay unreachable for a while (six of them for over 37 s in one run, their
        # communication-loss alarms active): the deadline is the time they need to come back, not a speed goal.
        deadline = asyncio.get_running_loop().time() + 120
        while open_alarms := (await demo.client.get("/api/alarms")).json():
            settled = [a["id"] for a in open_alarms if a["state"] == "rtn_unack"]
            if settled:
                # A flood of start-up alarms is acknowledged one transition and one audit entry at a time: under
                # the suite's load that took over the client's 10 s once.
                answer = await demo.client.post("/api/alarms/ack", json={"ids": settled, "comment": "start-up"},
                                                timeout=60.0)  # fmt: skip
                assert answer.status_code == 200, answer.text
            assert asyncio.get_running_loop().time() < deadline, f"alarms still open after start-up: {open_alarms}"
            await asyncio.sleep(0.5)
        # The page hears the acknowledgements over /ws; a renderer starved of CPU by the suite takes its time.
        await viewer.page.wait_for_function(
            "getComputedStyle(document.querySelector('#alarm-list .alarm-empty')).display !== 'none'"
            " && !document.querySelector('#alarm-list .alarm-empty').hidden",
            timeout=ALL_GOOD_DEADLINE_S * 1000,
        )
        await viewer.screenshot("demo_viewer_all_storeys.png")

        # All storeys: the ground floor's markers are under the upper floor, drawn faded (issue 8: every device keeps
        # a visible marker, faded when the building hides it); on their own storey (walls cut) they are in plain view.
        ground, upper = (s["guid"] for s in await viewer.js("window.hallTwin.storeys()"))
        on_ground = [m[0] for m in await viewer.js(MARKERS) if m[1] == ground]
        assert on_ground
        await viewer.until(
            "(gs) => gs.filter((g) => window.hallTwin.markers.sprites.get(g).userData.occluded).length"
            " >= 0.8 * gs.length",
            on_ground,
        )
        await viewer.select_storey(ground)
        await viewer.until(
            "(gs) => gs.filter((g) => window.hallTwin.markers.sprites.get(g).userData.occluded).length"
            " <= 0.2 * gs.length",
            on_ground,
        )
        await viewer.select_storey("all")

        # The fire, started from the panel.
        home = await viewer.js("window.hallTwin.cameraTarget()")
        # The panel follows the demo every few seconds and keeps its buttons: a click during a redraw lands (the
        # button used to be replaced at every poll, and a click in CI was swallowed).
        await viewer.js("window.fireButton = document.querySelector('[data-scenario=fire]')")
        await viewer.js("window.hallTwin.scenarios.refresh()")
        await viewer.page.click("[data-scenario=fire]")
        await viewer.until("document.querySelector('[data-scenario=fire]').getAttribute('aria-pressed') === 'true'")
        assert await viewer.js("window.fireButton === document.querySelector('[data-scenario=fire]')")
        zone = demo.hall.active["fire"].target
        points = {p.id: p for d in demo.site.devices for p in d.points}
        burning = sorted(
            str(points[pid].ifc_guid) for pid, on in fire_expectations(demo, zone).items() if on and ".smoke_" in pid
        )
        assert burning
        await viewer.until(ALARMS_INCLUDE, burning)
        assert await viewer.js("(gs) => gs.map((g) => window.hallTwin.markerColour(g))", burning) == [
            STATE_COLOURS["alarm"]
        ] * len(burning)
        assert int(await viewer.page.locator("#alarm-list .alarm-count").inner_text()) >= len(burning)
        # Under the upper floor an alarm's marker is faded less than the others, so that it is noticed from here.
        opacities = await viewer.js(
            "(gs) => gs.map((g) => { const s = window.hallTwin.markers.sprites.get(g);"
            " return [s.userData.occluded === true, s.material.opacity]; })",
            burning,
        )
        assert all(opacity >= 0.7 for _, opacity in opacities), opacities
        await viewer.screenshot("demo_viewer_fire_started.png")
        # The fire panel follows its worst point: its fire zone (bound to an IfcZone, no mesh) is in alarm.
        panel = next(d for d in demo.site.devices if d.kind.value == "fire_panel")
        await viewer.until(f"window.hallTwin.elementState('{panel.ifc_guid}') === 'alarm'")
        listed = {d["id"]: d for d in (await demo.client.get("/api/devices")).json()["devices"]}
        assert listed[panel.id]["state"] == "alarm", listed[panel.id]["state_reason"]
        assert listed[panel.id]["state_reason"].startswith("alarm #")

        # A click on the list shows the detector on its own storey and flies there.
        guid = burning[0]
        await viewer.page.locator(f'#alarm-list .alarm-items button[data-guid="{guid}"]').first.click()
        await viewer.until(FLIGHT_OVER)
        assert await viewer.js("document.getElementById('storey-select').value") == ground
        title = await viewer.page.get_by_test_id("info-name").inner_text()
        assert " / " not in title and title.startswith("感烟探测器"), title  # one language, not "中文 / English"
        target, centre = await viewer.js("(g) => [window.hallTwin.cameraTarget(), window.hallTwin.centreOf(g)]", guid)
        assert np.linalg.norm(np.subtract(target, centre)) < 0.3, (target, centre)
        assert await viewer.js("(g) => window.hallTwin.markerShown(g)", guid)
        assert await viewer.page.get_by_test_id("info-state").get_attribute("data-state") == "alarm"
        await viewer.screenshot("demo_viewer_alarm_focused.png")

        await viewer.page.keyboard.press("Escape")
        await viewer.until(FLIGHT_OVER)
        assert await viewer.page.get_by_test_id("info-panel").is_hidden()
        assert await viewer.js("document.getElementById('storey-select').value") == "all"
        assert np.allclose(await viewer.js("window.hallTwin.cameraTarget()"), home, atol=0.01)

        # A device with live values: an air conditioner of the upper storey, seen from the overview.
        units = {d.ifc_guid: d for d in demo.site.devices if d.kind.value == "ac_unit" and d.ifc_guid}
        storeys = await viewer.js("(gs) => gs.map((g) => window.hallTwin.model.info.get(g)?.storey)", list(units))
        ac = next(unit for unit, storey in zip(units.values(), storeys, strict=True) if storey == upper)
        await viewer.click_element(str(ac.ifc_guid))
        setpoint = viewer.page.locator(f'[data-testid=info-points] tr[data-point="{ac.id}.setpoint"]')
        await setpoint.wait_for(timeout=STEP_TIMEOUT_MS)
        cells = (await setpoint.inner_text()).split("\t")
        assert cells[1:] == ["温度设定", cells[2], "良好"] and cells[2].endswith(" °C"), cells
        float(cells[2].removesuffix(" °C"))
        comm = viewer.page.locator(f'[data-testid=info-points] tr[data-point="{ac.id}.comm_lost"]')
        assert (await comm.inner_text()).split("\t")[1:3] == ["通信中断", "否"]
        await viewer.until(FLIGHT_OVER)
        await viewer.screenshot("demo_viewer_device_panel.png")
        await viewer.page.keyboard.press("Escape")

        await viewer.page.click("[data-scenario=fire]")
        # ISA-18.2: a cleared fire is not forgotten by itself; the operator acknowledges, then resets the latches.
        async def settle() -> bool:
            alarms = (await demo.client.get("/api/alarms")).json()
            if any(a["active"] for a in alarms):
                return False
            unacked = [a["id"] for a in alarms if a["state"] in ("unack", "rtn_unack")]
            if unacked:
                await demo.client.post("/api/alarms/ack", json={"ids": unacked})
            for alarm in alarms:
                if alarm["latched"]:
                    await demo.client.post(f"/api/alarms/{alarm['id']}/reset", json={})
            return not (await demo.client.get("/api/alarms")).json()

        # Under the suite's load the fire's end takes its time: the linkage reverts the doors over Modbus (pollers
        # timing out meanwhile), then ends the evacuation broadcast, which clears its linkage-failure alarms.
        # Devices the gateway lost meanwhile (a loaded machine starves the in-process simulators) come back too.
        deadline = asyncio.get_running_loop().time() + 150
        while not await settle():
            assert asyncio.get_running_loop().time() < deadline, (await demo.client.get("/api/alarms")).json()
            await asyncio.sleep(0.5)
        await viewer.until("window.hallTwin.alarms().length === 0")
        assert await viewer.js(PRESSED) == ["false"] * len(labels)
        await viewer.until(FLIGHT_OVER)
        await viewer.screenshot("demo_viewer_fire_cleared.png")
        await viewer.until(f"window.hallTwin.elementState('{panel.ifc_guid}') === 'normal'")
        assert viewer.errors == []
