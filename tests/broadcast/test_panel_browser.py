"""The security desk's broadcast panel in headless Chromium: live zone states, a page started and stopped from the
panel, a refusal shown with the server's reason, Chinese first with the English switch; screenshots."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from api.runtime import HallRuntime
from broadcast.simulator import SpeakerSimulator
from tests.api.auth_helpers import browser_cookies
from tests.api.server import keep_screenshot, running_app
from tests.broadcast.conftest import needs
from tests.broadcast.helpers import write_site
from twin.site.loader import load_site

pytestmark = pytest.mark.browser
STEP_MS = 15_000

MOUNT = """async () => {
  const { I18n } = await import('/src/i18n.js');
  const { mountBroadcastPanel, BROADCAST_BUNDLE } = await import('/src/broadcast_panel.js');
  for (const href of ['/style.css', '/broadcast_panel.css']) {
    const link = document.createElement('link'); link.rel = 'stylesheet'; link.href = href; document.head.append(link);
  }
  document.body.replaceChildren();
  document.body.style.cssText = 'background:#151a21;color:#e6e9ee;padding:16px;font-family:sans-serif';
  const slot = document.createElement('section'); slot.style.width = '520px'; document.body.append(slot);
  const i18n = new I18n([BROADCAST_BUNDLE]);
  await i18n.load('zh');
  window.i18n = i18n;
  window.panel = mountBroadcastPanel(slot, { i18n });
  await window.panel.ready;
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onmessage = (event) => window.panel.update(JSON.parse(event.data));
  // Open before the test acts: a speaker's confirmation that lands after the panel's refresh comes only over /ws
  // (a loaded CI machine once opened the socket after it, and the panel never showed 1/1).
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
}"""


@needs("espeak-ng")
async def test_panel_pages_and_stops_with_live_states(tmp_path: Path, browser: Any) -> None:
    sims = {name: SpeakerSimulator(name) for name in ("spk-1", "spk-2")}
    for sim in sims.values():
        await sim.start()
    rtp = {n: {"type": "rtp", "host": "127.0.0.1", "port": s.rtp_port} for n, s in sims.items()}
    site_path = write_site(tmp_path, {"pa-a": [("spk-1", rtp["spk-1"])], "pa-b": [("spk-2", rtp["spk-2"])]})
    runtime = HallRuntime(load_site(site_path, guid_index=None), site_path, tmp_path / "data", poll_devices=False)
    try:
        async with running_app(runtime) as base:
            context = await browser.new_context(viewport={"width": 560, "height": 640})
            await context.add_cookies(await browser_cookies(runtime, base, "facility"))
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(base + "/i18n/zh.json")
            await page.evaluate(MOUNT)
            zone_a = page.get_by_test_id("bc-zone-pa-a")
            assert "空闲" in await zone_a.inner_text()
            await page.get_by_test_id("bc-start").click()  # no zone selected: said so, nothing sent
            assert await page.get_by_test_id("bc-status").inner_text() == "请先选择广播分区"
            await page.get_by_test_id("bc-select-pa-a").check()
            await page.get_by_test_id("bc-message").select_option("closing")
            # The panel's GET after the start is answered late, with a state older than the /ws frames that follow
            # (as a slow answer computed before the speaker's confirmation would be): the panel keeps the newest.
            stale = await page.evaluate("fetch('/api/broadcast').then((r) => r.text())")
            release = asyncio.Event()
            answered = asyncio.Event()

            async def answer_late(route: Any) -> None:
                if route.request.method != "GET":
                    await route.continue_()
                    return
                await release.wait()
                await route.fulfill(status=200, content_type="application/json", body=stale)
                answered.set()

            await page.route("**/api/broadcast", answer_late)
            await page.get_by_test_id("bc-start").click()
            await page.wait_for_function(
                "document.querySelector('[data-testid=bc-zone-pa-a]').dataset.kind === 'page'", timeout=STEP_MS
            )
            try:  # once in a loaded suite run this took over 15 s: the speaker's report or the page's frame?
                await page.wait_for_function(
                    "document.querySelector('[data-testid=bc-zone-pa-a] .bc-speakers').dataset.ok === 'true'"
                    " && document.querySelector('[data-testid=bc-zone-pa-a] .bc-speakers').textContent.includes('1/1')",
                    timeout=3 * STEP_MS,
                )
            except Exception as missed:
                raise AssertionError(await _unconfirmed(runtime, sims, zone_a)) from missed
            release.set()
            await asyncio.wait_for(answered.wait(), STEP_MS / 1000)
            await page.unroute("**/api/broadcast")
            await page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 200))")  # the late answer applied
            assert "1/1" in await zone_a.inner_text(), "an older state replaced the confirmed one"
            assert "人工广播" in await zone_a.inner_text() and "facility" in await zone_a.inner_text()
            assert sims["spk-1"].playing() and not sims["spk-2"].playing()
            await _shot(page, tmp_path, "broadcast-panel-zh-560.png")
            # An emergency from the facility role: refused, with the server's reason shown.
            await page.get_by_test_id("bc-kind").select_option("emergency")
            await page.get_by_test_id("bc-start").click()
            await page.wait_for_function(
                "document.querySelector('[data-testid=bc-status]').dataset.bad === 'true'", timeout=STEP_MS
            )
            refusal = await page.get_by_test_id("bc-status").inner_text()
            assert refusal == "仅安保人员可以发起或停止紧急广播和火灾疏散广播"
            await page.evaluate("window.i18n.load('en')")
            assert "Manual page" in await zone_a.inner_text()
            assert (await page.get_by_test_id("bc-status").inner_text()).startswith("Only security staff")
            await _shot(page, tmp_path, "broadcast-panel-en-560.png")
            await page.get_by_test_id("bc-stop-pa-a").click()
            await page.wait_for_function(
                "document.querySelector('[data-testid=bc-zone-pa-a]').dataset.kind === 'idle'", timeout=STEP_MS
            )
            assert errors == []
            await context.close()
    finally:
        for sim in sims.values():
            await sim.stop()


async def _unconfirmed(runtime: HallRuntime, sims: dict[str, SpeakerSimulator], zone: Any) -> str:
    """What the page, the server and the speakers had when a confirmation did not show: which one was late."""
    assert runtime.broadcast is not None
    service = runtime.broadcast.service
    server = [z for z in service.zone_states() if z["zone"] == "pa-a"]
    streams = {zone: (s.ssrc, s.packets, s.ended) for zone, s in service.sender.streams.items()}
    sender = (service.sender.port, service.sender.reports_received, service.sender.reports_unmatched)
    confirmed = {b.id: dict(b.confirmed) for b in service.active.values()}
    heard = {
        name: [(r.ssrc, r.source, r.packets, r.reports, round(r.first_at, 2)) for r in sim.receptions]
        for name, sim in sims.items()
    }
    return (
        f"spk-1 unconfirmed: page {await zone.inner_text()!r}; server {server}; active {confirmed}; "
        f"streams {streams}; sender (port, reports, unmatched) {sender}; speakers (ssrc, source, packets, "
        f"reports, first) {heard}"
    )


async def _shot(page: Any, folder: Path, name: str) -> None:
    path = folder / name
    await page.screenshot(path=str(path))
    keep_screenshot(path)
    if os.environ.get("H9_SHOTS"):
        path.rename(Path(os.environ["H9_SHOTS"]) / name)
