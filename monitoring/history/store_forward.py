"""StoreAndForward: a durable spool in front of a remote HistoryStore, so outages, restarts and crashes lose nothing.

Appends are committed to a SQLite spool (WAL, synchronous=NORMAL: survives a crash of this process, not of
the machine) before append() returns. A named background task forwards the spool in order, in batches; while
the remote is down it retries with exponential backoff. Delivery is at-least-once (a batch whose
acknowledgement is lost is sent again), which the remote stores idempotently (VictoriaMetrics with
-dedup.minScrapeInterval=1ms keeps one sample per series and millisecond).

An acknowledgement is not durability: VictoriaMetrics answers a write once the samples are in memory and makes
them durable a few seconds later, so a SIGKILL (a crash, the OOM killer) lost what it had acknowledged in its
last ~9 s. Acknowledged rows therefore stay in the spool for ``keep_acked_s`` (default 60 s, well over VM's
in-memory window) behind an acknowledged-up-to watermark; the forwarder asks a RestartDetecting remote which
run of its process answers (after every outage, and every ``restart_check_s`` otherwise) and, when the run is
new, moves the watermark back so everything still kept is sent again. Dedup makes that re-send harmless.

Two updates of one point in one millisecond would be one sample in VM: the spool gives the later one the next
free millisecond of that point when it is spooled (distinct_ts.py), once and durably, so a re-send carries
the very same timestamps. A batch the remote refuses outright (HistoryRejected) is moved to the spool's
``rejected`` table instead of being retried forever. Queries go to the remote: points still in the spool are
not visible until forwarded. Bools come back from the spool as 0/1 ints, which every store records as 0/1.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    RemoteRun,
    RestartDetecting,
)
from monitoring.history.distinct_ts import DistinctTimestamps
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
CREATE TABLE IF NOT EXISTS spool_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS acked (last_seq INTEGER PRIMARY KEY, at REAL NOT NULL);
INSERT OR IGNORE INTO spool_meta (key, value) VALUES ('acked_seq', 0), ('remote_started_at', NULL);
"""
# spool rows with seq <= acked_seq were acknowledged; table acked holds (last seq of a batch, when acknowledged)
# so that rows are deleted once ``keep_acked_s`` has passed. A spool file of an earlier version (no meta, no
# acked) gets both tables with acked_seq 0: all its rows are pending, as they were.
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
        keep_acked_s: float = 60.0,
        restart_check_s: float = 5.0,
        name: str = "history-forwarder",
    ) -> None:
        if keep_acked_s < 0 or restart_check_s <= 0:
            raise ValueError(
                f"history spool: keep_acked_s must be >= 0 and restart_check_s > 0, "
                f"got {keep_acked_s} and {restart_check_s}"
            )
        self.remote = remote
        self.spool_path = Path(spool_path)
        self.clock: Clock = clock or SystemClock()
        self.batch_size = batch_size
        self.send_timeout_s = send_timeout_s
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.keep_acked_s = keep_acked_s
        self.restart_check_s = restart_check_s
        self.name = name
        self.forwarded = 0  # points acknowledged by the remote since start (re-sends included)
        self.resent = 0  # acknowledged points sent again because the remote restarted
        self.rejected = 0
        self._acked_seq = 0  # spool thread
        self._stamps = DistinctTimestamps()  # spool thread
        # None when the remote cannot say which run of its process answers: then nothing is re-sent after its crash.
        self._detector: RestartDetecting | None = remote if isinstance(remote, RestartDetecting) else None
        self._run: RemoteRun | None = None
        self._run_checked_at: float | None = None  # clock.monotonic() of the last check
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
        self._acked_seq = int(self._meta_sync("acked_seq"))

    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    def _spool_sync(self, updates: Sequence[PointUpdate]) -> None:
        stamps = self._stamps
        rows = []
        for u in updates:
            ms = round(u.ts * 1000)
            # A late update (None) keeps its own millisecond: moving it could land on another stored sample.
            ts = u.ts if (distinct := stamps.assign(u.point_id, ms)) is None or distinct == ms else distinct / 1000
            rows.append((u.point_id, u.value, u.quality.value, u.source_ts, ts))
        conn = self._db()
        try:
            with conn:  # one transaction; the context manager commits or rolls back
                conn.execute("BEGIN")
                conn.executemany(f"INSERT INTO spool ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise HistoryStoreError(f"history spool {self.spool_path}: {exc}") from exc

    def _peek_sync(self, limit: int) -> list[Row]:
        rows: list[Row] = (
            self._db()
            .execute(f"SELECT seq, {_COLUMNS} FROM spool WHERE seq > ? ORDER BY seq LIMIT ?", (self._acked_seq, limit))
            .fetchall()
        )
        return rows

    def _ack_sync(self, last: int, now: float) -> None:
        """Rows up to ``last`` are acknowledged: keep them for keep_acked_s, delete what is older than that."""
        conn = self._db()
        with conn:
            conn.execute("BEGIN")
            conn.execute("UPDATE spool_meta SET value = ? WHERE key = 'acked_seq'", (last,))
            conn.execute("INSERT OR REPLACE INTO acked (last_seq, at) VALUES (?, ?)", (last, now))
            expired = conn.execute(
                "SELECT max(last_seq) FROM acked WHERE at < ?", (now - self.keep_acked_s,)
            ).fetchone()[0]
            if expired is not None:
                conn.execute("DELETE FROM spool WHERE seq <= ?", (expired,))
                conn.execute("DELETE FROM acked WHERE last_seq <= ?", (expired,))
        self._acked_seq = last

    def _rewind_sync(self) -> int:
        """The remote restarted: every acknowledged row still kept is pending again. Returns how many."""
        conn = self._db()
        with conn:
            conn.execute("BEGIN")
            kept: int = conn.execute("SELECT count(*) FROM spool WHERE seq <= ?", (self._acked_seq,)).fetchone()[0]
            conn.execute("UPDATE spool_meta SET value = 0 WHERE key = 'acked_seq'")
            conn.execute("DELETE FROM acked")
        self._acked_seq = 0
        return kept

    def _meta_sync(self, key: str) -> Any:
        row = self._db().execute("SELECT value FROM spool_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row is not None else None

    def _set_meta_sync(self, key: str, value: Any) -> None:
        self._db().execute("UPDATE spool_meta SET value = ? WHERE key = ?", (value, key))

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
        count: int = self._db().execute("SELECT count(*) FROM spool WHERE seq > ?", (self._acked_seq,)).fetchone()[0]
        return count

    def _kept_sync(self) -> int:
        count: int = self._db().execute("SELECT count(*) FROM spool WHERE seq <= ?", (self._acked_seq,)).fetchone()[0]
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
            try:
                await self._check_remote_run()
            except Exception as exc:
                self._mark_down(exc)
                await self.clock.sleep(delay.next())
                continue
            rows: list[Row] = await self._in_spool(self._peek_sync, self.batch_size)
            if not rows:
                self._drained.set()
                await self._idle()
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
                self._mark_down(exc)
                await self.clock.sleep(delay.next())
                continue
            await self._in_spool(self._ack_sync, last, self.clock.time())
            self.forwarded += len(rows)
            delay.reset()
            if self._remote_down:
                self._remote_down = False
                pending = await self._in_spool(self._count_sync)
                log.warning("history backend recovered, forwarded %d (%d still spooled)", len(rows), pending)

    async def _idle(self) -> None:
        """Wait for an append; wake up in time for the next restart check of a RestartDetecting remote."""
        if self._detector is None:
            await self._wake.wait()
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.restart_check_s):
                await self._wake.wait()

    async def _check_remote_run(self) -> None:
        """After an outage, at start, and every restart_check_s: if a new run of the remote answers, what the
        old run acknowledged in the last keep_acked_s may be lost with it, so send it all again."""
        if self._detector is None:
            return
        now = self.clock.monotonic()
        due = self._run_checked_at is None or now - self._run_checked_at >= self.restart_check_s
        if not (due or self._remote_down):
            return
        try:
            async with asyncio.timeout(self.send_timeout_s):
                run = await self._detector.current_run()
        except HistoryStoreError as exc:
            if isinstance(exc, HistoryBackendUnavailable):
                raise
            # Reachable but it will not say (e.g. /metrics behind a proxy): forward anyway, and say what it costs.
            log.warning(
                "history backend cannot tell its restarts (%s): points it acknowledged are not re-sent if it crashes",
                exc,
            )
            self._detector = None
            return
        self._run_checked_at = now
        before = self._run
        if before is None:  # first check of this process: the spool remembers the run of the last one
            started_at = await self._in_spool(self._meta_sync, "remote_started_at")
            if started_at is not None:
                before = RemoteRun(float(started_at), 0.0)
        self._run = run
        if before is not None and run.is_new_run_after(before):
            kept = await self._in_spool(self._rewind_sync)
            self.resent += kept
            if kept:
                self._drained.clear()  # pending again: wait_forwarded() waits for the re-send
            log.warning(
                "history backend restarted (new run started at %.0f): re-sending the %d points it acknowledged "
                "in the last %g s",
                run.started_at,
                kept,
                self.keep_acked_s,
            )
        if before is None or before.started_at != run.started_at:
            await self._in_spool(self._set_meta_sync, "remote_started_at", run.started_at)

    def _mark_down(self, exc: BaseException) -> None:
        if not isinstance(exc, HistoryBackendUnavailable | TimeoutError | OSError):
            # A bug in a remote store, not an outage: it must not stop forwarding either (back off, retry).
            log.error("history forwarding failed unexpectedly", exc_info=exc)
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

    async def kept(self) -> int:
        """Points acknowledged by the remote and kept for a re-send should it restart (keep_acked_s)."""
        count: int = await self._in_spool(self._kept_sync)
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
