"""The demo hall in headless Chromium with live simulated data: device markers turn green as the gateway polls
every simulated device, and a fire started through the scenario API turns the zone's smoke detectors red."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from bim_models.devices import DEVICE_ELEMENTS
from tests.api.demo_fixtures import ALL_GOOD_DEADLINE_S, DemoHall, all_good, fire_expectations, running_demo
from tests.api.test_viewer_browser import STEP_TIMEOUT_MS, Viewer

pytestmark = pytest.mark.browser

FIRE_ZONE = "1f-wait"
GREEN, RED = "2e9e4f", "e02424"  # web_viewer/src/palette.js STATE_COLOURS normal, alarm
MOST = 0.9  # share of monitored device markers that must show GOOD once the hall is up

# Marker sprites per state, as drawn: {state: [count, [colours]]}.
MARKER_SUMMARY = """() => {
  const summary = {};
  for (const sprite of window.hallTwin.picker.markers.sprites.values()) {
    const state = sprite.userData.state;
    summary[state] ??= [0, []];
    summary[state][0] += 1;
    const colour = sprite.material.color.getHexString();
    if (!summary[state][1].includes(colour)) summary[state][1].push(colour);
  }
  return summary;
}"""
# Devices listed in site.yaml without points or polling (cameras, speakers) have a grey "not monitored" marker.
MOSTLY_NORMAL = """(most) => {
  const sprites = [...window.hallTwin.picker.markers.sprites.values()]
    .filter((s) => s.userData.state !== 'unmonitored');
  const normal = sprites.filter((s) => s.userData.state === 'normal').length;
  return sprites.length > 0 && normal >= most * sprites.length;
}"""
VISIBLE_STATES = """() => [...window.hallTwin.picker.markers.sprites.values()]
  .filter((sprite) => sprite.visible && sprite.userData.state !== 'unmonitored')
  .map((sprite) => sprite.userData.state)"""
ALARM_MARKERS = """() => [...window.hallTwin.markers.sprites.values()]
  .filter((s) => s.userData.state === 'alarm').map((s) => s.userData.guid)"""
STATES_ARE = """([guids, state]) => guids.every((g) => window.hallTwin.elementState(g) === state)"""
SYMBOLS_BY_GUID = """() => Object.fromEntries([...window.hallTwin.markers.sprites.values()]
  .map((sprite) => [sprite.userData.guid, sprite.userData.symbol]))"""
# site.yaml device kinds -> pictograms (web_viewer/src/devices.js): the integrator's kind wins over the IFC class.
SYMBOL_OF_KIND = {
    "power_meter": "meter", "ups": "ups", "ac_unit": "ac", "temp_humidity": "climate", "water_leak": "leak",
    "smoke_detector": "smoke", "fire_panel": "panel", "emergency_button": "button", "access_door": "door",
    "people_counter": "people", "camera": "camera", "ip_speaker": "speaker", "queue_display": "display",
    "queue_system": "terminal", "kiosk": "terminal",
}  # fmt: skip
LEGEND_SYMBOLS = """() => [...document.querySelectorAll('[data-testid=legend-symbols] li')]
  .map((li) => [li.dataset.symbol, li.textContent])"""
LEGEND_FOLLOWS_MARKERS = """() => {
  const shown = [...window.hallTwin.markers.symbols(true)].sort().join();
  const listed = [...document.querySelectorAll('[data-testid=legend-symbols] li')].map((li) => li.dataset.symbol);
  return listed.sort().join() === shown;
}"""
# The pictogram of every category of demo device element (bim_models/devices.py; web_viewer/src/symbols.js).
SYMBOL_OF_CATEGORY = {
    "power_meter": "meter", "ups": "ups", "ac_unit": "ac", "precision_ac": "ac", "temp_humidity": "climate",
    "temperature_sensor": "climate", "water_leak": "leak", "smoke_detector": "smoke", "fire_panel": "panel",
    "emergency_button": "button", "access_controller": "controller", "environment_controller": "controller",
    "people_counter": "people", "camera": "camera", "ip_speaker": "speaker", "queue_display": "display",
    "queue_system": "terminal", "kiosk": "terminal",
}  # fmt: skip


def guid_of(demo: DemoHall, point_id: str) -> str:
    point = next(p for d in demo.site.devices for p in d.points if p.id == point_id)
    assert point.ifc_guid is not None
    return point.ifc_guid


async def storey_guid(viewer: Viewer, name: str) -> str:
    storeys: list[dict[str, str]] = await viewer.js("window.hallTwin.storeys()")
    matches = [s["guid"] for s in storeys if name in s["name"]]
    assert len(matches) == 1, f"no single storey named like {name!r}: {storeys}"
    return matches[0]


async def test_live_demo_hall_turns_green_then_the_fire_zone_red(
    tmp_path: Path, model_cache: Path, browser: Any, screenshot_dir: Path
) -> None:
    async with running_demo(tmp_path, model_cache) as demo:
        # The viewer loads (and the server converts the model) while the gateway's first polls come in.
        viewer, _ = await asyncio.gather(
            Viewer.open(browser, demo.url, screenshot_dir, demo.runtime),
            demo.wait_points("every point GOOD", all_good, ALL_GOOD_DEADLINE_S),
        )
        await viewer.page.wait_for_function(MOSTLY_NORMAL, arg=MOST, timeout=STEP_TIMEOUT_MS)
        summary = await viewer.js(MARKER_SUMMARY)
        assert summary["normal"][1] == [GREEN], summary
        assert "alarm" not in summary, summary
        await check_symbols(viewer, demo)
        ground = await storey_guid(viewer, "1F")
        await viewer.select_storey(ground)
        await viewer.screenshot("demo_live_1f_normal.png")

        fire = fire_expectations(demo, FIRE_ZONE)
        burning = [guid_of(demo, pid) for pid, on in fire.items() if on and ".smoke_" in pid]
        quiet = [guid_of(demo, pid) for pid, on in fire.items() if not on and ".smoke_" in pid]
        assert burning and quiet
        response = await demo.client.post("/api/demo/scenarios/fire/start", params={"target": FIRE_ZONE})
        assert response.status_code == 200, response.text
        await viewer.until(STATES_ARE, [burning, "alarm"])
        colours = await viewer.js("(guids) => guids.map((g) => window.hallTwin.deviceColour(g))", burning)
        assert colours == [f"#{RED}"] * len(burning)
        assert await viewer.js(STATES_ARE, [quiet, "normal"]), "a smoke detector outside the fire zone is not normal"
        summary = await viewer.js(MARKER_SUMMARY)
        assert summary["alarm"][1] == [RED], summary
        # The burning detectors, and the fire panel that reports their zone (its marker: all of its points).
        alarmed = set(await viewer.js(ALARM_MARKERS))
        panels = {d.ifc_guid for d in demo.site.devices if d.kind.value == "fire_panel"}
        assert set(burning) <= alarmed and alarmed - set(burning) <= panels, (alarmed, burning)

        detector = next(pid for pid, on in fire.items() if on and ".smoke_" in pid)
        await viewer.click_element(guid_of(demo, detector))
        row = viewer.page.locator(f'[data-testid=info-points] tr[data-point="{detector}"]')
        await row.wait_for(timeout=STEP_TIMEOUT_MS)
        assert await row.get_attribute("data-state") == "alarm"
        assert await viewer.page.get_by_test_id("info-state").get_attribute("data-state") == "alarm"
        await viewer.screenshot("demo_live_1f_fire_panel.png")

        # Esc flies back to the whole hall (a storey switch alone keeps the close-up of the 1F detector).
        await viewer.page.keyboard.press("Escape")
        await viewer.select_storey(await storey_guid(viewer, "2F"))
        upstairs = await viewer.js(VISIBLE_STATES)
        assert upstairs and set(upstairs) == {"normal"}, upstairs  # the fire is downstairs
        await viewer.screenshot("demo_live_2f.png")
        assert viewer.errors == []


async def check_symbols(viewer: Viewer, demo: DemoHall) -> None:
    """Each device's marker carries the pictogram of its site.yaml kind (the IFC class and type for an element
    that only a point names); the legend names exactly the kinds on screen, in the page's language."""
    symbols: dict[str, str] = await viewer.js(SYMBOLS_BY_GUID)
    expected: dict[str, str] = {}
    for device in demo.site.devices:  # the first device bound to an element gives its marker
        expected.setdefault(device.ifc_guid, SYMBOL_OF_KIND[device.kind.value])
    for element in DEVICE_ELEMENTS:
        if element.guid in symbols:
            expected.setdefault(element.guid, SYMBOL_OF_CATEGORY[element.category])
    expected |= {g: "door" for g, symbol in symbols.items() if symbol == "door" and g not in expected}
    assert set(expected) >= set(symbols), set(symbols) - set(expected)  # every marker is a device or a door
    assert {"meter", "ups", "ac", "climate", "leak", "smoke", "button", "door", "people"} <= set(symbols.values())
    wrong = {g: (symbols[g], expected[g]) for g in symbols if symbols[g] != expected[g]}
    assert not wrong, wrong
    await viewer.js("window.hallTwin.showStorey('all')")
    # The legend follows the markers shown on the next frame: wait for it (a loaded machine draws late), then compare.
    with contextlib.suppress(PlaywrightTimeout):
        await viewer.until(LEGEND_FOLLOWS_MARKERS)
    shown = set(await viewer.js("[...window.hallTwin.markers.symbols(true)]"))
    legend = dict(await viewer.js(LEGEND_SYMBOLS))
    assert set(legend) == shown, (legend, shown)
    assert legend["smoke"] == "感烟探测器" and legend["meter"] == "电能表", legend
