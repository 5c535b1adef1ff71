"""Opening a SQLite file of the history code (store or spool): WAL, a foreign file refused, errors naming it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from monitoring.history.base import HistoryStoreError


def open_wal_database(
    path: Path, what: str, own_table: str, prepare: Callable[[sqlite3.Connection], object]
) -> sqlite3.Connection:
    """Connect to ``path`` in autocommit mode with WAL and synchronous=NORMAL (durable across a crash of this
    process), then ``prepare`` it (schema, checks). ``what`` names the file in errors ("history spool /x.db");
    a SQLite file that has tables but not ``own_table`` belongs to something else and is not touched."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # The first real read is what detects a file that is not a SQLite database.
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and own_table not in tables:
            raise HistoryStoreError(
                f"{what}: is a SQLite database of something else (tables {sorted(tables)[:5]}); not touching it"
            )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        prepare(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise HistoryStoreError(f"{what}: not a usable SQLite file ({exc})") from exc
    except BaseException:
        conn.close()
        raise
    return conn
