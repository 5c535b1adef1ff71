"""The maintenance page (/maintenance) in headless Chromium on a phone (390x844): a QR code's deep link opens the
device's work order, a maintenance user takes it, starts it and resolves it with a note and a photo (the server
has the status, the note and the photo), records today's inspection round (a fault opens a repair order), and the
page reads on a desk too (1366x768). Also: who sees which page (the access matrix of the pages) and the refusal
a role that may not use a page is shown.

The demo site without its simulators: the work orders and rounds are the server's own, no device is polled."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.access import PAGES
from api.runtime import HallRuntime
from bim_models.demo_hall import SITE_PATH, ensure_demo_hall
from store import Role
from store.audit import SYSTEM
from store.workorders import NewWorkOrder
from tests.api.auth_helpers import browser_cookies, staff_headers
from tests.api.server import CHROMIUM_ARGS, chromium_executable, keep_screenshot, make_runtime, running_app
from twin.site.model import RoundSchedule

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 768}
READY_TIMEOUT_MS = 120_000
STEP_TIMEOUT_MS = 45_000  # a round's failed item stores a result, a repair order and their audit: >20 s once under load
KEPT_CARD = """(id) => {
    const card = document.querySelector(`[data-testid=order-card][data-order='${id}']`);
    return window.hallMaintenance.refresh('test').then(() => card.isConnected);
}"""
DEVICE = "env-ctl"  # the demo's leak controller in the power room: a QR label on it opens its orders
READY = "window.hallMaintenance && window.hallMaintenance.state !== 'loading'"


class Served:
    """The demo site served without simulators, with an HTTP client logged in as facility."""

    def __init__(self, url: str, runtime: HallRuntime, client: httpx.AsyncClient, browser: Any, shots: Path) -> None:
        self.url = url
        self.runtime = runtime
        self.client = client
        self.browser = browser
        self.shots = shots

    async def page(self, role: Role, path: str, viewport: dict[str, int]) -> tuple[Any, list[str]]:
        context = await self.browser.new_context(viewport=viewport, has_touch=viewport is PHONE)
        await context.add_cookies(await browser_cookies(self.runtime, self.url, role))
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(self.url + path)
        return page, errors

    async def shot(self, page: Any, name: str) -> None:
        path = self.shots / name
        await page.screenshot(path=str(path), full_page=False)
        keep_screenshot(path)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> AsyncIterator[Served]:
    executable = chromium_executable()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    ensure_demo_hall()
    tmp = tmp_path_factory.mktemp("maintenance-page")
    runtime = make_runtime(SITE_PATH, tmp / "data", cache_dir=model_cache)
    # The demo's rounds are due at 08:30, 09:00 and 14:00 for 90 minutes: a test run between them found every run
    # closed and its buttons disabled. Here every round is open all day, whenever the suite runs.
    all_day = RoundSchedule(times=["00:00"], window_minutes=1440)
    rounds = [template.model_copy(update={"schedule": all_day}) for template in runtime.site.rounds]
    runtime.site = runtime.site.model_copy(update={"rounds": rounds})
    shots = tmp / "screenshots"
    shots.mkdir()
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=20.0) as client:
        client.headers.update(await staff_headers(runtime, client, Role.FACILITY))
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=60_000)
            try:
                yield Served(url, runtime, client, browser, shots)
            finally:
                await browser.close()


def photo_png(width: int = 320, height: int = 240) -> bytes:
    """A real PNG (a grey gradient), as a phone camera would hand the page a file; written with the standard
    library so the test needs no imaging package."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"".join(bytes((x * 255 // width,) * 3) for x in range(width))  # filter 0, then RGB pixels
    rows = row * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def test_maintenance_user_resolves_a_work_order_with_a_photo_on_a_phone(served: Served) -> None:
    created = await served.client.post("/api/workorders", json={
        "title": {"zh": "漏水感应线报警复查", "en": "Check the leak cable"}, "priority": "high", "device": DEVICE,
    })  # fmt: skip
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]

    page, errors = await served.page(Role.MAINTENANCE, f"/maintenance?device={DEVICE}", PHONE)
    await page.wait_for_function(READY, timeout=READY_TIMEOUT_MS)
    assert await page.evaluate("window.hallMaintenance.state") == "ready"
    # The QR code's device, its one active order opened at once, with where it is on a floor plan.
    device = next(d for d in served.runtime.site.devices if d.id == DEVICE)
    assert await page.get_by_test_id("target-name").inner_text() == device.name.zh
    await page.get_by_test_id("order-title").filter(has_text=f"#{order_id}").wait_for(timeout=STEP_TIMEOUT_MS)
    plan = page.get_by_test_id("floor-plan")
    assert await plan.count() == 1 and await page.get_by_test_id("plan-spot").count() == 1
    assert await plan.locator(".room.target").count() == 1  # the room the device stands in
    await served.shot(page, "maintenance_390_order_open.png")

    async def status() -> dict[str, Any]:
        response = await served.client.get(f"/api/workorders/{order_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    await page.get_by_test_id("order-acknowledge").click()
    await page.locator('[data-testid=order-status][data-status="acknowledged"]').wait_for(timeout=STEP_TIMEOUT_MS)
    assert ((await status())["status"], (await status())["assignee"]) == ("acknowledged", "maintenance")
    await page.get_by_test_id("order-start").click()
    await page.get_by_test_id("resolve-form").wait_for(timeout=STEP_TIMEOUT_MS)
    assert (await status())["status"] == "in_progress"

    # A resolve without a note is stopped in the page (nothing sent); then with a note and a photo.
    await page.get_by_test_id("order-resolve").click()
    assert (await status())["status"] == "in_progress"
    photo = photo_png()
    await page.get_by_test_id("resolve-photo").set_input_files(
        files=[{"name": "leak.png", "mimeType": "image/png", "buffer": photo}]
    )
    await page.get_by_test_id("photo-preview").locator("img").wait_for(timeout=STEP_TIMEOUT_MS)
    await page.get_by_test_id("resolve-note").fill("更换感应线，复测正常")
    await page.get_by_test_id("order-resolve").click()
    await page.locator('[data-testid=order-status][data-status="resolved"]').wait_for(timeout=STEP_TIMEOUT_MS)
    done = await status()
    assert (done["status"], done["note"], done["photo"]) == ("resolved", "更换感应线，复测正常", True)
    assert [e["kind"] for e in done["events"]][-4:] == ["acknowledge", "start", "photo", "resolve"]
    stored = await served.client.get(f"/api/workorders/{order_id}/photo")
    assert stored.status_code == 200 and stored.content == photo  # small enough: sent as taken
    await page.get_by_test_id("order-photo").wait_for(timeout=STEP_TIMEOUT_MS)
    layout = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert layout[0] <= layout[1], f"the page is wider than the phone: {layout}"
    await served.shot(page, "maintenance_390_resolved.png")
    assert errors == []


async def test_todays_round_is_recorded_and_a_fault_opens_a_repair_order(served: Served) -> None:
    page, errors = await served.page(Role.MAINTENANCE, "/maintenance", PHONE)
    await page.wait_for_function(READY, timeout=READY_TIMEOUT_MS)
    await page.locator('[data-testid=segments] [data-tab="round"]').click()
    run = page.get_by_test_id("round-run").first
    await run.wait_for(timeout=STEP_TIMEOUT_MS)
    run_id = int(await run.get_attribute("data-run") or 0)
    await run.locator('li[data-item="1"] button[data-result="ok"]').click()
    await run.locator('li[data-item="1"][data-result="ok"]').wait_for(timeout=STEP_TIMEOUT_MS)
    await run.locator('li[data-item="2"] button[data-result="fail"]').click()
    await page.get_by_test_id("round-note").fill("感应线破损")
    # A work order changing anywhere redraws the rounds (here the page's own refresh, as a stream frame would):
    # the note being typed keeps its text and its focus (in a loaded test run it was lost, and Enter saved nothing).
    await page.evaluate("window.hallMaintenance.refresh('stream')")
    note = page.get_by_test_id("round-note")
    assert await note.input_value() == "感应线破损"
    assert await note.evaluate("(input) => document.activeElement === input")
    await note.press("Enter")
    await page.locator('[data-testid=round-message]', has_text="#").wait_for(timeout=STEP_TIMEOUT_MS)
    response = await served.client.get(f"/api/rounds/{run_id}")
    items = {item["n"]: item for item in response.json()["items"]}
    assert (items[1]["result"], items[1]["by"]) == ("ok", "maintenance")
    assert (items[2]["result"], items[2]["note"]) == ("fail", "感应线破损") and items[2]["work_order"]
    await served.shot(page, "maintenance_390_round.png")

    # On a desk: the list and the order side by side, in English.
    await page.set_viewport_size(DESK)
    await page.locator('[data-testid=segments] [data-tab="open"]').click()
    await page.get_by_test_id("order-card").first.click()
    await page.get_by_test_id("order-title").wait_for(timeout=STEP_TIMEOUT_MS)
    await page.get_by_test_id("lang-toggle").click()
    await page.wait_for_function("document.querySelector('h1').textContent === 'Maintenance'", timeout=STEP_TIMEOUT_MS)
    assert await page.get_by_test_id("cards").is_visible() and await page.get_by_test_id("order-detail").is_visible()
    await served.shot(page, "maintenance_1366.png")
    assert errors == []


async def test_pages_by_role_and_the_refusal_of_the_others(served: Served) -> None:
    """Every role's navigation lists exactly the pages PAGES gives it; both pages are served to anyone (the page
    and the API decide), and a role that may not use one is told so instead of a broken page."""
    expected = {
        Role.ADMIN: {"twin", "security", "maintenance", "visitor"},
        Role.FACILITY: {"twin", "maintenance", "visitor"},
        Role.SECURITY: {"twin", "security", "visitor"},
        Role.MAINTENANCE: {"twin", "maintenance", "visitor"},
        Role.MANAGER: {"twin", "visitor"},
    }
    assert {page.id for page in PAGES} >= {"security", "maintenance"}
    for role, pages in expected.items():
        headers = await staff_headers(served.runtime, served.client, role)
        me = (await served.client.get("/api/auth/me", headers=headers)).json()
        assert {page["id"] for page in me["pages"]} >= pages and {p["id"] for p in me["pages"]} & {
            "security", "maintenance"
        } == pages & {"security", "maintenance"}, (role, me["pages"])
    async with httpx.AsyncClient(base_url=served.url, timeout=10.0) as anonymous:
        for path in ("/security", "/maintenance"):
            response = await anonymous.get(path)
            assert response.status_code == 200 and "<main" in response.text, path

    for role, path, ready in (
        (Role.SECURITY, "/maintenance", READY),
        (Role.MANAGER, "/security", "window.hallSecurity && window.hallSecurity.state !== 'loading'"),
    ):
        page, errors = await served.page(role, path, DESK)
        await page.wait_for_function(ready, timeout=READY_TIMEOUT_MS)
        refusal = page.get_by_test_id("refusal")
        assert await refusal.is_visible(), (role, path)
        assert "数字孪生" in await refusal.inner_text()  # the pages the role has instead
        assert errors == []
    # Not logged in: the page sends the user to the login, which comes back here.
    context = await served.browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.goto(served.url + "/maintenance?device=env-ctl")
    await page.wait_for_url("**/login?next=*", timeout=STEP_TIMEOUT_MS)
    assert "next=%2Fmaintenance%3Fdevice%3Denv-ctl" in page.url


async def test_the_page_follows_orders_and_pages_from_the_live_stream(served: Served) -> None:
    """Another user creates and assigns orders, and an order becomes overdue: the open page shows each without a
    reload, brought by the /ws frames (not by its 15 s fallback refresh); the facility user's page lists the page
    for the overdue order, whose link opens it."""
    page, errors = await served.page(Role.MAINTENANCE, "/maintenance", PHONE)
    await page.wait_for_function(READY, timeout=READY_TIMEOUT_MS)
    await page.wait_for_function("window.hallMaintenance.stream.connected", timeout=STEP_TIMEOUT_MS)
    await page.evaluate("window.notReloaded = true")
    title = {"zh": "空调滤网更换", "en": "Replace the AC filter"}
    body = {"title": title, "priority": "medium", "assignee": "maintenance"}
    mine = (await served.client.post("/api/workorders", json=body)).json()

    async def shown(order_id: int, tab: str) -> str:
        handle = await page.wait_for_function(
            f"""(() => {{ const m = window.hallMaintenance;
                return m.lists.{tab}.some((o) => o.id === {order_id}) && m.lastRefresh; }})()""",
            timeout=5_000,
        )
        cause: str = await handle.json_value()
        return cause

    assert await shown(mine["id"], "mine") == "stream"
    await page.locator("[data-testid=segments] [data-tab=mine]").click()
    await page.locator(f'[data-testid=order-card][data-order="{mine["id"]}"]').wait_for(timeout=STEP_TIMEOUT_MS)
    # Every change in the hall refreshes the lists: an unchanged card stays the same element, so a tap lands.
    kept = await page.evaluate(KEPT_CARD, mine["id"])
    assert kept, "a refresh rebuilt the card of an order that did not change"
    to_take = (await served.client.post("/api/workorders", json={**body, "assignee": None})).json()
    assert await shown(to_take["id"], "open") == "stream"
    assigned = await served.client.post(f"/api/workorders/{to_take['id']}/assign", json={"assignee": "maintenance"})
    assert assigned.status_code == 200, assigned.text
    assert await shown(to_take["id"], "mine") == "stream"
    await page.locator(f'[data-testid=order-card][data-order="{to_take["id"]}"]').wait_for(timeout=STEP_TIMEOUT_MS)
    assert await page.evaluate("window.notReloaded && window.hallMaintenance.stream.frames >= 3")
    await served.shot(page, "maintenance_390_live.png")
    assert errors == []

    # Overdue: the escalation pages the facility role (the default of workorders.escalate_to).
    desk, desk_errors = await served.page(Role.FACILITY, "/maintenance", DESK)
    await desk.wait_for_function(READY, timeout=READY_TIMEOUT_MS)
    await desk.wait_for_function("window.hallMaintenance.stream.connected", timeout=STEP_TIMEOUT_MS)
    services = served.runtime.followup
    assert services is not None
    late, _ = await services.workorders.create(SYSTEM, NewWorkOrder(
        title={"zh": "消防水泵巡检逾期", "en": "Fire pump check overdue"}, priority="high", source="manual",
        due_at=served.runtime.clock.time() - 1.0, created_by="system",
    ))  # fmt: skip
    await services.workorders.escalate()
    item = desk.locator(f'[data-testid=page-order][href="/maintenance?order={late.id}"]')
    await item.wait_for(timeout=5_000)
    assert await item.inner_text() == f"#{late.id} 消防水泵巡检逾期"
    assert await desk.locator("[data-testid=pages] .page-reason").first.inner_text() == "工单逾期"
    await served.shot(desk, "maintenance_1366_page.png")
    await item.click()
    await desk.get_by_test_id("order-title").filter(has_text=f"#{late.id}").wait_for(timeout=STEP_TIMEOUT_MS)
    await desk.locator(f'[data-testid=page]:has([href="/maintenance?order={late.id}"]) [data-testid=page-ack]').click()
    await item.wait_for(state="detached", timeout=STEP_TIMEOUT_MS)
    [stored] = [p for p in (await served.client.get("/api/pages")).json() if p["work_order_id"] == late.id]
    assert stored["acked_by"] == "facility"
    assert desk_errors == []
