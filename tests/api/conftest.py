"""Fixtures of the API and viewer tests: sites on real IFC models, a served app, headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.server import CHROMIUM_ARGS, FZK_IFC, chromium_executable, write_fzk_site


@pytest.fixture
def fzk_site(tmp_path: Path) -> Path:
    if not FZK_IFC.is_file():
        pytest.skip(f"{FZK_IFC} is not present (../shared)")
    return write_fzk_site(tmp_path)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A conversion cache shared by the tests of one run: each IFC is converted once, not once per test."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    """A headless Chromium (playwright async API) with software WebGL. Playwright gives every launch a fresh
    temporary profile (user-data-dir) and deletes it on close."""
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


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where a test saves its screenshots (see server.keep_screenshot for $HALLTWIN_SCREENSHOTS)."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder
