"""StoreAndForward: a durable spool in front of a remote HistoryStore, so outages and restarts lose nothing.

Appends are committed to a SQLite spool (WAL, synchronous=NORMAL: survives a crash of this process, not of
the machine) before append() returns. A named background task forwards the spool in order, in batches, and
deletes a batch only after the remote acknowledged it; while the remote is down it retries with exponential
backoff. Delivery is at-least-once (a batch whose acknowledgement is lost is sent again), which the remote
stores idempotently (same point and ms; VictoriaMetrics with -dedup.minScrapeInterval=1ms). A batch the
remote refuses outright (HistoryRejected) is moved to the spool's ``rejected`` table instead of being
retried forever. Queries go to the remote: points still in the spool are not visible until forwarded. Bools
come back from the spool as 0/1 ints, which every store records as 0/1 anyway.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from monitoring.history.base import (
    HistoryBackendUnavailable,
    HistoryRejected,
    HistoryResult,
    HistoryStore,
    HistoryStoreError,
)
from monitoring.history.sqlite_file import open_wal_database
from twin.backoff import RetryDelay
from twin.clock import Clock, SystemClock
from twin.points import PointUpdate, Quality
from twin.tasks import cancel_and_wait

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY, point TEXT NOT NULL, value ANY, quality TEXT NOT NULL,
    source_ts REAL NOT NULL, ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY, point TEXT NOT NULL, value ANY, quality TEXT NOT NULL,
    source_ts REAL NOT NULL, ts REAL NOT NULL, reason TEXT NOT NULL
);
"""
_COLUMNS = "point, value, quality, source_ts, ts"
Row = tuple[int, str, Any, str, float, float]


