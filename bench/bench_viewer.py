"""The twin in headless Chromium (software WebGL): frame time while orbiting and picking time on a storey view of
the demo hall and Duplex_A, with the section/plan features and BVH picking on, against the same scene with them
off (no section, no marker spreading, three.js's own raycast), one run.

Then merged static geometry (batches.js): the overview and a storey view drawn with the building parts merged per
storey and material, against the same view drawn per element, with the draw calls of each."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tests.api.auth_helpers import browser_cookies
from tests.api.server import CHROMIUM_ARGS, chromium_executable, make_runtime, running_app

REPO = Path(__file__).resolve().parent.parent
DUPLEX_IFC = REPO.parent / "shared" / "ifc" / "Duplex_A_20110907.ifc"
FRAMES = 40
PICK_STEP_PX = 40

# In the page: orbit the camera one turn around the target, drawing each frame; then pick over a grid.
MEASURE = """async ([frames, step]) => {
  const t = window.hallTwin; const stage = t.stage; const target = stage.controls.target;
  const offset = stage.camera.position.clone().sub(target);
  const radius = Math.hypot(offset.x, offset.z);
  const times = [];
  for (let i = 0; i < frames; i += 1) {
    const angle = (2 * Math.PI * i) / frames;
    const y = stage.camera.position.y;
    stage.camera.position.set(target.x + radius * Math.sin(angle), y, target.z + radius * Math.cos(angle));
    stage.camera.lookAt(target);
    const start = performance.now();
    stage.renderNow();
    stage.renderer.getContext().finish();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const pickStart = performance.now();
  const picked = t.sampleGrid(step);
  const pickMs = performance.now() - pickStart;
  const rect = stage.renderer.domElement.getBoundingClientRect();
  const picks = Math.ceil(rect.width / step) * Math.ceil(rect.height / step);
  const frameMedian = times[Math.floor(times.length / 2)];
  return { frameMedian, pickMs: pickMs / picks, rooms: Object.keys(picked).length };
}"""


# In the page: orbit frames of the current view drawn per element (merged batches off), then with the static
# building parts drawn merged per storey and material (batches.js, the viewer's default); median frame time
# (the drawing alone) and draw calls of each.
MERGED = """async ([frames]) => {
  const t = window.hallTwin; const stage = t.stage; const renderer = stage.renderer;
  const orbit = () => {
    const target = stage.controls.target;
    const start = stage.camera.position.clone();
    const offset = start.clone().sub(target);
    const radius = Math.hypot(offset.x, offset.z);
    const times = []; let calls = 0;
    for (let i = 0; i < frames; i += 1) {
      const angle = (2 * Math.PI * i) / frames;
      stage.camera.position.set(target.x + radius * Math.sin(angle), start.y, target.z + radius * Math.cos(angle));
      stage.camera.lookAt(target);
      stage.camera.updateMatrixWorld();
      const begin = performance.now();
      renderer.render(stage.scene, stage.camera); // the drawing alone: markers and labels are the same either way
      renderer.getContext().finish();
      times.push(performance.now() - begin);
      calls = Math.max(calls, renderer.info.render.calls);
    }
    stage.camera.position.copy(start);
    times.sort((a, b) => a - b);
    return { frameMedian: times[Math.floor(times.length / 2)], calls };
  };
  const result = { meshes: 0, batches: t.batches.batches.length };
  t.model.root.traverseVisible((o) => { if (o.isMesh) result.meshes += 1; });
  for (const on of [false, true]) {
    t.batches.setEnabled(on);
    renderer.render(stage.scene, stage.camera); // compile
    result[on ? 'merged' : 'perElement'] = orbit();
  }
  stage.renderNow();
  return result;
}"""


def _duplex_site(folder: Path) -> Path:
    site = {"site": {"id": "bench-duplex", "name": {"zh": "Duplex", "en": "Duplex"}, "ifc": str(DUPLEX_IFC)}}
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site), encoding="utf-8")
    return path


async def _measure(browser: Any, site_path: Path, folder: Path, label: str) -> None:
    runtime = make_runtime(site_path, folder / "data", cache_dir=folder / "cache")
    async with running_app(runtime) as url:
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        await context.add_cookies(await browser_cookies(runtime, url))
        page = await context.new_page()
        await page.goto(url + "/")
        await page.wait_for_function("window.hallTwin && window.hallTwin.state !== 'loading'", timeout=180_000)
        storey = (await page.evaluate("window.hallTwin.viewStoreys()"))[0]["guid"]
        await page.evaluate("(g) => window.hallTwin.showStorey(g, false)", storey)
        results = {}
        for features in (True, False):
            await page.evaluate("(on) => window.hallTwin.setSectionFeatures(on)", features)
            await page.evaluate("window.hallTwin.stage.renderNow()")  # compile the shaders of this variant
            results[features] = await page.evaluate(MEASURE, [FRAMES, PICK_STEP_PX])
        on, off = results[True], results[False]
        await page.evaluate("window.hallTwin.setSectionFeatures(true)")
        await page.evaluate("window.hallTwin.showStorey('all', false)")
        overview = await page.evaluate(MERGED, [FRAMES])
        await page.evaluate("(g) => window.hallTwin.showStorey(g, false)", storey)
        storey_view = await page.evaluate(MERGED, [FRAMES])
        print(
            f"{label}: frame while orbiting {on['frameMedian']:.1f} ms with section/plan features, "
            f"{off['frameMedian']:.1f} ms without (ratio {on['frameMedian'] / off['frameMedian']:.2f}); "
            f"pick {on['pickMs']:.2f} ms with them (BVH, room by footprint) vs {off['pickMs']:.2f} ms without "
            f"(ratio {on['pickMs'] / off['pickMs']:.2f}); rooms hit {on['rooms']} vs {off['rooms']}",
            flush=True,
        )
        for view, merge in (("overview", overview), ("storey view", storey_view)):
            each, merged = merge["perElement"], merge["merged"]
            print(
                f"{label} {view}: {merge['meshes']} meshes drawn per element {each['calls']} draw calls "
                f"{each['frameMedian']:.1f} ms/frame; with {merge['batches']} merged batches "
                f"{merged['calls']} draw calls "
                f"{merged['frameMedian']:.1f} ms/frame (ratio {merged['frameMedian'] / each['frameMedian']:.2f})",
                flush=True,
            )
        await context.close()


async def _run() -> None:
    executable = chromium_executable()
    if executable is None:
        print("chromium is not installed: skipped")
        return
    from playwright.async_api import async_playwright

    from bim_models.demo_hall import ensure_demo_hall

    await asyncio.to_thread(ensure_demo_hall)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                await _measure(browser, REPO / "bim_models" / "site.yaml", Path(tmp) / "demo", "demo hall")
                if DUPLEX_IFC.is_file():
                    folder = Path(tmp) / "duplex"
                    folder.mkdir()
                    await _measure(browser, _duplex_site(folder), folder, "Duplex_A")
        finally:
            await browser.close()


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
