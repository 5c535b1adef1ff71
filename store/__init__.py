"""The durable store for everything that is not a time series: users, sessions, the audit log (SQLAlchemy 2)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from store.alarms import Alarm, AlarmChange, AlarmEventRecord, AlarmRepository
from store.audit import AuditEntry, AuditLog, VerifyReport
from store.sessions import Session, SessionRepository
from store.url import DatabaseUrlError, async_url, default_url, display, sqlite_path
from store.users import Role, User, UserError, UserRepository, WallClock

# Alembic logs a dozen INFO lines (plugins, "Context impl") as it loads and migrates; only its warnings concern an
# operator. Set before anything imports alembic (store.migrate does, lazily).
logging.getLogger("alembic").setLevel(logging.WARNING)

__all__ = [
    "Alarm",
    "AlarmChange",
    "AlarmEventRecord",
    "AuditEntry",
    "DatabaseUrlError",
    "Role",
    "Session",
    "Store",
    "User",
    "UserError",
    "VerifyReport",
    "default_url",
]


class _SystemClock:
    def time(self) -> float:
        return time.time()


class Store:
    """One database: ``users``, ``sessions``, ``audit`` and ``alarms`` repositories over one async engine.
    ``await Store.open(url)`` migrates the database to the newest revision first."""

    def __init__(self, engine: AsyncEngine, url: URL, clock: WallClock) -> None:
        self.engine = engine
        self.url = url
        self.clock = clock
        self.sessions = SessionRepository(engine, clock)
        self.users = UserRepository(engine, clock, on_account_change=self.sessions.forget_user)
        self.audit = AuditLog(engine, clock)
        self.alarms = AlarmRepository(engine)

    @classmethod
    async def open(cls, url: str, *, clock: WallClock | None = None, migrate: bool = True) -> Store:
        from store.engine import create_engine
        from store.migrate import upgrade

        parsed = async_url(url)
        engine = create_engine(parsed)
        try:
            if migrate:
                await upgrade(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, parsed, clock or _SystemClock())

    @property
    def display_url(self) -> str:
        return display(self.url)

    @property
    def sqlite_file(self) -> Path | None:
        return sqlite_path(self.url)

    async def revision(self) -> str | None:
        from store.migrate import current

        return await current(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()