class StoreAndForward:
    """HistoryStore wrapper: append() spools durably, the forwarder task delivers to ``remote``."""

    def __init__(
        self,
        remote: HistoryStore,
        spool_path: Path,
        clock: Clock | None = None,
        batch_size: int = 5000,
        send_timeout_s: float = 30.0,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        name: str = "history-forwarder",
    ) -> None:
        self.remote = remote
        self.spool_path = Path(spool_path)
        self.clock: Clock = clock or SystemClock()
        self.batch_size = batch_size
        self.send_timeout_s = send_timeout_s
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.name = name
        self.forwarded = 0  # points acknowledged by the remote since start
        self.rejected = 0
        self._spool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-spool")
        self._conn: sqlite3.Connection | None = None  # spool thread only
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._remote_down = False
        self._closed = False

    @classmethod
    async def open(cls, remote: HistoryStore, spool_path: Path, **options: Any) -> StoreAndForward:
        """Open the spool (what a previous run left in it is forwarded first) and start forwarding."""
        store = cls(remote, spool_path, **options)
        try:
            await store._in_spool(store._open_sync)
        except BaseException:
            store._spool.shutdown(wait=True)
            raise
        store._task = asyncio.create_task(store._forward_forever(), name=store.name)
        return store

    async def _in_spool(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._spool, function, *args)

    # ---- spool thread --------------------------------------------------------------------------------------

    def _open_sync(self) -> None:
        self.spool_path.parent.mkdir(parents=True, exist_ok=True)
        what = f"history spool {self.spool_path}"
        self._conn = open_wal_database(self.spool_path, what, "spool", lambda conn: conn.executescript(_SCHEMA))

    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    def _spool_sync(self, updates: Sequence[PointUpdate]) -> None:
        rows = [(u.point_id, u.value, u.quality.value, u.source_ts, u.ts) for u in updates]
        conn = self._db()
        try:
            with conn:  # one transaction; the context manager commits or rolls back
                conn.execute("BEGIN")
                conn.executemany(f"INSERT INTO spool ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise HistoryStoreError(f"history spool {self.spool_path}: {exc}") from exc

    def _peek_sync(self, limit: int) -> list[Row]:
        rows: list[Row] = (
            self._db().execute(f"SELECT seq, {_COLUMNS} FROM spool ORDER BY seq LIMIT ?", (limit,)).fetchall()
        )
        return rows

    def _delete_sync(self, first: int, last: int) -> None:
        self._db().execute("DELETE FROM spool WHERE seq BETWEEN ? AND ?", (first, last))

    def _reject_sync(self, first: int, last: int, reason: str) -> None:
        conn = self._db()
        with conn:
            conn.execute("BEGIN")
            conn.execute(
                f"INSERT INTO rejected (seq, {_COLUMNS}, reason) SELECT seq, {_COLUMNS}, ? FROM spool "
                "WHERE seq BETWEEN ? AND ?",
                (reason, first, last),
            )
            conn.execute("DELETE FROM spool WHERE seq BETWEEN ? AND ?", (first, last))

    def _count_sync(self) -> int:
        count: int = self._db().execute("SELECT count(*) FROM spool").fetchone()[0]
        return count

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ---- forwarder task ------------------------------------------------------------------------------------

    async def _forward_forever(self) -> None:
        delay = RetryDelay(self.retry_initial_s, self.retry_max_s)
        while True:
            self._wake.clear()  # before peeking, so an append during the peek is never missed
            rows: list[Row] = await self._in_spool(self._peek_sync, self.batch_size)
            if not rows:
                self._drained.set()
                await self._wake.wait()
                continue
            updates = [PointUpdate(point, value, Quality(q), sts, ts) for _, point, value, q, sts, ts in rows]
            first, last = rows[0][0], rows[-1][0]
            try:
                async with asyncio.timeout(self.send_timeout_s):  # not wait_for: it can swallow a cancel on 3.11
                    await self.remote.append(updates)
            except HistoryRejected as exc:
                await self._in_spool(self._reject_sync, first, last, str(exc))
                self.rejected += len(rows)
                log.error(
                    "history backend rejected %d points (kept in %s, table rejected): %s",
                    len(rows),
                    self.spool_path,
                    exc,
                )
                continue
            except Exception as exc:
                if not isinstance(exc, HistoryBackendUnavailable | TimeoutError | OSError):
                    # A bug in a remote store, not an outage: it must not stop forwarding either (back off, retry).
                    log.exception("history forwarding failed unexpectedly")
                self._mark_down(exc)
                await self.clock.sleep(delay.next())
                continue
            await self._in_spool(self._delete_sync, first, last)
            self.forwarded += len(rows)
            delay.reset()
            if self._remote_down:
                self._remote_down = False
                pending = await self._in_spool(self._count_sync)
                log.warning("history backend recovered, forwarded %d (%d still spooled)", len(rows), pending)

    def _mark_down(self, exc: BaseException) -> None:
        if not self._remote_down:
            self._remote_down = True
            log.warning(
                "history backend unavailable, spooling to %s: %s",
                self.spool_path,
                str(exc) or type(exc).__name__,
            )

    # ---- public API ----------------------------------------------------------------------------------------

    @property
    def remote_down(self) -> bool:
        return self._remote_down

    async def append(self, updates: Sequence[PointUpdate]) -> None:
        """Durably spool a batch; it is forwarded in the background."""
        if self._closed:
            raise HistoryStoreError(f"history spool {self.spool_path}: store is closed")
        if updates:
            await self._in_spool(self._spool_sync, updates)
            self._drained.clear()
            self._wake.set()

    async def query(self, point_id: str, start: float, end: float, step: float | None = None) -> HistoryResult:
        return await self.remote.query(point_id, start, end, step)

    async def pending(self) -> int:
        """Points spooled and not yet acknowledged by the remote."""
        count: int = await self._in_spool(self._count_sync)
        return count

    async def wait_forwarded(self, within_s: float) -> bool:
        """Wait until the spool is empty; False if it is not within ``within_s`` seconds."""
        try:
            async with asyncio.timeout(within_s):
                await self._drained.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop forwarding (what is spooled stays for the next start) and close the spool and the remote."""
        if self._closed:
            return
        self._closed = True
        await cancel_and_wait(self._task)
        try:
            await self._in_spool(self._close_sync)
        finally:
            self._spool.shutdown(wait=True)
            await self.remote.close()
