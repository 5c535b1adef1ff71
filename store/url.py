"""Database URLs as users type them (sqlite:///file, postgresql://user@host/db) mapped to the async drivers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


class DatabaseUrlError(ValueError):
    """A database URL the store cannot use; the message names the URL and what is wrong."""


def default_url(data_dir: Path) -> str:
    """The SQLite file of a node's data folder: what serve, demo and the CLI use without --db / HALLTWIN_DB_URL."""
    return f"sqlite:///{(data_dir / 'halltwin.sqlite').resolve()}"


def async_url(raw: str) -> URL:
    """``sqlite:///path``, ``postgresql://user@host/db`` (or their explicit async forms) as an async-driver URL."""
    text = raw.strip()
    if "://" not in text:
        raise DatabaseUrlError(
            f"database URL {raw!r} has no scheme: use sqlite:///path/to/file.sqlite or postgresql://user@host/db"
        )
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"database URL {raw!r} cannot be parsed: {exc}") from exc
    backend, _, driver = url.drivername.partition("+")
    if backend not in ASYNC_DRIVERS:
        raise DatabaseUrlError(
            f"database URL {raw!r}: unsupported database {backend!r} (use sqlite:///... or postgresql://...)"
        )
    wanted = ASYNC_DRIVERS[backend]
    if driver and f"{backend}+{driver}" not in (wanted, "postgresql+psycopg_async"):
        raise DatabaseUrlError(f"database URL {raw!r}: driver {driver!r} is not supported here, use {wanted}")
    if backend == "sqlite" and not url.database:
        raise DatabaseUrlError(f"database URL {raw!r} names no file: use sqlite:///path/to/file.sqlite")
    return url.set(drivername=wanted)


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def display(url: URL) -> str:
    """The URL as a user types it (no async driver), without its password, for messages and commands."""
    backend = url.drivername.partition("+")[0]
    return url.set(drivername=backend).render_as_string(hide_password=True)
