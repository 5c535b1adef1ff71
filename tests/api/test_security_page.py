"""The security desk (/security) in headless Chromium on the demo hall with its simulated devices on real
protocols: the BACnet fire panel reports a fire, the desk shows the fire-zone alarm with every room of its IfcZone
tinted (screenshot), a security user acknowledges it in the page and the server's state changes, ticks a step of
the fire plan (recorded on the server), acknowledges a flood at once, cannot shelve life safety, resets an
emergency button only once it is released (the page says why before), unlocks a door after confirming (the
BACnet lock reads back unlocked) and reads the KPI charts; a new critical alarm beeps until muted; an emergency
button's page to security appears on the open desk without a reload (its /ws frame), with the alarm's room and
camera, selects its alarm when clicked, and is acknowledged with who and when. Screenshots at 1920x1080 and 1366x768."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from broadcast.demo_speakers import start_speaker_simulators, stop_speaker_simulators
from store import Role
from tests.api.auth_helpers import browser_cookies
from tests.api.demo_fixtures import DemoHall, running_demo
from tests.api.server import CHROMIUM_ARGS, chromium_executable, keep_screenshot
from tests.peers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

FULL_HD = {"width": 1920, "height": 1080}
LAPTOP = {"width": 1366, "height": 768}
READY_TIMEOUT_MS = 120_000
STEP_TIMEOUT_MS = 20_000
ALARM_TIMEOUT_MS = 45_000
SERVER_DEADLINE_S = 15.0
FIRE_ZONE = "1f-wait"
DESK_ZH = json.loads((Path(__file__).parents[2] / "web_viewer/i18n/desk.zh.json").read_text(encoding="utf-8"))
SNAPSHOT_ROWS = """() => {
    window.rowsBefore = new Map([...document.querySelectorAll('[data-testid=desk-row]')]
        .map((row) => [Number(row.dataset.alarm), row]));
    window.alarmsBefore = new Map(window.hallSecurity.feed.list().map((a) => [a.id, JSON.stringify(a)]));
}"""
ROWS_REBUILT = """() => {
    const unchanged = window.hallSecurity.feed.list()
        .filter((a) => window.alarmsBefore.get(a.id) === JSON.stringify(a)).map((a) => a.id);
    return [unchanged, unchanged.filter((id) => window.rowsBefore.has(id) && !window.rowsBefore.get(id).isConnected)];
}"""
KEPT_PAGE_ROW = """(id) => {
    const row = document.querySelector(`[data-testid=pages] [data-testid=page][data-alarm='${id}']`);
    return window.hallSecurity.pages.load().then(() => row.isConnected);
}"""
KEPT_DOOR_ROW = """(id) => {
    const row = document.querySelector(`li[data-door='${id}']`);
    return window.hallSecurity.doors.refresh().then(() => row.isConnected);
}"""
ZONE_KIND_IS = """([zone, kind]) => [...document.querySelectorAll(`[data-testid=bc-plans] [data-zone='${zone}']`)]
    .every((room) => room.dataset.kind === kind)"""
PAGED_BUTTON = "security-ctl.ebtn_2"  # not the emergency_button scenario's default: its alarm is the page test's own
CROSSED_BUTTON = "security-ctl.ebtn_3"  # the crossing answer test's own
ONE_ACK = "**/api/alarms/*/ack"


def is_pages_list(url: str) -> bool:
    """The route of the pages panel's refresh (GET /api/pages?limit=...)."""
    return "/api/pages?" in url
DESK_READY = (
    "window.hallSecurity && window.hallSecurity.state === 'ready' && window.hallSecurity.scene.state !== 'loading'"
)
ALARM_WITH_RULE = """(prefix) => {
  const found = window.hallSecurity.feed.list().find((a) => a.rule.startsWith(prefix));
  return found ? found.id : null;
}"""


