"""Alembic migrations run on the store's own async engine: at Store.open and by `halltwin db upgrade`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Two nodes starting on one PostgreSQL database must not both create the tables: one waits for the other.
PG_MIGRATION_LOCK = 0x48414C4C  # "HALL"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "store/migrations has no revision"
    return head


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
    command.upgrade(_config(connection), revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to ``revision``; returns (revision before, revision after)."""
    async with engine.begin() as connection:
        before = await connection.run_sync(_current)
        await connection.run_sync(_upgrade, revision)
        after = await connection.run_sync(_current)
    return before, after


async def current(engine: AsyncEngine) -> str | None:
    """The database's revision (None: empty database)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)
