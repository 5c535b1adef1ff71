"""SQLiteHistoryStore: the default point history, one WAL file, written by one dedicated thread."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

from monitoring.history import sqlite_schema as sql
from monitoring.history.aggregate import StepAggregator
from monitoring.history.base import (
    HOUR_S,
    MAX_ROLLUP_QUALITY_CODE,
    QUALITY_BY_CODE,
    QUALITY_CODES,
    RAW_MAX_STEP_S,
    HistoryResult,
    HistorySample,
    HistoryStoreError,
    Resolution,
    check_range,
)
from monitoring.history.distinct_ts import DistinctTimestamps
from monitoring.history.sqlite_file import open_wal_database
from twin.clock import Clock, SystemClock
from twin.points import PointUpdate

log = logging.getLogger(__name__)

T = TypeVar("T")
DAY_S = 86_400.0
WAL_CHECKPOINT_PAGES = 10_000
MINUTE_S = 60.0


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long each resolution is kept. Raw is never deleted before it has been rolled up."""

    raw_days: float = 7.0
    minute_days: float = 30.0
    hour_days: float = 1825.0

    def __post_init__(self) -> None:
        for name in ("raw_days", "minute_days", "hour_days"):
            if not getattr(self, name) > 0:
                raise ValueError(f"history retention: {name} must be > 0 days, got {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    """What one maintenance pass did: rollups are complete below the two watermarks (epoch seconds)."""

    minute_done: int
    hour_done: int
    deleted_raw: int
    deleted_minute: int
    deleted_hour: int


Row = tuple[int, int, float | None, str | None, int]
_row_ts = itemgetter(1)


def _us(t: float, rounding: Any) -> int:
    """Epoch seconds to integer microseconds for a range bound: ``rounding`` is math.ceil or math.floor, but a
    float product within 0.01 us of an integer is that integer (T0 + 0.001 must match the sample stored there)."""
    x = t * 1e6
    nearest = round(x)
    return nearest if abs(x - nearest) < 0.01 else int(rounding(x))


def _to_row(point: int, ts_us: int, update: PointUpdate) -> Row:
    """The sample row of one update; type() checks instead of isinstance because this is the hot path."""
    value = update.value
    kind = type(value)
    number: float | None = None
    text: str | None = None
    if kind is float:
        number = value if math.isfinite(value) else None  # type: ignore[arg-type,assignment]
    elif kind is bool:
        number = 1.0 if value else 0.0
    elif kind is int:
        number = float(value)  # type: ignore[arg-type]
    elif kind is str:
        text = value  # type: ignore[assignment]
    return (point, ts_us, number, text, QUALITY_CODES[update.quality])


class SQLiteHistoryStore:
    """HistoryStore on one SQLite file. Every write (inserts, rollups, retention) runs in one dedicated thread
    on one connection, so the event loop never waits on SQLite and writes never contend; queries use their
    own read-only connections in worker threads (WAL lets them read while the writer commits)."""

    def __init__(
        self,
        path: Path,
        retention: RetentionPolicy | None = None,
        clock: Clock | None = None,
        maintenance_interval_s: float | None = 60.0,
        late_grace_s: float = 10.0,
        max_samples: int = 200_000,
    ) -> None:
        self.path = Path(path)
        self.retention = retention or RetentionPolicy()
        self.clock: Clock = clock or SystemClock()
        self.maintenance_interval_s = maintenance_interval_s
        self.late_grace_s = late_grace_s
        self.max_samples = max_samples
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-sqlite-writer")
        self._conn: sqlite3.Connection | None = None  # only touched in the writer thread
        self._point_ids: dict[str, int] = {}  # writer thread only
        self._stamps = DistinctTimestamps()  # per point id, writer thread only
        self._minute_done = 0  # watermarks (epoch seconds), writer thread only
        self._hour_done = 0
        self._next_maintenance: float | None = None
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    @classmethod
    async def open(cls, path: Path, **options: Any) -> SQLiteHistoryStore:
        """Create or open the store at ``path``; HistoryStoreError naming the file if it is unusable."""
        store = cls(path, **options)
        try:
            await store._in_writer(store._open_sync)
        except BaseException:
            store._writer.shutdown(wait=True)
            raise
        return store

    async def _in_writer(self, function: Any, *args: Any) -> Any:
        if self._closed:
            raise HistoryStoreError(f"history database {self.path}: store is closed")
        return await asyncio.get_running_loop().run_in_executor(self._writer, function, *args)

    def _error(self, exc: sqlite3.Error) -> HistoryStoreError:
        return HistoryStoreError(f"history database {self.path}: {exc}")

    # ---- writer thread -------------------------------------------------------------------------------------

    def _open_sync(self) -> None:
        if self.path.exists() and not self.path.is_file():
            raise HistoryStoreError(f"history database {self.path}: is not a file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = open_wal_database(self.path, f"history database {self.path}", "history_meta", self._prepare)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA cache_size=-32000")
        # Checkpoint every 10,000 WAL pages (~40 MB), not SQLite's 1,000: every batch rewrites the newest leaf
        # page of each point it touches (1,000 points: 1,000 pages), so with the default nearly every commit
        # was followed by a checkpoint copying those pages into the file and syncing it. Ten commits' worth per
        # checkpoint write each hot page once: 120,000 -> 210,000 rows/s on one core. The WAL is truncated
        # back to 64 MB should a long reader have let it grow past that.
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit={64 * 1024 * 1024}")
        conn.executescript(sql.SCHEMA)
        meta = dict(conn.execute("SELECT key, value FROM history_meta").fetchall())
        if meta.get("schema_version") == 1:
            log.warning("history database %s: migrating from schema version 1 (ms) to 2 (us)", self.path)
            conn.executescript(f"BEGIN IMMEDIATE;{sql.MIGRATE_1_TO_2}COMMIT;")
            meta = dict(conn.execute("SELECT key, value FROM history_meta").fetchall())
        if meta.get("schema_version") != sql.SCHEMA_VERSION:
            raise HistoryStoreError(
                f"history database {self.path}: schema version {meta.get('schema_version')!r}, "
                f"this program reads version {sql.SCHEMA_VERSION}"
            )
        self._minute_done = int(meta["minute_done"])
        self._hour_done = int(meta["hour_done"])
        self._point_ids = {name: pid for pid, name in conn.execute("SELECT id, name FROM point")}

    def _point_id(self, conn: sqlite3.Connection, name: str) -> int:
        cursor = conn.execute("INSERT INTO point (name) VALUES (?)", (name,))
        pid = cursor.lastrowid
        assert pid is not None
        self._point_ids[name] = pid
        return pid

    def _append_sync(self, updates: Sequence[PointUpdate]) -> None:
        """One transaction. The common batch (known points, each sample after its point's newest, 64 rows or
        more, nothing before the rollup watermark) is one INSERT in autocommit: SQLite makes the statement its
        own transaction, and the thread releases and retakes the GIL once, not three times (BEGIN, INSERT,
        COMMIT); with a busy event loop each retake waits up to a switch interval (5 ms)."""
        conn = self._conn
        assert conn is not None
        ids = self._point_ids
        codes = QUALITY_CODES
        try:
            try:
                rows: list[Row] = []
                late: list[tuple[int, int, PointUpdate]] = []
                stamps = self._stamps
                newest = stamps.newest  # point -> (newest stored, newest original): the common case inline
                for update in updates:
                    pid = ids.get(update.point_id)
                    if pid is None:
                        if not conn.in_transaction:
                            conn.execute("BEGIN IMMEDIATE")
                        pid = self._point_id(conn, update.point_id)
                    ts_us = round(update.ts * 1e6)
                    state = newest.get(pid)
                    if state is not None and ts_us > state[0]:
                        newest[pid] = (ts_us, ts_us)  # after everything stored for the point: as it is
                        value = update.value
                        if type(value) is float and value - value == 0.0:  # a finite float (NaN/inf give NaN)
                            rows.append((pid, ts_us, value, None, codes[update.quality]))
                        else:
                            rows.append(_to_row(pid, ts_us, update))
                        continue
                    if state is None:
                        if not conn.in_transaction:
                            conn.execute("BEGIN IMMEDIATE")
                        stored = conn.execute(sql.NEWEST_SAMPLE, (pid,)).fetchone()[0]
                        if stored is not None:
                            stamps.seed(pid, stored)
                    distinct = stamps.assign(pid, ts_us)
                    if distinct is None:
                        late.append((pid, ts_us, update))
                    else:
                        rows.append(_to_row(pid, distinct, update))
                watermark_us = self._minute_done * 1_000_000
                if (
                    not conn.in_transaction
                    and not late
                    and len(rows) >= sql.JSON_BATCH_MIN
                    and min(map(_row_ts, rows)) >= watermark_us
                ):
                    conn.execute(sql.INSERT_SAMPLES_JSON, (json.dumps(rows),))
                else:
                    if not conn.in_transaction:
                        conn.execute("BEGIN IMMEDIATE")
                    if len(rows) >= sql.JSON_BATCH_MIN:
                        conn.execute(sql.INSERT_SAMPLES_JSON, (json.dumps(rows),))
                    else:
                        conn.executemany(sql.INSERT_SAMPLE, rows)
                    for pid, ts_us, update in late:
                        rows.append(self._insert_late(conn, pid, ts_us, update))
                    oldest_us = min(map(_row_ts, rows))
                    if oldest_us < watermark_us:
                        self._rollup_late(conn, oldest_us)
                    conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            if self.maintenance_interval_s is not None:
                now = self.clock.time()
                if self._next_maintenance is None or now >= self._next_maintenance:
                    self._next_maintenance = now + self.maintenance_interval_s
                    try:
                        self._maintain_sync(now)
                    except HistoryStoreError:
                        # The batch is committed; a failed rollup is retried at the next interval.
                        log.exception("history maintenance failed; will retry")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _insert_late(self, conn: sqlite3.Connection, pid: int, ts_us: int, update: PointUpdate) -> Row:
        """A sample older than its point's newest: stored at the first free microsecond from its own time on
        (rare, so one lookup per probe is fine), so that it never replaces a sample already stored."""
        while conn.execute(sql.SAMPLE_EXISTS, (pid, ts_us)).fetchone() is not None:
            ts_us += 1
        row = _to_row(pid, ts_us, update)
        conn.execute(sql.INSERT_SAMPLE, row)
        self._stamps.stored_late(pid, ts_us)
        return row

    def _rollup_late(self, conn: sqlite3.Connection, oldest_us: int) -> None:
        """Samples older than the minute watermark arrived: recompute the buckets they fall into."""
        minute_lo = oldest_us // 60_000_000 * 60
        conn.execute(
            sql.ROLLUP_MINUTES,
            {"lo": minute_lo, "hi": self._minute_done, "max_quality": MAX_ROLLUP_QUALITY_CODE},
        )
        if minute_lo < self._hour_done:
            hour_lo = minute_lo // 3600 * 3600
            conn.execute(sql.ROLLUP_HOURS, {"lo": hour_lo, "hi": self._hour_done})

    def _maintain_sync(self, now: float) -> MaintenanceReport:
        """Roll up the buckets closed since the last pass, then apply retention, in one transaction."""
        conn = self._conn
        assert conn is not None
        closed = now - self.late_grace_s
        minute_target = max(self._minute_done, int(closed // MINUTE_S * MINUTE_S))
        hour_target = max(self._hour_done, int(closed // HOUR_S * HOUR_S))
        points = [(pid,) for pid in self._point_ids.values()]
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if minute_target > self._minute_done:
                    conn.execute(
                        sql.ROLLUP_MINUTES,
                        {
                            "lo": self._minute_done,
                            "hi": minute_target,
                            "max_quality": MAX_ROLLUP_QUALITY_CODE,
                        },
                    )
                if hour_target > self._hour_done:
                    conn.execute(sql.ROLLUP_HOURS, {"lo": self._hour_done, "hi": hour_target})
                # Never delete data that a coarser resolution has not absorbed yet.
                raw_cut = min(now - self.retention.raw_days * DAY_S, minute_target)
                minute_cut = min(now - self.retention.minute_days * DAY_S, hour_target)
                hour_cut = now - self.retention.hour_days * DAY_S
                deleted = []
                for statement, cut in (
                    (sql.DELETE_RAW, round(raw_cut * 1e6)),
                    (sql.DELETE_MINUTE, math.floor(minute_cut)),
                    (sql.DELETE_HOUR, math.floor(hour_cut)),
                ):
                    before = conn.total_changes
                    conn.executemany(statement, [(pid, cut) for (pid,) in points])
                    deleted.append(conn.total_changes - before)
                conn.executemany(
                    "UPDATE history_meta SET value = ? WHERE key = ?",
                    [(minute_target, "minute_done"), (hour_target, "hour_done")],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        self._minute_done, self._hour_done = minute_target, hour_target
        return MaintenanceReport(minute_target, hour_target, deleted[0], deleted[1], deleted[2])

    def _close_sync(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("PRAGMA optimize")
            finally:
                self._conn.close()
                self._conn = None

    # ---- readers -------------------------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        with self._readers_lock:
            if self._readers:
                return self._readers.pop()
        uri = self.path.resolve().as_uri() + "?mode=ro"
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._readers_lock:
            if not self._closed and len(self._readers) < 4:
                self._readers.append(conn)
                return
        conn.close()

    def _query_sync(self, point_id: str, start: float, end: float, step: float | None) -> HistoryResult:
        conn = self._reader()
        try:
            return self._query_with(conn, point_id, start, end, step)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        finally:
            self._release(conn)

    def _query_with(
        self, conn: sqlite3.Connection, point_id: str, start: float, end: float, step: float | None
    ) -> HistoryResult:
        raw = step is None or step < RAW_MAX_STEP_S
        row = conn.execute("SELECT id FROM point WHERE name = ?", (point_id,)).fetchone()
        if raw:
            if row is None:
                return HistoryResult(point_id, start, end, step, Resolution.RAW)
            rows = conn.execute(
                sql.SELECT_RAW,
                (row[0], _us(start, math.ceil), _us(end, math.floor), self.max_samples + 1),
            ).fetchall()
            samples = (
                HistorySample(ts / 1e6, text if value is None else value, QUALITY_BY_CODE[quality])
                for ts, value, text, quality in rows
            )
            return HistoryResult.raw(point_id, start, end, step, samples, self.max_samples)
        assert step is not None
        minute_kept_from = self.clock.time() - self.retention.minute_days * DAY_S
        resolution = Resolution.HOUR if step >= HOUR_S or start < minute_kept_from else Resolution.MINUTE
        if row is None:
            return HistoryResult(point_id, start, end, step, resolution)
        pid = row[0]
        meta = dict(conn.execute("SELECT key, value FROM history_meta").fetchall())
        minute_done, hour_done = int(meta["minute_done"]), int(meta["hour_done"])
        aggregator = StepAggregator(step)
        # Coarse rollups up to their watermark, then finer data for the newest part that is not rolled up yet.
        lo = math.floor(start / MINUTE_S) * MINUTE_S
        if resolution is Resolution.HOUR:
            lo = math.floor(start / HOUR_S) * HOUR_S
            aggregator.add_rollup_rows(
                conn.execute(sql.SELECT_ROLLUP.format(table="rollup_hour"), (pid, lo, hour_done, end))
            )
            lo = max(lo, hour_done)
        aggregator.add_rollup_rows(
            conn.execute(sql.SELECT_ROLLUP.format(table="rollup_minute"), (pid, lo, minute_done, end))
        )
        tail_from = max(lo, minute_done)
        if tail_from <= end:
            aggregator.add_samples(
                conn.execute(
                    sql.SELECT_RAW_TRUSTED,
                    (pid, round(tail_from * 1_000_000), _us(end, math.floor), MAX_ROLLUP_QUALITY_CODE),
                )
            )
        return HistoryResult(point_id, start, end, step, resolution, buckets=aggregator.buckets())

    # ---- public API ----------------------------------------------------------------------------------------

    async def append(self, updates: Sequence[PointUpdate]) -> None:
        """Store a batch in one transaction (late samples also refresh the rollups they fall into)."""
        if updates:
            await self._in_writer(self._append_sync, updates)

    async def query(self, point_id: str, start: float, end: float, step: float | None = None) -> HistoryResult:
        """Raw samples when ``step`` is None or < 60 s, else per-step buckets from the rollups: per-hour ones
        when step >= 1 h or the range starts before the per-minute retention, else per-minute ones."""
        check_range(start, end, step)
        if self._closed:
            raise HistoryStoreError(f"history database {self.path}: store is closed")
        return await asyncio.to_thread(self._query_sync, point_id, start, end, step)

    async def maintain(self, now: float | None = None) -> MaintenanceReport:
        """Roll up closed buckets and apply retention as of ``now`` (default: the clock). Runs by itself every
        ``maintenance_interval_s`` after an append; tests and tools call it with explicit times."""
        at = self.clock.time() if now is None else now
        report: MaintenanceReport = await self._in_writer(self._maintain_sync, at)
        return report

    async def close(self) -> None:
        if self._closed:
            return
        try:
            await self._in_writer(self._close_sync)
        finally:
            self._closed = True
            self._writer.shutdown(wait=True)
            with self._readers_lock:
                readers, self._readers = self._readers, []
            for conn in readers:
                conn.close()
