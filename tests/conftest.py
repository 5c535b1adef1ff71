"""Fixtures shared by every test package: the shared data folder and leftover-task detection; the xdist scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.peers import SHARED
from tests.scheduling import ModulesAndDemoBrowsers


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> ModulesAndDemoBrowsers | None:
    """Ours in place of ``--dist loadfile`` (tests/scheduling.py); xdist's own for any other mode."""
    return ModulesAndDemoBrowsers(config, log) if config.getvalue("dist") == "loadfile" else None


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the repository; tests that need it skip cleanly without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture(autouse=True)
async def no_leftover_tasks() -> AsyncIterator[None]:
    """House rule 2: every background task is owned and awaited; a test that leaves one running fails."""
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0)
    leftovers = [t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()]
    names = sorted(t.get_name() for t in leftovers)
    for task in leftovers:
        task.cancel()
    assert not leftovers, f"background tasks left running: {names}"
