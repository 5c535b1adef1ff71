"""The twin on real buildings (issue 8): on the demo hall, Duplex_A and FZK-Haus, every storey plan lets a click
select at least 90 % of its rooms, and every device of site.yaml has a visible marker that opens its panel under
its site.yaml name; room labels keep clear of markers. On the demo hall's page: the chooser among overlapping
markers, rooms tinted by a metric with its legend, search with fly-to, values formatted for people.

One browser for the module, one page per model (the demo hall's page is shared by its tests); the click grid is
sampled in the page; screenshots are taken only when $HALLTWIN_SCREENSHOTS asks for them."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
import yaml
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.api.auth_helpers import browser_cookies
from tests.api.server import (
    CHROMIUM_ARGS,
    FZK_IFC,
    FZK_OFFICE_SPACE,
    chromium_executable,
    keep_screenshot,
    make_runtime,
    running_app,
)
from tests.peers import REPO_ROOT, SHARED
from twin.points import PointUpdate, Quality

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

READY_TIMEOUT_MS = 120_000
VIEWPORT = {"width": 1280, "height": 800}
GRID_STEP_PX = 14
ROOM_SHARE = 0.9
DUPLEX_IFC = SHARED / "ifc" / "Duplex_A_20110907.ifc"
CLICKED_DEVICES = 2  # real mouse clicks per model; every device is checked in the page
STEP_TIMEOUT_MS = 15_000
LAYOUT = """() => {
  const bar = document.querySelector('header.topbar');
  const legend = document.getElementById('legend').getBoundingClientRect();
  return { barOverflow: bar.scrollWidth - bar.clientWidth, legendBottom: legend.bottom };
}"""
BAR_FITS = "() => { const bar = document.querySelector('header.topbar'); return bar.scrollWidth <= bar.clientWidth; }"
# On a plan: the room labels shown that cover a device marker (none should), and the label texts.
LABELS = """() => {
  const markers = window.hallTwin.picker.markerRects();
  const covered = [];
  const texts = [];
  for (const label of document.querySelectorAll('.room-label')) {
    if (label.hidden) continue;
    const r = label.getBoundingClientRect();
    texts.push(label.querySelector('b').textContent);
    if (markers.some((m) => r.left < m.x + m.width && m.x < r.right && r.top < m.y + m.height && m.y < r.bottom)) {
      covered.push(label.dataset.guid);
    }
  }
  return { covered, texts };
}"""
# In the page, per device: [guid, storey, marker shown, what a click on the marker picks, panel title].
DEVICE_CHECK = """(guids) => guids.map((guid) => {
  const t = window.hallTwin;
  const storey = t.model.info.get(guid)?.storey ?? null;
  if (!storey) return [guid, null, false, null, null];
  if (t.model.storeyFilter !== storey) t.showStorey(storey, true);
  const shown = t.markerShown(guid);
  const point = t.markerScreenPoint(guid);
  const picked = point ? t.pickAt(point.x, point.y) : null;
  return [guid, storey, shown, picked, t.openPanel(guid)];
})"""

# Duplex_A: the living room A102, a door and a wall of Level 1, a door opening of Level 2.
DUPLEX_DEVICES = {
    "living_climate": ("0BTBFw6f90Nfh9rP1dlXr2", "temp_humidity", "客厅温湿度", "Living room climate"),
    "entry_counter": ("1hOSvn6df7F8_7GcBWlRGQ", "people_counter", "入口客流计数", "Entrance people counter"),
    "hall_passage": ("1xS3BCk291UvhgP2dvNd$j", "people_counter", "二层通道计数", "Upper passage counter"),
    "wall_button": ("2O2Fr$t4X7Zf8NOew3FNtn", "emergency_button", "外墙紧急按钮", "Wall emergency button"),
}
# FZK-Haus: the office '2', its door, an inner wall and the opening of door Innentuer-1.
FZK_DEVICES = {
    "office_climate": (FZK_OFFICE_SPACE, "temp_humidity", "办公室温湿度", "Office climate"),
    "office_door": ("2qiPPF3FrF8OIqfrKiSUqm", "people_counter", "办公室门客流", "Office door counter"),
    "inner_passage": ("0LM8GvGe$G3dlW4mZ4aA9R", "people_counter", "内门洞口计数", "Inner opening counter"),
    "wall_ac": ("2XPyKWY018sA1ygZKgQPtU", "ac_unit", "墙挂空调", "Wall AC unit"),
}
DUPLEX_ZONE_SPACE = "0BTBFw6f90Nfh9rP1dlXrr"  # A101 Foyer


def write_site(folder: Path, ifc: Path, zone_space: str, devices: dict[str, tuple[str, str, str, str]]) -> Path:
    site = {
        "site": {"id": "twin-test", "name": {"zh": f"{ifc.stem} 测试", "en": f"{ifc.stem} test"}, "ifc": str(ifc)},
        "zones": [
            {"id": "lobby", "name": {"zh": "门厅", "en": "Lobby"}, "zone_type": "guidance", "ifc_guid": zone_space},
        ],
        "devices": [
            {"id": dev_id, "name": {"zh": zh, "en": en}, "kind": kind, "zone": "lobby", "ifc_guid": guid}
            for dev_id, (guid, kind, zh, en) in devices.items()
        ],
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium() -> AsyncIterator[Any]:
    executable = chromium_executable()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield launched
        finally:
            await launched.close()


@contextlib.asynccontextmanager
async def viewer_page(chromium: Any, runtime: Any) -> AsyncIterator[tuple[Any, list[str]]]:
    """The twin of ``runtime`` in a logged-in page, ready; yields (page, the page's uncaught errors)."""
    async with running_app(runtime) as url:
        # Reduced motion: a chosen element is shown at once instead of after a 0.9 s flight of software-rendered
        # frames (the flight itself is tested in test_viewer_browser.py).
        context = await chromium.new_context(viewport=VIEWPORT, reduced_motion="reduce")
        try:
            await context.add_cookies(await browser_cookies(runtime, url))
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(url + "/")
            await page.wait_for_function(
                "window.hallTwin && window.hallTwin.state !== 'loading'", timeout=READY_TIMEOUT_MS
            )
            assert await page.evaluate("[window.hallTwin.state, window.hallTwin.error]") == ["ready", None]
            yield page, errors
        finally:
            await context.close()


# The storey chooser's options and the room labels' texts of the shown plan, as the page shows them.
SHOWN_NAMES = """() => ({
  options: [...document.querySelectorAll('#storey-select option')].map((o) => o.textContent),
  labels: [...document.querySelectorAll('.room-label')].map((l) => [l.querySelector('b').textContent,
    l.querySelector('span')?.textContent ?? null]),
})"""


async def check_building(page: Any, runtime: Any, tmp: Path, label: str) -> dict[str, Any]:
    """Check every storey plan and every device marker of the twin on ``page``; return the figures."""
    site_devices = {device.ifc_guid: device for device in runtime.site.devices}
    figures: dict[str, Any] = {"storeys": {}}
    # The integrator's site name leads the title bar; a real site never asks for the demo's scenarios.
    assert await page.get_by_test_id("hall-name").inner_text() == runtime.site.site.name.zh
    assert await page.evaluate("window.hallTwin.scenarioApi") is False
    await shoot(page, tmp, f"{label}_overview.png")

    storeys = await page.evaluate("window.hallTwin.viewStoreys()")
    assert storeys, "no storey is offered as a view"
    for storey in storeys:
        await page.evaluate("([g]) => window.hallTwin.showStorey(g, true)", [storey["guid"]])
        rooms = set(await page.evaluate("(g) => window.hallTwin.roomsOf(g)", storey["guid"]))
        picked = set(await page.evaluate("(s) => Object.keys(window.hallTwin.sampleGrid(s))", GRID_STEP_PX))
        share = len(rooms & picked) / len(rooms) if rooms else 1.0
        figures["storeys"][storey["name"]] = (len(rooms & picked), len(rooms))
        # Room labels read in the page's language and never sit on a device marker.
        labels = await page.evaluate(LABELS)
        assert labels["covered"] == [], (label, storey["name"], labels["covered"])
        assert not any(" / " in text for text in labels["texts"]), labels["texts"]
        figures.setdefault("labels", []).extend((await page.evaluate(SHOWN_NAMES))["labels"])
        await shoot(page, tmp, f"{label}_plan_{storey['name']}.png")
        assert share >= ROOM_SHARE, (label, storey["name"], sorted(rooms - picked))
        # The 3D storey view (walls cut at the section height) selects the rooms as well.
        await page.evaluate("([g]) => window.hallTwin.showStorey(g, false)", [storey["guid"]])
        await shoot(page, tmp, f"{label}_storey_{storey['name']}.png")

    # Every device: on its storey's plan, its marker is shown, a click on it picks it, its panel has its name.
    checked = await page.evaluate(DEVICE_CHECK, list(site_devices))
    for guid, storey, shown, picked, title in checked:
        device = site_devices[guid]
        assert storey is not None, f"{device.id}: its element {guid} is on no storey of the model"
        assert shown, f"{device.id}: no marker on its storey"
        assert picked == guid, f"{device.id}: a click on its marker picks {picked}"
        assert title == device.name.zh, (device.id, title)
    # And a few with real mouse clicks, as a user would (the rest is the same code path, checked in the page).
    for guid in list(site_devices)[:CLICKED_DEVICES]:
        device = site_devices[guid]
        storey = next(entry[1] for entry in checked if entry[0] == guid)
        await page.keyboard.press("Escape")
        await page.evaluate("([g]) => window.hallTwin.showStorey(g, true)", [storey])
        await page.wait_for_function("!window.hallTwin.stage.flying")
        point = await page.evaluate("(g) => window.hallTwin.markerScreenPoint(g)", guid)
        await page.mouse.click(point["x"], point["y"])
        await page.wait_for_function(
            "(name) => document.querySelector('[data-testid=info-name]')?.textContent === name",
            arg=device.name.zh,
            timeout=10_000,
        )
    await shoot(page, tmp, f"{label}_device_panel.png")
    await page.keyboard.press("Escape")
    figures["options"] = (await page.evaluate(SHOWN_NAMES))["options"]
    figures["layout"] = {}
    for width, height in ((1024, 640), (1920, 1080)):
        await page.set_viewport_size({"width": width, "height": height})
        await page.evaluate("window.hallTwin.showStorey(window.hallTwin.viewStoreys()[0].guid, true)")
        # The bar refits on the next animation frame after a resize (bar_fit.js): a loaded machine draws it late.
        with contextlib.suppress(PlaywrightTimeout):
            await page.wait_for_function(BAR_FITS, timeout=STEP_TIMEOUT_MS)
        layout = await page.evaluate(LAYOUT)
        figures["layout"][width] = layout
        await shoot(page, tmp, f"{label}_plan_{width}x{height}.png")
        # Nothing of the bar runs off the screen; the legend ends inside the window.
        assert layout["barOverflow"] <= 0 and layout["legendBottom"] <= height, (width, layout)
    await page.set_viewport_size(VIEWPORT)
    await page.keyboard.press("Escape")
    await page.evaluate("window.hallTwin.showStorey('all', false)")
    return figures


async def shoot(page: Any, folder: Path, name: str) -> None:
    """A screenshot for humans, only when $HALLTWIN_SCREENSHOTS asks for them (a screenshot of a software-WebGL
    page costs a frame and a PNG encode: about a second each on a loaded machine)."""
    if not os.environ.get("HALLTWIN_SCREENSHOTS"):
        return
    await page.evaluate("window.hallTwin.stage.renderNow()")
    path = folder / name
    await page.screenshot(path=str(path))
    keep_screenshot(path)


async def test_duplex_storey_plans_and_markers(chromium: Any, tmp_path: Path, model_cache: Path) -> None:
    if not DUPLEX_IFC.is_file():
        pytest.skip(f"{DUPLEX_IFC} is not present (../shared)")
    site = write_site(tmp_path, DUPLEX_IFC, DUPLEX_ZONE_SPACE, DUPLEX_DEVICES)
    runtime = make_runtime(site, tmp_path / "data", cache_dir=model_cache)
    async with viewer_page(chromium, runtime) as (page, errors):
        figures = await check_building(page, runtime, tmp_path, "duplex")
        # English IFC names in Chinese, the IFC name kept as the second line: storeys, labels, panel, search.
        assert figures["options"] == ["全部楼层", "2层 · Level 2", "1层 · Level 1"], figures["options"]
        assert ["客厅", "A102 · Living Room"] in figures["labels"], figures["labels"]
        assert ["卫生间 1", "A104 · Bathroom 1"] in figures["labels"], figures["labels"]
        kitchen = await page.evaluate(  # A103, a room no device is bound to: its panel is the room's
            "[...window.hallTwin.model.info.values()].find((i) => i.isSpace && i.name === 'A103').guid"
        )
        assert await page.evaluate("(g) => window.hallTwin.openPanel(g)", kitchen) == "厨房 (A103)"
        fields = await page.eval_on_selector_all(
            "[data-testid=info-panel] dd", "dds => Object.fromEntries(dds.map((d) => [d.dataset.field, d.textContent]))"
        )
        assert fields["panel.ifc_name"] == "Kitchen" and fields["panel.storey"] == "1层Level 1", fields
        await page.keyboard.press("Escape")
        await page.get_by_test_id("search-input").fill("卧室")
        await page.wait_for_function("document.querySelectorAll('[data-testid=search-results] button').length >= 4")
        results = await page.eval_on_selector_all(
            "[data-testid=search-results] button", "bs => bs.map((b) => b.textContent)"
        )
        assert "卧室 1 (A202)房间 · 2层 · Bedroom 1" in results, results
        await page.get_by_test_id("search-input").fill("")
        # In English, the names are the model's own.
        await page.get_by_test_id("lang-toggle").click()
        await page.wait_for_function("window.hallTwin.i18n.lang === 'en'")
        options = await page.eval_on_selector_all("#storey-select option", "os => os.map((o) => o.textContent)")
        assert options == ["All storeys", "Level 2", "Level 1"], options
        assert await page.evaluate("(g) => window.hallTwin.openPanel(g)", kitchen) == "Kitchen (A103)"
        await page.get_by_test_id("lang-toggle").click()
        await page.wait_for_function("window.hallTwin.i18n.lang === 'zh'")
        assert errors == []
    # The foundation level has no rooms and no devices: it is not offered.
    assert "T/FDN" not in figures["storeys"], figures


async def test_fzk_storey_plans_and_markers(chromium: Any, tmp_path: Path, model_cache: Path) -> None:
    if not FZK_IFC.is_file():
        pytest.skip(f"{FZK_IFC} is not present (../shared)")
    site = write_site(tmp_path, FZK_IFC, FZK_OFFICE_SPACE, FZK_DEVICES)
    runtime = make_runtime(site, tmp_path / "data", cache_dir=model_cache)
    async with viewer_page(chromium, runtime) as (page, errors):
        figures = await check_building(page, runtime, tmp_path, "fzk")
        assert errors == []
    # German names: the storeys are trivial ("Erdgeschoss" is the ground floor), the rooms are left as they are.
    assert figures["options"] == ["全部楼层", "阁楼层 · Dachgeschoss", "首层 · Erdgeschoss"], figures["options"]
    assert ["Buero", "2"] in figures["labels"], figures["labels"]


@dataclass
class DemoPage:
    """The demo hall's twin in one page, shared by the tests of this module that need it."""

    runtime: Any
    page: Any
    errors: list[str]
    folder: Path

    async def js(self, expression: str, arg: Any = None) -> Any:
        return await self.page.evaluate(expression, arg)

    async def until(self, expression: str, arg: Any = None) -> None:
        await self.page.wait_for_function(expression, arg=arg, timeout=STEP_TIMEOUT_MS)

    async def reset(self) -> None:
        """Back to the first view: no panel, no chooser, all storeys, zone colours, Chinese, no search text."""
        await self.page.keyboard.press("Escape")
        await self.js("window.hallTwin.chooser.hide()")
        await self.page.get_by_test_id("search-input").fill("")
        await self.page.select_option("#tint-select", "zone")
        if await self.js("window.hallTwin.i18n.lang") != "zh":
            await self.page.get_by_test_id("lang-toggle").click()
            await self.until("window.hallTwin.i18n.lang === 'zh'")
        await self.js("window.hallTwin.showStorey('all', false)")
        await self.until("!window.hallTwin.stage.flying")

    def publish(self, point_id: str, value: float) -> None:
        now = time.time()
        self.runtime.bus.publish(PointUpdate(point_id, value, Quality.GOOD, now, now))

    def device(self, device_id: str) -> Any:
        return next(device for device in self.runtime.site.devices if device.id == device_id)

    def zone_space(self, zone_id: str) -> str:
        return str(next(zone.ifc_guid for zone in self.runtime.site.zones if zone.id == zone_id))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(chromium: Any, tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> AsyncIterator[DemoPage]:
    if importlib.util.find_spec("bim_models.demo_hall") is None:
        pytest.skip("bim_models/demo_hall.py is not written yet")
    from bim_models.demo_hall import ensure_demo_hall

    await asyncio.to_thread(ensure_demo_hall)
    folder = tmp_path_factory.mktemp("demo-twin")
    runtime = make_runtime(REPO_ROOT / "bim_models" / "site.yaml", folder / "data", cache_dir=model_cache)
    async with viewer_page(chromium, runtime) as (page, errors):
        yield DemoPage(runtime, page, errors, folder)


async def test_demo_hall_storey_plans_and_markers(demo: DemoPage) -> None:
    await check_building(demo.page, demo.runtime, demo.folder, "demo_hall")
    assert demo.errors == []


# --- the chooser among overlapping markers (the demo's power room) ------------------------------------------

POWER_ROOM = ["pm-1", "pm-2", "pm-3", "pm-4", "pm-5", "ups-2", "env-ctl", "th-7", "cam-8"]
# The two markers nearest to each other on screen among ``guids``, their distance and marker size in pixels.
NEAREST_PAIR = """(guids) => {
  const t = window.hallTwin;
  t.stage.renderNow();
  const points = guids.map((g) => [g, t.markerScreenPoint(g)]).filter(([, p]) => p);
  let best = null;
  for (let i = 0; i < points.length; i += 1) {
    for (let j = i + 1; j < points.length; j += 1) {
      const [a, pa] = points[i]; const [b, pb] = points[j];
      const distance = Math.hypot(pa.x - pb.x, pa.y - pb.y);
      if (!best || distance < best.distance) best = { a, b, pa, pb, distance };
    }
  }
  best.px = t.markers.markerPixels(t.stage.camera, t.stage.size().height);
  return best;
}"""
ZOOM_BY = """(factor) => {
  const t = window.hallTwin;
  t.stage.camera.zoom *= factor;
  t.stage.camera.updateProjectionMatrix();
  t.markers.dirty = true;
  t.stage.renderNow();
}"""
CHOOSER_ROWS = """() => [...document.querySelectorAll('[data-testid=marker-chooser] button')].map((b) => [
  b.dataset.guid, b.querySelector('.name').textContent, b.dataset.state, b.querySelector('.state').textContent])"""
PANEL_NAME = "(name) => document.querySelector('[data-testid=info-name]')?.textContent === name"


async def test_overlapping_markers_offer_a_chooser(demo: DemoPage) -> None:
    """A click where markers meet lists those devices (name, pictogram, state) to pick from; a click on one
    marker opens it directly; Esc closes the list without opening anything."""
    await demo.reset()
    names = {demo.device(d).ifc_guid: demo.device(d).name for d in POWER_ROOM}
    guids = list(names)
    storey = await demo.js("(g) => window.hallTwin.model.info.get(g).storey", guids[0])
    await demo.js("([g]) => window.hallTwin.showStorey(g, true)", [storey])

    # Spread markers: neighbours touch; a click on the seam between two means either of them.
    pair = await demo.js(NEAREST_PAIR, guids)
    assert pair["distance"] < 1.5 * pair["px"], pair  # the power room's markers were spread, side by side
    seam = {"x": (pair["pa"]["x"] + pair["pb"]["x"]) / 2, "y": (pair["pa"]["y"] + pair["pb"]["y"]) / 2}
    await demo.page.mouse.click(seam["x"], seam["y"])
    chooser = demo.page.get_by_test_id("marker-chooser")
    await chooser.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    rows = await demo.js(CHOOSER_ROWS)
    assert {pair["a"], pair["b"]} <= {row[0] for row in rows}, rows
    for guid, name, state, state_text in rows:
        assert name == names[guid].zh if guid in names else name, (guid, name)
        assert state == await demo.js("(g) => window.hallTwin.markers.sprites.get(g).userData.state", guid)
        assert state_text == await demo.js("(s) => window.hallTwin.i18n.t(`state.${s}`)", state)
    assert await chooser.locator("canvas.symbol").count() == len(rows)  # each row has its pictogram
    assert await demo.js("window.hallTwin.selected()") is None  # nothing opened yet
    await shoot(demo.page, demo.folder, "demo_hall_marker_chooser.png")
    await chooser.locator(f'button[data-guid="{pair["b"]}"]').click()
    await demo.until(PANEL_NAME, names[pair["b"]].zh)
    assert await chooser.is_hidden()
    assert await demo.js("window.hallTwin.selected()") == pair["b"]

    # A click on the middle of one marker is not ambiguous: it opens that device.
    await demo.page.keyboard.press("Escape")
    await demo.until("!window.hallTwin.stage.flying")
    point = await demo.js("(g) => window.hallTwin.markerScreenPoint(g)", pair["a"])
    assert await demo.js("([x, y]) => window.hallTwin.markersNear(x, y)", [point["x"], point["y"]]) == [pair["a"]]
    await demo.page.mouse.click(point["x"], point["y"])
    await demo.until(PANEL_NAME, names[pair["a"]].zh)
    assert await chooser.is_hidden()

    # Markers drawn over one another (spreading off, the plan zoomed out until two of them are 4 px apart): a
    # click on the pile offers all of them; Esc closes the list.
    await demo.page.keyboard.press("Escape")
    await demo.until("!window.hallTwin.stage.flying")
    await demo.js("window.hallTwin.markers.spread = false; window.hallTwin.markers.dirty = true")
    apart = (await demo.js(NEAREST_PAIR, guids))["distance"]
    await demo.js(ZOOM_BY, 4 / apart)
    pile = await demo.js(NEAREST_PAIR, guids)
    assert pile["distance"] < pile["px"] / 2, pile
    near = await demo.js("([x, y]) => window.hallTwin.markersNear(x, y)", [pile["pa"]["x"], pile["pa"]["y"]])
    assert len(near) >= 2 and near[0] == pile["a"], (pile, near)
    await demo.page.mouse.click(pile["pa"]["x"], pile["pa"]["y"])
    await chooser.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    assert [row[0] for row in await demo.js(CHOOSER_ROWS)] == near
    await demo.page.keyboard.press("ArrowDown")
    assert await demo.js("document.activeElement.dataset.guid") == near[1]  # the keyboard walks the list
    await demo.page.keyboard.press("Escape")
    assert await chooser.is_hidden()
    assert await demo.js("window.hallTwin.selected()") is None
    await demo.js("window.hallTwin.markers.spread = true; window.hallTwin.markers.dirty = true")
    assert demo.errors == []


# --- rooms tinted by a metric --------------------------------------------------------------------------------

TEMPERATURE_SCALE = ((16.0, 0x2C7BB6), (30.0, 0xD7191C))  # tint.js: the fixed range and its end colours


def srgb_to_linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def linear_to_srgb(channel: float) -> float:
    return channel * 12.92 if channel <= 0.0031308 else 1.055 * channel ** (1 / 2.4) - 0.055


def scale_colour(value: float) -> tuple[int, int, int]:
    """The temperature scale's colour of ``value``: its ends blended in linear light (three.js' working space)."""
    (low, low_colour), (high, high_colour) = TEMPERATURE_SCALE
    t = min(1.0, max(0.0, (value - low) / (high - low)))
    ends = [[srgb_to_linear(((c >> shift) & 0xFF) / 255) for shift in (16, 8, 0)] for c in (low_colour, high_colour)]
    return tuple(round(linear_to_srgb(a + (b - a) * t) * 255) for a, b in zip(*ends, strict=True))  # type: ignore[return-value]


LEGEND_NOTE = "(text) => document.querySelector('[data-testid=tint-scale] .note')?.textContent === text"
ROOM_COLOUR = """(g) => {
  let colour = null;
  window.hallTwin.model.nodes.get(g).traverse((o) => { if (o.isMesh && !colour) colour = o.material.color.getHex(); });
  return [(colour >> 16) & 255, (colour >> 8) & 255, colour & 255];
}"""


async def test_rooms_tinted_by_temperature_with_its_scale(demo: DemoPage) -> None:
    """A published temperature paints its room in the scale's colour for that value; the legend shows the range
    and how many rooms have a value; a metric nobody measures leaves every room "no value"."""
    await demo.reset()
    power_room, waiting = demo.zone_space("1f-power"), demo.zone_space(demo.device("th-4").zone)
    demo.publish("th-7.temperature", 30.0)
    demo.publish("th-4.temperature", 23.0)
    await demo.page.select_option("#tint-select", "temperature")
    await demo.until("window.hallTwin.tints.values.size === 2")
    assert await demo.js("Object.fromEntries(window.hallTwin.tints.values)") == {power_room: 30.0, waiting: 23.0}
    for space, value in ((power_room, 30.0), (waiting, 23.0)):
        colour = await demo.js(ROOM_COLOUR, space)
        expected = scale_colour(value)
        assert all(abs(a - b) <= 1 for a, b in zip(colour, expected, strict=True)), (space, colour, expected)
    scale = demo.page.get_by_test_id("tint-scale")
    await demo.until(LEGEND_NOTE, "2 个房间有数值")  # the legend follows within a frame
    assert await scale.locator(".ends span").all_inner_texts() == ["16 °C", "30 °C"]
    assert "温度" in await demo.page.locator("#legend h3").first.inner_text()
    # A new value moves the room along the scale.
    demo.publish("th-4.temperature", 16.0)
    await demo.until("(g) => window.hallTwin.tints.values.get(g) === 16", waiting)
    colour = await demo.js(ROOM_COLOUR, waiting)
    assert all(abs(a - b) <= 1 for a, b in zip(colour, scale_colour(16.0), strict=True)), colour
    await shoot(demo.page, demo.folder, "demo_hall_tint_temperature.png")

    await demo.page.select_option("#tint-select", "humidity")
    await demo.until(LEGEND_NOTE, "0 个房间有数值")
    assert await scale.locator(".ends span").all_inner_texts() == ["20 %", "80 %"]
    await demo.page.select_option("#tint-select", "zone")
    await demo.until("!document.querySelector('[data-testid=tint-scale]')")
    assert demo.errors == []


# --- search --------------------------------------------------------------------------------------------------

FIRST_RESULT = "() => document.querySelector('[data-testid=search-results] button')?.dataset.guid ?? null"
CENTRE_REACHED = """(g) => {
  const t = window.hallTwin; const c = t.centreOf(g); const at = t.cameraTarget();
  return !t.stage.flying && Math.hypot(c[0] - at[0], c[1] - at[1], c[2] - at[2]) < 0.01;
}"""


async def search_for(demo: DemoPage, query: str, guid: str, *, enter: bool) -> None:
    """Type ``query``: ``guid`` is the first result; choosing it selects it and flies the camera to it."""
    await demo.page.keyboard.press("Escape")
    box = demo.page.get_by_test_id("search-input")
    await box.fill(query)
    await demo.until(f"() => ({FIRST_RESULT})() === {guid!r}")
    if enter:
        await box.press("Enter")
    else:
        await demo.page.locator(f'[data-testid=search-results] button[data-guid="{guid}"]').first.click()
    await demo.until("(g) => window.hallTwin.selected() === g", guid)
    assert await demo.page.get_by_test_id("search-results").is_hidden()
    assert await demo.page.get_by_test_id("info-panel").is_visible()
    assert await demo.js("(g) => window.hallTwin.isVisible(g)", guid)
    await demo.until(CENTRE_REACHED, guid)


async def test_search_by_names_numbers_and_globalid(demo: DemoPage) -> None:
    """A device by its Chinese or English name, a room by its number, a window by its number, any element by its
    GlobalId (typed in any case): the first result, chosen, is selected, shown and flown to."""
    await demo.reset()
    meter, sensor = demo.device("pm-2"), demo.device("th-4")
    await search_for(demo, meter.name.zh, meter.ifc_guid, enter=True)
    assert await demo.page.get_by_test_id("info-name").inner_text() == meter.name.zh
    await search_for(demo, sensor.name.en.lower(), sensor.ifc_guid, enter=False)
    assert await demo.page.get_by_test_id("info-name").inner_text() == sensor.name.zh
    power_room = demo.zone_space("1f-power")
    await search_for(demo, "1F-POWER", power_room, enter=True)
    window = await demo.js("[...window.hallTwin.model.info.values()].find((i) => i.name?.includes('1F-24H-S1 /')).guid")
    await search_for(demo, "1F-24H-S1", window, enter=True)
    wall = await demo.js(
        "[...window.hallTwin.model.info.values()].find((i) => i.ifcClass.startsWith('IfcWall') && "
        "window.hallTwin.model.nodes.has(i.guid)).guid"
    )
    await search_for(demo, wall.lower(), wall, enter=True)
    await shoot(demo.page, demo.folder, "demo_hall_search_globalid.png")
    await demo.page.keyboard.press("Escape")
    await demo.page.get_by_test_id("search-input").fill("没有这个名字的设备")
    empty = demo.page.locator("[data-testid=search-results] .empty")
    assert await empty.inner_text() == "没有匹配项"
    assert demo.errors == []


# --- values formatted for people -----------------------------------------------------------------------------

FORMAT_CASES = """async () => {
  const { numberText, durationText } = await import('/src/format.js');
  const { I18n } = await import('/src/i18n.js');
  const i18n = new I18n();
  const local = (lang, text) => { i18n.lang = lang; return i18n.local(text); };
  return {
    noise: numberText(24.200000762939453, { unit: 'degC' }, 'zh'),
    precision: numberText(24.200000762939453, { unit: 'degC', precision: 2 }, 'en'),
    thousands: [numberText(1234.5, { unit: 'kW' }, 'en'), numberText(1234.5, { unit: 'kW' }, 'zh')],
    people: [numberText(12, { unit: 'people' }, 'zh'), numberText(12, { unit: 'people' }, 'en')],
    waits: [numberText(1068, { unit: 's' }, 'zh'), numberText(1068, { unit: 's' }, 'en'),
      durationText(45, 'en'), durationText(3720, 'en')],
    minutes: [numberText(17.8, { unit: 'min', precision: 1 }, 'zh'),
      numberText(17.8, { unit: 'min', precision: 1 }, 'en')],
    names: [local('zh', '动力环境机房 / Power and environment room'),
      local('en', '动力环境机房 / Power and environment room'), local('zh', 'Meeting room / 会议室'),
      local('en', '配电室／Switch room'), local('zh', 'AHU-1/2 空调'),
      local('en', 'OPEN OFFICE (140)')],
  };
}"""
POINT_VALUE = "(id) => document.querySelector(`[data-testid=info-points] tr[data-point='${id}'] td.value`)?.textContent"


async def test_values_formatted_for_people(demo: DemoPage) -> None:
    """float32 noise removed, the point's precision kept, waits in minutes, units in the reader's language; the
    same in the panel from values on /ws."""
    await demo.reset()
    cases = await demo.js(FORMAT_CASES)
    assert cases["noise"] == "24.2 °C"
    assert cases["precision"] == "24.20 °C"
    assert cases["thousands"] == ["1,234.5 kW", "1,234.5 kW"]
    assert cases["people"] == ["12 人", "12 people"]
    assert cases["waits"] == ["17 分 48 秒", "17 min 48 s", "45 s", "1 h 2 min"]
    assert cases["minutes"] == ["17.8 分钟", "17.8 min"]
    assert cases["names"] == ["动力环境机房", "Power and environment room", "会议室", "Switch room", "AHU-1/2 空调",
                              "OPEN OFFICE (140)"]  # fmt: skip

    # In the panel: a float32 reading, a wait in minutes to its precision, a count without decimals.
    demo.publish("th-7.temperature", float(np.float32(24.2)))
    demo.publish("queue.integrated.wait_p90", 17.849)
    demo.publish("queue.integrated.waiting", 12.0)
    sensor, queue = demo.device("th-7"), demo.device("queue")
    await demo.js("(g) => window.hallTwin.openPanel(g)", sensor.ifc_guid)
    await demo.until(f"() => ({POINT_VALUE})('th-7.temperature') === '24.2 °C'")
    await demo.js("(g) => window.hallTwin.openPanel(g)", queue.ifc_guid)
    await demo.until(f"() => ({POINT_VALUE})('queue.integrated.wait_p90') === '17.8 分钟'")
    assert await demo.js(POINT_VALUE, "queue.integrated.waiting") == "12"
    await demo.page.get_by_test_id("lang-toggle").click()
    await demo.until(f"() => ({POINT_VALUE})('queue.integrated.wait_p90') === '17.8 min'")
    await shoot(demo.page, demo.folder, "demo_hall_queue_panel_en.png")
    await demo.reset()
    assert demo.errors == []


# --- English IFC names on the Chinese page (src/ifc_names.js) ------------------------------------------------

IFC_NAME_CASES = """async () => {
  const { roomZh, storeyZh } = await import('/src/ifc_names.js');
  const storeys = ['Level 1', 'Level 12', 'Floor 03', 'L2', 'Level -1', 'B2', 'Basement', 'Ground Floor', 'GF',
    'Roof', 'Roof Level', 'Mezzanine', 'Level 1 Mezzanine', 'Erdgeschoss', 'Level 0', 'First Floor', '1F', 'T/FDN',
    'Dachgeschoss', 'Obergeschoss'];
  const rooms = ['OPEN OFFICE (140)', 'Living Room', 'Bathroom 1', 'Meeting Room 2', 'Conference Room',
    "Men's WC", 'Accessible Toilet', 'Lift Lobby', 'Corridor 2.05', 'Stair', 'Server Room', 'Plant Room',
    'Storage', 'Kitchen', 'Main Entrance', 'Room A', 'Mother and Baby Room', 'Open-plan office',
    // left as they are: an unknown word, a qualifier after its noun, German, a number, Chinese, empty
    "Manager's Office", 'Lobby East', 'Buero', 'Küche', '101', '会议室', '', null];
  return { storeys: storeys.map((n) => [n, storeyZh(n)]), rooms: rooms.map((n) => [n, roomZh(n)]) };
}"""


async def test_english_ifc_names_rendered_in_chinese(demo: DemoPage) -> None:
    """Storey names by pattern, room names by the glossary, numbers and codes kept; what cannot be rendered
    reliably (ordinal floors, unknown words, German, a qualifier after its noun) is left as the model has it."""
    cases = await demo.js(IFC_NAME_CASES)
    assert dict(cases["storeys"]) == {
        "Level 1": "1层", "Level 12": "12层", "Floor 03": "3层", "L2": "2层", "Level -1": "地下1层", "B2": "地下2层",
        "Basement": "地下室", "Ground Floor": "首层", "GF": "首层", "Roof": "屋顶", "Roof Level": "屋顶",
        "Mezzanine": "夹层", "Level 1 Mezzanine": "1层夹层", "Erdgeschoss": "首层", "Level 0": None,
        "First Floor": None, "1F": None, "T/FDN": None, "Dachgeschoss": "阁楼层", "Obergeschoss": None,
    }  # fmt: skip
    assert [zh for _, zh in cases["rooms"]] == [
        "开放办公区 (140)", "客厅", "卫生间 1", "会议室 2", "会议室", "男卫生间", "无障碍卫生间", "电梯厅", "走廊 2.05",
        "楼梯", "服务器机房", "设备机房", "储藏室", "厨房", "主入口", "房间 A", "母婴室", "开放办公区",
        None, None, None, None, None, None, None, None,
    ]  # fmt: skip
    # The demo hall's bilingual names are its own ("中文 / English"): no rendering, no second line.
    assert await demo.js("window.hallTwin.i18n.ifcName('会议室 / Meeting room')") == {"text": "会议室", "ifc": None}
    assert demo.errors == []


# --- the top bar on one row ------------------------------------------------------------------------------------

BAR_WIDTHS = ((1024, 640), (1280, 800), (1366, 768), (1440, 900), (1920, 1080))
BAR_ONE_ROW = 52  # style.css .topbar height
# The bar's height and overflow, the page's, and each control shown in the bar: [testid, top, bottom, visible].
BAR = """() => {
  const bar = document.querySelector('header.topbar');
  const r = bar.getBoundingClientRect();
  const shown = [...bar.children].filter((n) => n.getClientRects().length && !n.classList.contains('spacer'))
    .map((n) => { const b = n.getBoundingClientRect();
      const inside = b.left >= 0 && b.right <= innerWidth;
      return [n.dataset.testid ?? n.className, b.top - r.top, b.bottom - r.top, inside]; });
  return { height: r.height, overflow: bar.scrollWidth - bar.clientWidth,
    pageOverflow: document.documentElement.scrollWidth - innerWidth, shown,
    folded: window.hallTwin.barFit.folded() };
}"""


async def test_top_bar_is_one_row_at_every_width(demo: DemoPage, chromium: Any) -> None:
    """The twin's bar for the role with the most pages (admin), in Chinese and English, from 1024 to 1920 px: one
    row, nothing off the screen; what does not fit is in the "more" menu, which opens and works."""
    await demo.reset()
    base = demo.page.url.split("/", 3)[:3]
    url = "/".join(base)
    context = await chromium.new_context(viewport={"width": 1920, "height": 1080}, reduced_motion="reduce")
    try:
        await context.add_cookies(await browser_cookies(demo.runtime, url, "admin"))
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(url + "/")
        await page.wait_for_function("window.hallTwin && window.hallTwin.state !== 'loading'", timeout=READY_TIMEOUT_MS)
        seen: dict[tuple[str, int], list[str]] = {}
        for lang in ("zh", "en"):
            if await page.evaluate("window.hallTwin.i18n.lang") != lang:
                await page.evaluate("window.hallTwin.i18n.load(window.hallTwin.i18n.next())")
                await page.wait_for_function("(l) => window.hallTwin.i18n.lang === l", arg=lang)
            for width, height in BAR_WIDTHS:
                await page.set_viewport_size({"width": width, "height": height})
                await page.wait_for_timeout(100)  # the bar refits in the next frame
                await page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
                bar = await page.evaluate(BAR)
                where = (lang, width, bar)
                assert bar["height"] == BAR_ONE_ROW and bar["overflow"] <= 0 and bar["pageOverflow"] <= 0, where
                assert all(0 <= top and bottom <= BAR_ONE_ROW and inside for _, top, bottom, inside in bar["shown"]), (
                    where
                )
                shown = [name for name, *_ in bar["shown"]]
                # The controls used all the time stay in the bar; the menu is there when something is in it.
                assert {"storey", "plan-toggle", "search", "live-status"} <= set(shown), where
                assert ("bar-more" in shown) == bool(bar["folded"]), where
                seen[(lang, width)] = bar["folded"]
                await shoot(page, demo.folder, f"twin_bar_admin_{lang}_{width}.png")
        # Narrow: the pages and the roof switch are in the menu; it opens, shows them, and they work there.
        await page.set_viewport_size({"width": 1024, "height": 640})
        await page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        assert {"shell-nav", "roof"} <= set(await page.evaluate("window.hallTwin.barFit.folded()")), seen
        await page.get_by_test_id("bar-more-button").click()
        panel = page.get_by_test_id("bar-more-panel")
        await panel.wait_for(state="visible")
        links = panel.locator(".shell-nav a")
        assert await links.count() == 5 and await links.first.is_visible()  # every page of the admin's
        roof = await page.evaluate("window.hallTwin.model.showRoof")
        await panel.get_by_test_id("roof-toggle").click()
        assert await page.evaluate("window.hallTwin.model.showRoof") is not roof
        await shoot(page, demo.folder, "twin_bar_admin_en_1024_menu.png")
        await page.keyboard.press("Escape")
        await panel.wait_for(state="hidden")
        assert await page.evaluate("window.hallTwin.barFit.folded()") == seen[("en", 1024)]
        assert errors == [], errors
    finally:
        await context.close()


async def test_devices_route_names_and_places_every_device(tmp_path: Path, model_cache: Path) -> None:
    """GET /api/devices: site.yaml names, kinds and points first; an opening (no mesh in the GLB) is placed by
    its box, a drawn element by its position; staff only."""
    import httpx

    from tests.api.auth_helpers import staff_headers

    if not FZK_IFC.is_file():
        pytest.skip(f"{FZK_IFC} is not present (../shared)")
    runtime = make_runtime(
        write_site(tmp_path, FZK_IFC, FZK_OFFICE_SPACE, FZK_DEVICES), tmp_path / "data", cache_dir=model_cache
    )
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=120) as client:
        assert (await client.get("/api/devices")).status_code == 401
        response = await client.get("/api/devices", headers=await staff_headers(runtime, client))
        assert response.status_code == 200, response.text
        devices = {device["id"]: device for device in response.json()["devices"]}
    assert set(devices) == set(FZK_DEVICES)
    passage = devices["inner_passage"]
    assert passage["name"] == {"zh": "内门洞口计数", "en": "Inner opening counter"}
    assert passage["kind"] == "people_counter" and passage["zone_name"]["en"] == "Lobby"
    placement = passage["placement"]
    assert placement["drawn"] is False and placement["storey"] == "2eyxpyOx95m90jmsXLOuR0"
    assert all(low < high for low, high in zip(placement["min"], placement["max"], strict=True))
    assert devices["wall_ac"]["placement"]["drawn"] is True