class HeldAnswers:
    """A route handler: each request goes to the server at once, and its real answer reaches the page only after
    ``release`` is set (an answer that arrives after newer /ws frames)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.statuses: list[int] = []

    async def __call__(self, route: Any) -> None:
        response = await route.fetch()
        self.statuses.append(response.status)
        await self.release.wait()
        await route.fulfill(response=response)

    async def answered(self, what: str) -> int:
        """The status of the first answer held, once the server has given it."""
        await wait_until(lambda: self.statuses, STEP_TIMEOUT_MS / 1000, what)
        return self.statuses[0]


class Desk:
    """The demo hall and one browser page on the security desk, logged in as security."""

    def __init__(self, demo: DemoHall, page: Any, shots: Path) -> None:
        self.demo = demo
        self.page = page
        self.shots = shots
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    async def js(self, expression: str, arg: Any = None) -> Any:
        return await self.page.evaluate(expression, arg)

    async def alarm_id(self, rule_prefix: str) -> int:
        # The field change travels gateway poll -> engine -> /ws -> page: on a suite-loaded machine that took > 20 s.
        handle = await self.page.wait_for_function(ALARM_WITH_RULE, arg=rule_prefix, timeout=ALARM_TIMEOUT_MS)
        alarm_id: int = await handle.json_value()
        return alarm_id

    async def select(self, alarm_id: int) -> None:
        await self.page.locator(f'li[data-alarm="{alarm_id}"] .row-body').click()
        await self.page.locator(f'li[data-alarm="{alarm_id}"].selected').wait_for(timeout=STEP_TIMEOUT_MS)

    async def server_alarm(self, alarm_id: int) -> dict[str, Any]:
        response = await self.demo.client.get(f"/api/alarms/{alarm_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def until_server(self, alarm_id: int, why: str, check: Any) -> dict[str, Any]:
        end = asyncio.get_running_loop().time() + SERVER_DEADLINE_S
        while True:
            alarm = await self.server_alarm(alarm_id)
            if check(alarm):
                return alarm
            assert asyncio.get_running_loop().time() < end, f"{why}: the server has {alarm}"
            await asyncio.sleep(0.2)

    async def shot(self, name: str) -> None:
        path = self.shots / name
        await self.page.screenshot(path=str(path))
        keep_screenshot(path)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> AsyncIterator[Desk]:
    executable = chromium_executable()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    tmp = tmp_path_factory.mktemp("security-page")
    shots = tmp / "screenshots"
    shots.mkdir()
    async with running_demo(tmp, model_cache) as demo, async_playwright() as playwright:
        browser: Any = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            context = await browser.new_context(viewport=FULL_HD)
            await context.add_cookies(await browser_cookies(demo.runtime, demo.url, Role.SECURITY))
            page = await context.new_page()
            found = Desk(demo, page, shots)
            await page.goto(demo.url + "/security")
            await page.wait_for_function(DESK_READY, timeout=READY_TIMEOUT_MS)
            scene = await found.js("[window.hallSecurity.scene.state, window.hallSecurity.scene.error]")
            assert scene == ["ready", None]
            yield found
        finally:
            await browser.close()
            for name in list(demo.hall.active):
                demo.hall.clear_scenario(name)


async def test_broadcast_tab_shows_the_pa_zones_on_the_floor_plans(desk: Desk) -> None:
    """Each PA zone's rooms on its storey's plan, coloured by what plays there (the demo's background music); a
    click on a room selects the zone (as its box does); a page started to it colours its rooms until it is stopped
    and the music comes back."""
    speakers = await start_speaker_simulators(desk.demo.site)  # as `halltwin demo` runs them
    try:
        await _broadcast_tab(desk)
    finally:
        await stop_speaker_simulators(speakers)


async def _broadcast_tab(desk: Desk) -> None:
    page = desk.page
    await page.locator("[data-tab=broadcast]:not([hidden])").click(timeout=STEP_TIMEOUT_MS)
    await page.get_by_test_id("bc-plans").wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    # Every speaker confirms the music it receives now (an RTCP report a second), the SIP one at its next call.
    await page.wait_for_function(
        "[...document.querySelectorAll('.bc-speakers')].filter((s) => s.dataset.ok === 'true').length >= 3",
        timeout=STEP_TIMEOUT_MS,
    )
    zones = (await desk.demo.client.get("/api/broadcast")).json()["zones"]
    playing = {zone["zone"]: (zone["playing"] or {"kind": "idle"})["kind"] for zone in zones}
    for zone in zones:
        assert await _zone_kinds(page, zone["zone"]) == [playing[zone["zone"]]] * len(zone["spaces"]), zone["zone"]
    target = zones[-1]["zone"]
    rooms = page.locator(f'[data-testid=bc-plans] [data-zone="{target}"]')
    await rooms.first.click()
    assert await page.get_by_test_id(f"bc-select-{target}").is_checked()
    assert "selected" in (await rooms.last.get_attribute("class") or "")
    await page.get_by_test_id("bc-message").select_option("closing")
    await page.get_by_test_id("bc-start").click()
    await page.wait_for_function(ZONE_KIND_IS, arg=[target, "page"], timeout=STEP_TIMEOUT_MS)
    zone_row = page.get_by_test_id(f"bc-zone-{target}")
    await zone_row.locator(".bc-speakers[data-ok=true]").wait_for(timeout=STEP_TIMEOUT_MS)  # its SIP speaker answered
    for zone in zones[:-1]:
        assert set(await _zone_kinds(page, zone["zone"])) == {playing[zone["zone"]]}
    await desk.shot("security_broadcast_1920.png")
    await page.set_viewport_size(LAPTOP)
    await desk.shot("security_broadcast_1366.png")
    await page.set_viewport_size(FULL_HD)
    await page.get_by_test_id(f"bc-stop-{target}").click()
    await page.wait_for_function(ZONE_KIND_IS, arg=[target, playing[target]], timeout=STEP_TIMEOUT_MS)
    await rooms.first.click()  # and deselected again
    assert not await page.get_by_test_id(f"bc-select-{target}").is_checked()
    await page.locator("[data-tab=detail]").click()  # the other tests start from the alarm's detail
    assert desk.errors == []


async def _a_locked_door(desk: Desk) -> dict[str, Any]:
    """A door the security controller reports locked; under a loaded suite its poll may be a while coming back."""
    end = asyncio.get_running_loop().time() + 60.0
    while True:
        doors = (await desk.demo.client.get("/api/doors")).json()
        locked = [d for d in doors if d["locked"] is True]
        if locked:
            return dict(locked[0])
        assert asyncio.get_running_loop().time() < end, f"no door reported locked: {doors}"
        await asyncio.sleep(0.5)


async def _zone_kinds(page: Any, zone: str) -> list[str]:
    rooms = page.locator(f'[data-testid=bc-plans] [data-zone="{zone}"]')
    return [await room.get_attribute("data-kind") for room in await rooms.all()]


async def test_fire_zone_alarm_tinted_and_acknowledged_in_the_page(desk: Desk) -> None:
    page = desk.page
    await page.mouse.click(5, 300)  # the user gesture browsers want before they play sound
    await page.wait_for_function("window.hallSecurity.sound.state === 'on'", timeout=STEP_TIMEOUT_MS)
    started = await desk.demo.client.post("/api/demo/scenarios/fire/start", params={"target": FIRE_ZONE})
    assert started.status_code == 200, started.text
    fire_zone = await desk.alarm_id("fire_zone.")
    # A new critical alarm beeps (WebAudio) and the switch shows it waits for an acknowledgement.
    await page.wait_for_function("window.hallSecurity.sound.beeps >= 1", timeout=STEP_TIMEOUT_MS)
    assert await page.get_by_test_id("sound-toggle").get_attribute("data-pending") != "0"

    await desk.select(fire_zone)
    alarm = await desk.server_alarm(fire_zone)
    assert alarm["ifc_guid"] is None and len(alarm["space_guids"]) > 1  # an IfcZone: no mesh of its own
    # Every room of the IfcZone is tinted, and the view is on its storey.
    tinted = await desk.js("window.hallSecurity.scene.zones.spaces()")
    assert set(alarm["space_guids"]) <= set(tinted)
    storeys = await desk.js(
        "(gs) => gs.map((g) => window.hallSecurity.scene.model.info.get(g).storey)", alarm["space_guids"]
    )
    assert await page.get_by_test_id("stage-storey").get_attribute("data-storey") == storeys[0]
    assert await page.get_by_test_id("detail-state").get_attribute("data-state") == "unack"
    assert "未确认" in await page.get_by_test_id("detail-state").inner_text()  # the state in words, not colour alone
    # Life safety is never shelved: no shelve button, and the page says why.
    assert await page.get_by_test_id("shelve").count() == 0
    assert "不可搁置" in await page.get_by_test_id("actions").locator("xpath=..").inner_text()
    await page.wait_for_function("!window.hallSecurity.scene.stage.flying", timeout=STEP_TIMEOUT_MS)
    await desk.shot("security_fire_zone_1920.png")

    # The rows and the page's alarms as they are now: the list is redrawn at every transition, and rows whose alarm
    # did not change must stay the same elements (a row replaced between a press and its release swallows a click).
    await desk.js(SNAPSHOT_ROWS)
    await page.get_by_test_id("ack").click()
    acked = await desk.until_server(fire_zone, "acknowledged in the page", lambda a: a["state"] == "ack")
    assert acked["acked_by"] == "security"
    await page.locator(f'li[data-alarm="{fire_zone}"][data-state="ack"]').wait_for(timeout=STEP_TIMEOUT_MS)
    unchanged, rebuilt = await desk.js(ROWS_REBUILT)
    assert unchanged  # the fire's other alarms (detectors, linkage) stood still meanwhile
    assert rebuilt == [], f"rows rebuilt although their alarm did not change: {rebuilt}"

    # A note being typed survives the panel's redraws (a transition of the alarm, its plan and history loading):
    # the same field, with its text and the focus.
    comment = page.get_by_test_id("comment-text")
    await comment.fill("消防中控已确认")
    await desk.js("window.hallSecurity.detail.render()")
    assert await comment.input_value() == "消防中控已确认"
    assert await comment.evaluate("(input) => document.activeElement === input")
    await comment.press("Enter")
    assert await comment.input_value() == ""  # sent: the field is empty for the next note
    saved = page.get_by_test_id("action-message").filter(has_text=DESK_ZH["desk.commented_ok"])
    await saved.wait_for(timeout=STEP_TIMEOUT_MS)
    events = (await desk.demo.client.get(f"/api/alarms/{fire_zone}")).json()["events"]
    assert [(e["kind"], e["by"], e["reason"]) for e in events if e["kind"] == "comment"] == [
        ("comment", "security", "消防中控已确认")
    ]

    # The fire plan's first step, ticked in the page, is recorded with who did it.
    await page.locator('[data-testid=plan-step][data-step="1"]').check()
    # The box is disabled at once while the request runs; the step's row is marked done once the server answered.
    await page.locator('li.done [data-testid=plan-step][data-step="1"]').wait_for(timeout=STEP_TIMEOUT_MS)
    plan = (await desk.demo.client.get(f"/api/alarms/{fire_zone}/plan")).json()
    assert (plan["steps"][0]["done"], plan["steps"][0]["done_by"]) == (True, "security")

    # A flood: every unacknowledged alarm ticked and acknowledged at once.
    await page.get_by_test_id("select-all").check()
    ticked = await desk.js("[...window.hallSecurity.list.checked]")
    assert ticked
    await page.get_by_test_id("ack-selected").click()
    await page.wait_for_function("window.hallSecurity.list.checked.size === 0", timeout=STEP_TIMEOUT_MS)
    still = {a["id"] for a in (await desk.demo.client.get("/api/alarms", params={"state": "unack"})).json()}
    still |= {a["id"] for a in (await desk.demo.client.get("/api/alarms", params={"state": "rtn_unack"})).json()}
    assert not still & set(ticked), f"not acknowledged in bulk: {sorted(still & set(ticked))}"
    await page.get_by_test_id("sound-toggle").click()
    assert await desk.js("window.hallSecurity.sound.state") == "muted"
    assert desk.errors == []


async def test_emergency_button_reset_only_once_released(desk: Desk) -> None:
    page = desk.page
    started = await desk.demo.client.post("/api/demo/scenarios/emergency_button/start")
    assert started.status_code == 200, started.text
    button = await desk.alarm_id("emergency_button.")
    await desk.select(button)
    reset = page.get_by_test_id("reset")
    await reset.wait_for(timeout=STEP_TIMEOUT_MS)
    assert await reset.is_disabled()
    assert "仍处于按下状态" in await page.get_by_test_id("alarm-detail").inner_text()  # says why
    assert await page.get_by_test_id("shelve").count() == 0

    cleared = await desk.demo.client.post("/api/demo/scenarios/emergency_button/clear")  # released on site
    assert cleared.status_code == 200, cleared.text
    await page.locator("[data-testid=reset]:enabled").wait_for(timeout=STEP_TIMEOUT_MS)
    assert (await desk.server_alarm(button))["state"] != "normal"  # latched: still there until reset
    await reset.click()
    await page.get_by_test_id("reset-comment").fill("现场核实为误按")
    await page.get_by_test_id("confirm-ok").click()
    done = await desk.until_server(button, "reset in the page", lambda a: a["reset_by"] == "security")
    assert done["state"] == "normal" and any(e["kind"] == "reset" for e in done["events"])
    assert desk.errors == []


async def test_emergency_button_pages_the_open_desk_and_the_page_is_acknowledged(desk: Desk) -> None:
    page = desk.page
    await page.evaluate("window.notReloaded = true")
    frames_before = await desk.js("window.hallSecurity.pages.frames")
    # A refresh of the pages asked for before the press, and answered only after the page's /ws frame has shown
    # it: the older list must not take the page away again.
    held_list = HeldAnswers()
    await page.route(is_pages_list, held_list)
    stale_refresh = asyncio.ensure_future(desk.js("window.hallSecurity.pages.load()"))
    await held_list.answered("the list asked for before the press")
    pressed = await desk.demo.client.post("/api/demo/scenarios/emergency_button/start", params={"target": PAGED_BUTTON})
    assert pressed.status_code == 200, pressed.text  # the simulated controller holds it; the gateway polls it
    try:
        button = await desk.alarm_id(f"emergency_button.{PAGED_BUTTON}")
        alarm = await desk.server_alarm(button)
        item = page.locator(f'[data-testid=pages] [data-testid=page][data-alarm="{button}"]')
        await item.wait_for(timeout=STEP_TIMEOUT_MS)
        assert await desk.js("window.notReloaded === true && window.hallSecurity.pages.frames") > frames_before
        held_list.release.set()
        await stale_refresh
        await page.unroute(is_pages_list, held_list)
        assert await item.count() == 1, "a list asked for before the page arrived took it away again"
        # Unacknowledged pages first (the newest on top): this one leads, and none is below an acknowledged one.
        acked_flags = await page.locator("[data-testid=pages] [data-testid=page]").evaluate_all(
            "(items) => items.map((li) => li.dataset.acked)"
        )
        assert acked_flags[0] == "false" and acked_flags == sorted(acked_flags, key=lambda f: f == "true")
        first = page.locator("[data-testid=pages] [data-testid=page]").first
        assert await first.get_attribute("data-alarm") == str(button)
        zone_name = next(z.name.zh for z in desk.demo.site.zones if z.id == alarm["zone"])
        camera_name = next(d.name.zh for d in desk.demo.site.devices if d.id == alarm["camera"])
        assert await item.get_by_test_id("page-room").inner_text() == f"位置 {zone_name}"
        assert await item.get_by_test_id("page-camera").inner_text() == f"摄像机 {camera_name}"
        assert await item.get_by_test_id("page-alarm").inner_text() == alarm["title"]["zh"]
        await desk.shot("security_page_1920.png")
        # The panel redraws at every page frame and refresh: an unchanged page keeps its row, so a press lands.
        kept = await desk.js(KEPT_PAGE_ROW, button)
        assert kept, "the pages panel rebuilt the row of a page that did not change"

        await item.get_by_test_id("page-alarm").click()  # selects its alarm in the desk's list
        await page.locator(f'li[data-alarm="{button}"].selected').wait_for(timeout=STEP_TIMEOUT_MS)
        assert await desk.js("window.hallSecurity.list.selected") == button

        await item.get_by_test_id("page-ack").click()
        await item.and_(page.locator('[data-acked="true"]')).wait_for(timeout=STEP_TIMEOUT_MS)
        listed = await desk.js("fetch('/api/pages').then((r) => r.json())")  # as the desk's own user
        [stored] = [p for p in listed if p["alarm_id"] == button]
        assert stored["acked_by"] == "security" and stored["acked_at"] is not None
        assert "security 已知晓" in await item.get_by_test_id("page-acked").inner_text()
        await page.set_viewport_size(LAPTOP)
        await item.scroll_into_view_if_needed()  # the panel scrolls at this height: show the acknowledged page
        await desk.shot("security_page_1366.png")
        layout = await desk.js("[document.documentElement.scrollWidth, window.innerWidth]")
        assert layout[0] <= layout[1], f"the desk is wider than the screen: {layout}"
        assert desk.errors == []
    finally:
        held_list.release.set()
        await page.unroute(is_pages_list, held_list)
        await page.set_viewport_size(FULL_HD)
        await desk.demo.client.post("/api/demo/scenarios/emergency_button/clear")


async def test_an_action_answer_that_arrives_after_a_newer_frame_does_not_undo_it(desk: Desk) -> None:
    """The answer to the page's acknowledge is held back until the /ws frame of a later change (the button
    released on site) has been shown: the page keeps the newer view (the reset it now allows stays allowed)."""
    page = desk.page
    pressed = await desk.demo.client.post(
        "/api/demo/scenarios/emergency_button/start", params={"target": CROSSED_BUTTON}
    )
    assert pressed.status_code == 200, pressed.text
    held_ack = HeldAnswers()
    try:
        button = await desk.alarm_id(f"emergency_button.{CROSSED_BUTTON}")
        await desk.select(button)
        await page.route(ONE_ACK, held_ack)
        await page.get_by_test_id("ack").click()
        acked = await desk.until_server(button, "acknowledged in the page", lambda a: a["state"] == "ack")
        assert acked["active"]
        assert await held_ack.answered("the answer to the acknowledge") == 200
        released = await desk.demo.client.post("/api/demo/scenarios/emergency_button/clear")
        assert released.status_code == 200, released.text
        await page.locator("[data-testid=reset]:enabled").wait_for(timeout=ALARM_TIMEOUT_MS)  # the frame shown
        held_ack.release.set()
        done = page.get_by_test_id("action-message").filter(has_text=DESK_ZH["desk.acked_ok"])
        await done.wait_for(timeout=STEP_TIMEOUT_MS)  # the page has taken the older answer now
        assert await desk.js("(id) => window.hallSecurity.feed.get(id).active", button) is False
        assert await page.get_by_test_id("reset").is_enabled(), "an older answer undid the release shown"
        await page.get_by_test_id("reset").click()
        await page.get_by_test_id("confirm-ok").click()
        await desk.until_server(button, "reset in the page", lambda a: a["reset_by"] == "security")
        assert desk.errors == []
    finally:
        held_ack.release.set()
        await page.unroute(ONE_ACK, held_ack)
        await desk.demo.client.post("/api/demo/scenarios/emergency_button/clear")


async def test_door_unlocked_after_confirmation_and_kpi_charts(desk: Desk) -> None:
    page = desk.page
    await page.locator('[role=tab][data-tab="doors"]').click()
    door = await _a_locked_door(desk)
    row = page.locator(f'li[data-door="{door["id"]}"]')
    await row.wait_for(timeout=STEP_TIMEOUT_MS)
    # The panel refreshes every 4 s: an unchanged door keeps its row (and buttons), so a press is never lost.
    assert await desk.js(KEPT_DOOR_ROW, door["id"]), "the door panel rebuilt the row of a door that did not change"
    await row.get_by_test_id("door-unlock").click()
    await page.get_by_test_id("confirm-ok").click()  # no reason yet: the dialog stays
    assert await page.get_by_test_id("confirm-dialog").is_visible()
    await page.get_by_test_id("door-reason").fill("消防通道检查")
    await page.get_by_test_id("door-duration").select_option("60")
    await page.get_by_test_id("confirm-ok").click()
    await page.get_by_test_id("door-message").wait_for(timeout=STEP_TIMEOUT_MS)
    state = next(d for d in (await desk.demo.client.get("/api/doors")).json() if d["id"] == door["id"])
    assert state["locked"] is False and state["unlocked_until"] is not None  # read back from the BACnet device
    await row.get_by_test_id("door-lock-button").click()
    await page.get_by_test_id("door-reason").fill("检查完毕")
    await page.get_by_test_id("confirm-ok").click()
    await page.locator(f'li[data-door="{door["id"]}"] [data-testid=door-lock]', has_text="已上锁").wait_for(
        timeout=STEP_TIMEOUT_MS
    )

    await page.set_viewport_size(LAPTOP)
    await page.locator('[role=tab][data-tab="kpis"]').click()
    await page.wait_for_function("window.hallSecurity.kpis.renders >= 1", timeout=STEP_TIMEOUT_MS)
    for chart in ("kpi-chart-rate", "kpi-chart-mix", "kpi-chart-top"):
        assert await page.get_by_test_id(chart).locator("canvas").count() == 1, chart
    total = await page.locator('[data-kpi="total"] .value').inner_text()
    assert int(total) >= 2  # the fire and the emergency button of this module at least
    await desk.shot("security_kpis_1366.png")
    await page.locator('[role=tab][data-tab="detail"]').click()
    await page.get_by_test_id("lang-toggle").click()
    english = "document.querySelector('h1').textContent === 'Security desk'"
    await page.wait_for_function(english, timeout=STEP_TIMEOUT_MS)
    layout = await desk.js("[document.documentElement.scrollWidth, window.innerWidth]")
    assert layout[0] <= layout[1], f"the desk is wider than the screen: {layout}"
    await desk.shot("security_1366_en.png")
    assert desk.errors == []
