"""Two updates of one point in one millisecond (or one microsecond) are both stored: SQLite, old files migrated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from monitoring.history import SQLiteHistoryStore
from monitoring.history.distinct_ts import DistinctTimestamps
from twin.clock import ManualClock
from twin.points import PointUpdate, Quality

T0 = 1_699_999_200.0  # an exact hour


def update(point: str, value: float, ts: float) -> PointUpdate:
    return PointUpdate(point, value, Quality.GOOD, ts, ts)


def test_distinct_timestamps_move_only_collisions_and_keep_order() -> None:
    stamps = DistinctTimestamps()
    assert [stamps.assign("p", t) for t in (1000, 1000, 1000, 1001, 1010)] == [1000, 1001, 1002, 1003, 1010]
    assert stamps.assign("q", 1000) == 1000  # points are independent
    assert stamps.assign("p", 999) is None  # late: left to the store
    stamps.seed("r", 500)  # what a previous run stored last
    assert (stamps.assign("r", 500), stamps.assign("r", 501)) == (501, 502)


async def test_sqlite_keeps_every_update_of_one_point_in_one_millisecond(tmp_path: Path) -> None:
    store = await SQLiteHistoryStore.open(tmp_path / "h.db", clock=ManualClock(T0), maintenance_interval_s=None)
    try:
        # Same millisecond, different microseconds; then the very same float time twice; then in later batches.
        await store.append([update("p", 1.0, T0 + 0.0051), update("p", 2.0, T0 + 0.0054)])
        await store.append([update("p", 3.0, T0 + 0.006), update("p", 4.0, T0 + 0.006), update("q", 9.0, T0 + 0.006)])
        await store.append([update("p", 5.0, T0 + 0.006)])
        samples = (await store.query("p", T0, T0 + 1)).samples
        assert [s.value for s in samples] == [1.0, 2.0, 3.0, 4.0, 5.0]
        assert [round((s.ts - T0) * 1e6) for s in samples] == [5100, 5400, 6000, 6001, 6002]
        assert [s.value for s in (await store.query("q", T0, T0 + 1)).samples] == [9.0]
    finally:
        await store.close()
    # A restart does not reuse the newest microsecond of a point either.
    store = await SQLiteHistoryStore.open(tmp_path / "h.db", clock=ManualClock(T0), maintenance_interval_s=None)
    try:
        await store.append([update("p", 6.0, T0 + 0.006002)])
        assert [s.value for s in (await store.query("p", T0, T0 + 1)).samples] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    finally:
        await store.close()


V1_SCHEMA = """
CREATE TABLE history_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE point (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE sample (point INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL, text TEXT, quality INTEGER NOT NULL,
    PRIMARY KEY (point, ts)) WITHOUT ROWID;
CREATE TABLE rollup_minute (point INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
    sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last_ts INTEGER NOT NULL, last REAL NOT NULL,
    PRIMARY KEY (point, bucket)) WITHOUT ROWID;
CREATE TABLE rollup_hour (point INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
    sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last_ts INTEGER NOT NULL, last REAL NOT NULL,
    PRIMARY KEY (point, bucket)) WITHOUT ROWID;
"""


async def test_a_version_1_file_in_milliseconds_is_migrated_and_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    t0_ms = round(T0 * 1000)
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(V1_SCHEMA)
        conn.executemany(
            "INSERT INTO history_meta VALUES (?, ?)",
            [("schema_version", 1), ("minute_done", int(T0) + 60), ("hour_done", int(T0))],
        )
        conn.execute("INSERT INTO point VALUES (1, 'ahu.supply_temp')")
        conn.executemany(
            "INSERT INTO sample VALUES (1, ?, ?, NULL, 0)", [(t0_ms + i * 10_000, float(i)) for i in range(9)]
        )
        conn.execute("INSERT INTO rollup_minute VALUES (1, ?, 6, 15.0, 0.0, 5.0, ?, 5.0)", (int(T0), t0_ms + 50_000))
    conn.close()

    clock = ManualClock(T0 + 90)
    store = await SQLiteHistoryStore.open(path, clock=clock, maintenance_interval_s=None)
    try:
        raw = await store.query("ahu.supply_temp", T0, T0 + 80)
        assert [(s.ts, s.value) for s in raw.samples] == [(T0 + i * 10, float(i)) for i in range(9)]
        minutes = await store.query("ahu.supply_temp", T0, T0 + 119, step=60)
        assert [(b.ts, b.count, b.last) for b in minutes.buckets] == [(T0, 6, 5.0), (T0 + 60, 3, 8.0)]
        await store.append([update("ahu.supply_temp", 9.0, T0 + 80), update("ahu.supply_temp", 10.0, T0 + 80)])
        assert len((await store.query("ahu.supply_temp", T0, T0 + 81)).samples) == 11
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM history_meta WHERE key = 'schema_version'").fetchone() == (2,)
    conn.close()
