"""The store's tests run twice: on a SQLite file and on a fresh PostgreSQL database (skipped if none runs)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from store import Store
from tests.store.pg import pg_unavailable, temporary_database
from twin.clock import ManualClock


@pytest.fixture(scope="session")
def pg_skip_reason() -> str | None:
    return pg_unavailable()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_skip_reason: str | None) -> Iterator[str]:
    """An empty database of each kind, as a user would type its URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    if pg_skip_reason:
        pytest.skip(pg_skip_reason)
    with temporary_database() as url:
        yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def store(db_url: str, clock: ManualClock) -> AsyncIterator[Store]:
    opened = await Store.open(db_url, clock=clock)
    try:
        yield opened
    finally:
        await opened.close()
