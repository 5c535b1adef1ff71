"""/docs works with no internet: Swagger UI's page, script and styles come from this server only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.server import keep_screenshot, make_runtime, running_app, write_fzk_site

EXTERNAL_URL = re.compile(r"(?:https?:)?//[a-z0-9.-]+", re.IGNORECASE)


@pytest.fixture
async def base_url(tmp_path: Path) -> Any:
    runtime = make_runtime(write_fzk_site(tmp_path), tmp_path / "data", check_guids=False)
    async with running_app(runtime) as url:
        yield url


async def test_docs_page_and_its_assets_are_served_locally(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        page = await client.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        assert EXTERNAL_URL.findall(html) == [], "the /docs page names a host: it would not load offline"
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        assert sorted(Path(a).name for a in assets) == ["favicon.png", "swagger-ui-bundle.js", "swagger-ui.css"]
        kinds = {}
        for asset in assets:
            response = await client.get(asset)
            assert response.status_code == 200, asset
            kinds[Path(asset).suffix] = (response.headers["content-type"], len(response.content))
        assert kinds[".js"][0].startswith(("text/javascript", "application/javascript"))
        assert kinds[".js"][1] > 500_000  # the real bundle (about 1.4 MB), not a placeholder
        assert kinds[".css"][0].startswith("text/css")
        assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io
        assert (await client.get("/openapi.json")).json()["info"]["title"] == "HallTwin"
        assert (await client.get("/redoc")).status_code == 404  # FastAPI's ReDoc page would load from a CDN


@pytest.mark.browser
async def test_swagger_ui_renders_the_api_without_leaving_the_server(
    base_url: str, browser: Any, screenshot_dir: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(base_url + "/docs")
    await page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = await page.eval_on_selector_all(".opblock-summary-path", "nodes => nodes.map(n => n.dataset.path)")
    assert "/api/points/{point_id}/history" in paths and "/api/zones" in paths
    shot = screenshot_dir / "docs-offline-1280.png"
    await page.screenshot(path=str(shot))
    keep_screenshot(shot)
    origin = urlsplit(base_url).netloc
    foreign = [url for url in requested if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != origin]
    assert foreign == [], f"Swagger UI fetched from other hosts: {foreign}"
    assert any(url.endswith("/docs/assets/swagger-ui-bundle.js") for url in requested)
