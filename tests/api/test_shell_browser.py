"""The web app shell in headless Chromium against the real app on the demo hall: the login page, the shared
header with each role's navigation, logout, a session ended on the server, and the public visitor page."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI

from api import access
from api.app import create_app
from api.auth import COOKIE_NAME, AuthSettings
from api.runtime import HallRuntime
from bim_models.demo_hall import SITE_PATH, ensure_demo_hall
from store import Role
from tests.api.auth_helpers import create_user
from tests.api.server import keep_screenshot, running_app
from tests.peers import REPO_ROOT
from twin.site.loader import load_site

pytestmark = pytest.mark.browser

PASSWORD = "demo"  # what `halltwin demo` gives every demo account by default
READY_TIMEOUT_MS = 90_000  # the first load converts the IFC, and SwiftShader compiles shaders on two busy cores
STEP_TIMEOUT_MS = 15_000
DESKTOP = {"width": 1920, "height": 1080}
KIOSK = {"width": 1080, "height": 1920}
PHONE = {"width": 390, "height": 844}
ZH = json.loads((REPO_ROOT / "web_viewer" / "i18n" / "zh.json").read_text(encoding="utf-8"))
EN = json.loads((REPO_ROOT / "web_viewer" / "i18n" / "en.json").read_text(encoding="utf-8"))


@dataclass
class Hall:
    url: str
    app: FastAPI
    runtime: HallRuntime
    shots: Path

    async def page(self, browser: Any, viewport: dict[str, int] = DESKTOP) -> Any:
        """A page in a fresh browser context (no cookies), its uncaught errors collected in ``page.errors``."""
        context = await browser.new_context(viewport=viewport)
        page = await context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    async def shot(self, page: Any, name: str) -> None:
        path = self.shots / name
        await page.screenshot(path=str(path))
        keep_screenshot(path)


@pytest.fixture
async def hall(tmp_path: Path, model_cache: Path, screenshot_dir: Path) -> AsyncIterator[Hall]:
    """The demo hall's API and pages (no device polled: the shell needs accounts, not live values), with one
    account per role named after it, as `halltwin demo` creates them."""
    ensure_demo_hall()
    runtime = HallRuntime(load_site(SITE_PATH), SITE_PATH, tmp_path / "data", poll_devices=False)
    runtime.cache_dir = model_cache
    app = create_app(runtime)
    async with running_app(runtime, app) as url:
        for role in Role:
            await create_user(runtime.store, role.value, role, PASSWORD)
        yield Hall(url, app, runtime, screenshot_dir)


async def login_page(page: Any) -> None:
    """Wait until the login page can be used (or shows an error of a previous try)."""
    await page.wait_for_function(
        "window.hallLogin && ['ready', 'error'].includes(window.hallLogin.state)", timeout=STEP_TIMEOUT_MS
    )


async def log_in(page: Any, name: str, password: str = PASSWORD) -> None:
    await login_page(page)
    await page.get_by_test_id("username").fill(name)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("login-submit").click()


async def shell_ready(page: Any) -> dict[str, Any]:
    await page.wait_for_function("window.hallShell && window.hallShell.state === 'ready'", timeout=READY_TIMEOUT_MS)
    me: dict[str, Any] = await page.evaluate("window.hallShell.me")
    return me


async def test_each_demo_user_logs_in_and_sees_the_navigation_of_their_role(hall: Hall, browser: Any) -> None:
    for role in Role:
        page = await hall.page(browser)
        await page.goto(hall.url + "/")  # the twin is for staff: the page sends us to log in first
        await page.wait_for_url("**/login?reason=required", timeout=STEP_TIMEOUT_MS)
        await login_page(page)
        assert await page.get_by_test_id("login-reason").inner_text() == ZH["login.required"]
        if role is Role.ADMIN:
            await page.get_by_test_id("username").wait_for()
            await hall.shot(page, "login-desktop-1920.png")
        await log_in(page, role.value)
        await page.wait_for_url(hall.url + "/", timeout=STEP_TIMEOUT_MS)
        me = await shell_ready(page)
        expected = [p.id for p in access.PAGES if p.allows(role)]
        shown = await page.eval_on_selector_all(".shell-nav a", "links => links.map(a => a.dataset.page)")
        assert shown == expected, f"{role.value}: navigation {shown}, the role may use {expected}"
        assert [p["id"] for p in me["pages"]] == expected
        current = await page.eval_on_selector_all(
            ".shell-nav a[aria-current=page]", "as => as.map(a => a.dataset.page)"
        )
        assert current == ["twin"]
        assert await page.get_by_test_id("user-name").inner_text() == role.value
        assert await page.get_by_test_id("user-role").inner_text() == ZH[f"role.{role.value}"]
        assert await page.get_by_test_id("hall-name").inner_text() == hall.runtime.site.site.name.zh
        if role is Role.ADMIN:
            # The whole page once the building is in: the header must fit beside the twin's own controls.
            await page.wait_for_function(
                "window.hallTwin && window.hallTwin.state !== 'loading'", timeout=READY_TIMEOUT_MS
            )
            assert await page.evaluate("window.hallTwin.state") == "ready"
            await hall.shot(page, "shell-twin-desktop-1920.png")
            await page.get_by_test_id("lang-toggle").click()
            await page.wait_for_function("document.documentElement.lang === 'en'", timeout=STEP_TIMEOUT_MS)
            assert await page.get_by_test_id("user-role").inner_text() == EN["role.admin"]
            assert await page.get_by_test_id("logout").inner_text() == EN["shell.logout"]
            await hall.shot(page, "shell-twin-desktop-1920-en.png")
            await page.get_by_test_id("lang-toggle").click()
            await page.wait_for_function("document.documentElement.lang === 'zh-CN'", timeout=STEP_TIMEOUT_MS)
        assert page.errors == [], page.errors
        await page.context.close()


async def test_a_wrong_password_and_a_lockout_are_told_clearly(hall: Hall, browser: Any) -> None:
    page = await hall.page(browser)
    await page.goto(hall.url + "/login")
    await log_in(page, "facility", "not-the-password")
    error = page.get_by_test_id("login-error")
    await page.wait_for_function("window.hallLogin.state === 'error'", timeout=STEP_TIMEOUT_MS)
    assert await error.get_attribute("data-error") == "login.failed"
    assert await error.inner_text() == ZH["login.failed"]
    assert await page.get_by_test_id("password").input_value() == ""  # typed again, not resent
    await hall.shot(page, "login-wrong-password-desktop-1920.png")
    # Four more wrong passwords lock the account (5 per user in the window); the next try is told how long.
    settings = hall.runtime.auth
    for _ in range(settings.max_failures_per_user):
        await log_in(page, "facility", "still-wrong")
        await page.wait_for_function("window.hallLogin.state === 'error'", timeout=STEP_TIMEOUT_MS)
    assert await error.get_attribute("data-error") == "login.locked"
    text = await error.inner_text()
    assert text.startswith(ZH["login.locked"].split("{")[0]) and "too many failed logins for user 'facility'" in text
    await hall.shot(page, "login-locked-desktop-1920.png")
    await log_in(page, "facility", PASSWORD)  # the right password does not open a locked account
    await page.wait_for_function("window.hallLogin.state === 'error'", timeout=STEP_TIMEOUT_MS)
    assert await error.get_attribute("data-error") == "login.locked"
    assert page.url.endswith("/login")
    assert page.errors == [], page.errors


async def test_the_demo_accounts_notice_shows_only_in_the_demo(hall: Hall, browser: Any) -> None:
    page = await hall.page(browser)
    await page.goto(hall.url + "/login")
    await page.wait_for_function("window.hallLogin.state === 'ready'", timeout=STEP_TIMEOUT_MS)
    assert await page.get_by_test_id("demo-accounts").is_hidden()
    hall.app.state.demo = True  # what `halltwin demo` sets
    await page.reload()
    await page.wait_for_function("window.hallLogin.state === 'ready'", timeout=STEP_TIMEOUT_MS)
    notice = page.get_by_test_id("demo-accounts")
    assert await notice.is_visible()
    users = await page.eval_on_selector_all(".demo-users button", "bs => bs.map(b => b.dataset.user)")
    assert users == [role.value for role in Role]
    await page.locator(".demo-users button[data-user=security]").click()  # fills the name in
    assert await page.get_by_test_id("username").input_value() == "security"
    await hall.shot(page, "login-demo-desktop-1920.png")
    for name, viewport in (("kiosk-1080x1920", KIOSK), ("phone-390x844", PHONE)):
        small = await hall.page(browser, viewport)
        await small.goto(hall.url + "/login")
        await small.wait_for_function("window.hallLogin.state === 'ready'", timeout=STEP_TIMEOUT_MS)
        await hall.shot(small, f"login-demo-{name}.png")
        width = await small.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the login page is {width} px wide on a {viewport['width']} px screen"
        await small.context.close()


async def test_logout_returns_to_login_and_ends_the_session(hall: Hall, browser: Any) -> None:
    page = await hall.page(browser)
    await page.goto(hall.url + "/login?next=%2F")
    await log_in(page, "maintenance")
    await shell_ready(page)
    await page.get_by_test_id("logout").click()
    await page.wait_for_url("**/login?reason=logged_out", timeout=STEP_TIMEOUT_MS)
    await login_page(page)
    assert await page.get_by_test_id("login-reason").inner_text() == ZH["login.logged_out"]
    status = await page.evaluate("fetch('/api/auth/me').then(r => r.status)")
    assert status == 401  # the cookie is gone and the session with it
    await page.goto(hall.url + "/")
    await page.wait_for_url("**/login?reason=required", timeout=STEP_TIMEOUT_MS)


async def test_an_expired_session_sends_the_user_to_login(
    tmp_path: Path, model_cache: Path, browser: Any, screenshot_dir: Path
) -> None:
    """A session that runs out while the page is open (here after 20 s) ends on its own: no click needed."""
    ensure_demo_hall()
    runtime = HallRuntime(
        load_site(SITE_PATH), SITE_PATH, tmp_path / "data", poll_devices=False, auth=AuthSettings(session_ttl_s=20)
    )
    runtime.cache_dir = model_cache
    app = create_app(runtime)
    async with running_app(runtime, app) as url:
        await create_user(runtime.store, "facility", Role.FACILITY, PASSWORD)
        hall = Hall(url, app, runtime, screenshot_dir)
        page = await hall.page(browser)
        await page.goto(url + "/login")
        await log_in(page, "facility")
        await shell_ready(page)
        await page.wait_for_url("**/login?reason=session_expired", timeout=45_000)
        await login_page(page)
        assert await page.get_by_test_id("login-reason").inner_text() == ZH["login.session_expired"]
        await hall.shot(page, "login-session-expired-desktop-1920.png")
        assert page.errors == [], page.errors


@pytest.mark.parametrize("next_", ["//127.0.0.2:9/x", "/\\127.0.0.2:9/x", "http://127.0.0.2:9/x", "/login"])
async def test_login_never_sends_the_user_off_this_server(hall: Hall, browser: Any, next_: str) -> None:
    """?next= comes from a link anyone can write: only a path of this server is followed (127.0.0.2 is loopback,
    so a broken check would fail here without any packet leaving the machine)."""
    page = await hall.page(browser)
    await page.goto(hall.url + "/login?next=" + quote(next_, safe=""))
    await log_in(page, "manager")
    await page.wait_for_url(hall.url + "/", timeout=STEP_TIMEOUT_MS)  # the role's first page instead
    await shell_ready(page)


async def test_a_session_ended_on_the_server_sends_the_user_to_login(hall: Hall, browser: Any) -> None:
    page = await hall.page(browser)
    await page.goto(hall.url + "/login?next=%2F%3Fstorey%3Dall")
    await log_in(page, "security")
    await page.wait_for_url(hall.url + "/?storey=all", timeout=STEP_TIMEOUT_MS)  # back to the page asked for
    await shell_ready(page)
    cookie = next(c for c in await page.context.cookies() if c["name"] == COOKIE_NAME)
    assert await hall.runtime.store.sessions.revoke(cookie["value"])  # e.g. an admin disabled the account
    # The user comes back to the tab: the shell checks the session and finds it ended.
    await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    await page.wait_for_url("**/login?next=*&reason=session_ended", timeout=STEP_TIMEOUT_MS)
    await login_page(page)
    assert await page.get_by_test_id("login-reason").inner_text() == ZH["login.session_ended"]
    await hall.shot(page, "login-session-ended-desktop-1920.png")
    await log_in(page, "security")  # and after the next login, back where the user was
    await page.wait_for_url(hall.url + "/?storey=all", timeout=STEP_TIMEOUT_MS)
    await shell_ready(page)
    # Any API call that meets a 401 does the same, here a session that expired between two checks.
    cookie = next(c for c in await page.context.cookies() if c["name"] == COOKIE_NAME)
    await hall.runtime.store.sessions.revoke(cookie["value"])
    try:  # the call is made after evaluate returns: the page leaves for the login page while it runs
        await page.evaluate("setTimeout(() => fetch('/api/points'), 0)")
    except Exception as error:  # the shell's own periodic check found the ended session first: the same outcome
        if "Execution context was destroyed" not in str(error):
            raise
    await page.wait_for_url("**/login?next=*&reason=session_ended", timeout=STEP_TIMEOUT_MS)
    assert page.errors == [], page.errors


@pytest.mark.parametrize(("user", "path", "streaming", "new_role"), [
    ("security", "/security", "window.hallSecurity.live?.status === 'connected'", Role.MAINTENANCE),  # LiveData
    ("maintenance", "/maintenance", "window.hallMaintenance.stream?.connected", Role.SECURITY),  # WorkOrderStream
])
async def test_a_role_changed_on_the_server_reloads_the_page_for_the_new_role(
    hall: Hall, browser: Any, user: str, path: str, streaming: str, new_role: Role
) -> None:
    """The session lives on, but the page and its stream were the old role's: the server closes /ws (4205) at
    once, and the page comes back for the new role, here with the refusal that lists the new role's pages."""
    page = await hall.page(browser)
    await page.goto(hall.url + "/login?next=" + quote(path, safe=""))
    await log_in(page, user)
    await page.wait_for_url(hall.url + path, timeout=STEP_TIMEOUT_MS)
    await shell_ready(page)
    await page.wait_for_function(streaming, timeout=READY_TIMEOUT_MS)
    await page.evaluate("window.beforeRoleChange = true")  # gone once the page has reloaded
    try:
        await hall.runtime.store.users.set_role(user, new_role)
        await page.wait_for_function(
            "window.beforeRoleChange === undefined && document.body.dataset.state === 'refused'",
            timeout=STEP_TIMEOUT_MS,
        )
    finally:
        await hall.runtime.store.users.set_role(user, Role(user))
    me = await page.evaluate("window.hallShell.me")
    assert me["role"] == new_role.value  # the same session: no login asked for
    refusal = await page.get_by_test_id("refusal").inner_text()
    assert all(p["title"]["zh"] in refusal for p in me["pages"]), refusal  # the pages the new role may use
    assert page.errors == [], page.errors


