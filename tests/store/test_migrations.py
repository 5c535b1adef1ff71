"""Migrations from an empty database and from the previous revision with data in it; database URLs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store import DatabaseUrlError, Role, Store
from store.engine import create_engine
from store.linkage_log import PageRepository
from store.migrate import current, head_revision, upgrade
from store.url import async_url
from twin.clock import ManualClock


async def test_open_migrates_an_empty_database_to_the_head(db_url: str) -> None:
    store = await Store.open(db_url)
    try:
        assert await store.revision() == head_revision()
        assert await store.users.list() == []
        assert (await store.audit.verify()).ok
    finally:
        await store.close()
    again = await Store.open(db_url)  # opening a migrated database changes nothing
    try:
        assert await again.revision() == head_revision()
    finally:
        await again.close()


async def test_upgrade_from_the_previous_revision_keeps_its_data(db_url: str, clock: ManualClock) -> None:
    engine = create_engine(async_url(db_url))
    try:
        assert await upgrade(engine, "0001") == (None, "0001")
        assert await current(engine) == "0001"
        old = await Store.open(db_url, clock=clock, migrate=False)
        try:
            user = await old.users.add("ops", Role.FACILITY, "first password")
            token, _ = await old.sessions.create(user, "10.1.2.3", 3600)
        finally:
            await old.close()
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert "audit_log" not in tables and "users" in tables
    finally:
        await engine.dispose()

    store = await Store.open(db_url, clock=clock)
    try:
        assert await store.revision() == head_revision()
        assert await store.users.verify_password("ops", "first password") is not None
        session = await store.sessions.get(token)
        assert session is not None and session.user == "ops" and session.role is Role.FACILITY
        entry = await store.audit.append(action="user.add", actor="admin", role="admin", client="cli", result="ok")
        assert entry.id == 1
        assert (await store.audit.verify()).ok
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("raw", "driver"),
    [
        ("sqlite:///var/halltwin.sqlite", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:////tmp/x.sqlite", "sqlite+aiosqlite"),
        ("postgresql://user@host/db", "postgresql+psycopg"),
        ("postgres://user:pw@host:5433/db", "postgresql+psycopg"),
        ("postgresql+psycopg://user@host/db", "postgresql+psycopg"),
    ],
)
def test_urls_as_users_type_them_map_to_async_drivers(raw: str, driver: str) -> None:
    assert async_url(raw).drivername == driver


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("/var/halltwin.sqlite", "no scheme"),
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("sqlite://", "names no file"),
        ("postgresql+asyncpg://u@h/db", "driver 'asyncpg'"),
    ],
)
def test_bad_urls_are_refused_naming_the_url(raw: str, words: str) -> None:
    with pytest.raises(DatabaseUrlError) as caught:
        async_url(raw)
    assert words in str(caught.value) and repr(raw) in str(caught.value)


async def test_pages_of_0005_survive_0006_which_adds_work_order_pages(db_url: str, clock: ManualClock) -> None:
    """0006 makes pages.alarm_id optional and adds work_order_id (SQLite copies the table): old pages are kept."""
    engine = create_engine(async_url(db_url))
    try:
        assert await upgrade(engine, "0005_broadcast") == (None, "0005_broadcast")
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO pages (alarm_id, role, title_zh, title_en, zone, camera, created_at, drill) "
                "VALUES (7, 'security', '紧急按钮', 'Emergency button', '1f', 'cam-1', 100.0, false)"
            ))  # fmt: skip
        assert await upgrade(engine, "head") == ("0005_broadcast", head_revision())
    finally:
        await engine.dispose()
    store = await Store.open(db_url, clock=clock)
    try:
        pages = PageRepository(store.engine, store.clock)
        [old] = await pages.list("security")
        assert (old.alarm_id, old.work_order_id, old.title["en"], old.camera) == (7, None, "Emergency button", "cam-1")
        again, created = await pages.page(7, "security", {"zh": "x", "en": "x"}, None, None, False)
        assert not created and again.id == old.id  # the alarm's unique key came through the copy
        order_page, created = await pages.page_order(7, "security", {"zh": "工单", "en": "Order"}, None, False)
        assert created and order_page.alarm_id is None and order_page.work_order_id == 7
    finally:
        await store.close()
