"""Throw-away PostgreSQL databases on the loopback server for tests (trust auth), dropped after use."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

ADMIN_URL = os.environ.get("HALLTWIN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
_RUN = uuid.uuid4().hex[:8]
_NUMBERS = itertools.count()


def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used (None: it can)."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {ADMIN_URL} is not reachable: {str(exc).strip()[:200]}"
    return None


@contextmanager
def temporary_database() -> Iterator[str]:
    """A new, uniquely named database; yields its URL (as a user types it) and drops it afterwards."""
    import psycopg
    from psycopg import sql

    name = f"halltwin_test_{_RUN}_{os.getpid()}_{next(_NUMBERS)}"
    with psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