async def test_the_visitor_page_needs_no_login_and_never_reads_points(hall: Hall, browser: Any) -> None:
    zones = {zone.id: zone for zone in hall.runtime.site.zones}
    for name, viewport in (("kiosk-1080x1920", KIOSK), ("phone-390x844", PHONE)):
        page = await hall.page(browser, viewport)
        requested: list[str] = []
        page.on("request", lambda request, seen=requested: seen.append(request.url))
        await page.goto(hall.url + "/visitor")
        await page.wait_for_function(
            "window.hallVisitor && window.hallVisitor.state !== 'loading'", timeout=READY_TIMEOUT_MS
        )
        assert await page.evaluate("[window.hallVisitor.state, window.hallVisitor.error]") == ["ready", None]
        assert page.url == hall.url + "/visitor"  # no login asked for
        assert await page.get_by_test_id("hall-name").inner_text() == hall.runtime.site.site.name.zh
        listed = await page.evaluate("window.hallVisitor.zones()")
        assert sorted(listed) == sorted(zones), "every zone of the site is listed once"
        types = await page.eval_on_selector_all(
            "[data-zone]", "cards => cards.map(c => [c.dataset.zone, c.querySelector('.zone-type').textContent])"
        )
        assert all(label == ZH[f"zone_type.{zones[zone_id].zone_type}"] for zone_id, label in types)
        # Touch-sized: every zone card and floor button at least 44 CSS pixels tall (WCAG 2.5.5).
        heights = await page.eval_on_selector_all(
            ".zone-grid:not(details .zone-grid) .zone, .floors button",
            "nodes => nodes.map(n => n.getBoundingClientRect().height)",
        )
        assert heights and min(heights) >= 44, f"smallest touch target {min(heights):.0f} px"
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the page is {width} px wide on a {viewport['width']} px screen"
        frame = await page.evaluate("window.hallVisitor.readPixels(8)")
        assert len(set(zip(frame["rgb"][0::3], frame["rgb"][1::3], frame["rgb"][2::3], strict=True))) > 50
        await hall.shot(page, f"visitor-{name}.png")
        # A tap on the waiting zone shows it: selected in the list, its floor alone in the model.
        waiting = next(z for z in zones.values() if z.zone_type.value == "waiting")
        await page.locator(f"[data-zone='{waiting.id}']").first.click()
        assert await page.evaluate("window.hallVisitor.selected") == waiting.id
        assert (await page.get_by_test_id("stage-caption").inner_text()).startswith(waiting.name.zh)
        await page.get_by_test_id("whole-hall").wait_for(timeout=STEP_TIMEOUT_MS)
        await page.wait_for_function("!window.hallVisitor.stage.flying", timeout=STEP_TIMEOUT_MS)
        await hall.shot(page, f"visitor-{name}-selected.png")
        # Points are never public, and the page never asked for them.
        assert await page.evaluate("fetch('/api/points').then(r => r.status)") == 401
        assert [url for url in requested if "/api/points" in url] == [hall.url + "/api/points"]  # only ours
        assert page.errors == [], page.errors
        await page.context.close()
