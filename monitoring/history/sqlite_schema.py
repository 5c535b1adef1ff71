"""SQL of the SQLite history store: schema, batched insert, incremental rollups, retention and migrations."""

from __future__ import annotations

SCHEMA_VERSION = 2

# Raw samples are keyed (point, ts) WITHOUT ROWID so a point's range is one contiguous b-tree walk and no
# separate rowid index doubles the size. Point ids are small ints (table point) and ts is integer
# microseconds: both are SQLite varints, so a row costs ~21 bytes, not ~60 with text ids and float seconds.
# Microseconds (version 2; version 1 had milliseconds) because two updates of one point in one millisecond
# are real (12 of 10,018 in a run) and each must be kept; the store moves a sample that would still collide
# forward by 1 us (distinct_ts.py), so every appended update is stored.
# quality: 0 GOOD, 1 STALE, 2 BAD, 3 UNAVAILABLE (base.QUALITY_CODES).
# Rollups store sum and count (not avg) so minute rows can be combined into hours and any coarser step.
# Their bucket is the bucket's start in epoch seconds, last_ts is in microseconds.
SCHEMA = """
CREATE TABLE IF NOT EXISTS history_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS point (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS sample (
    point INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value REAL,
    text TEXT,
    quality INTEGER NOT NULL,
    PRIMARY KEY (point, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_minute (
    point INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL, sum REAL NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, last_ts INTEGER NOT NULL, last REAL NOT NULL,
    PRIMARY KEY (point, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_hour (
    point INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL, sum REAL NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, last_ts INTEGER NOT NULL, last REAL NOT NULL,
    PRIMARY KEY (point, bucket)
) WITHOUT ROWID;
INSERT OR IGNORE INTO history_meta (key, value) VALUES
    ('schema_version', 2), ('minute_done', 0), ('hour_done', 0);
"""

# Version 1 -> 2: timestamps from milliseconds to microseconds. A new table filled in key order and renamed,
# not UPDATE ts = ts * 1000 in place: an in-place update of the key could meet a not-yet-updated row's key.
MIGRATE_1_TO_2 = """
CREATE TABLE sample_v2 (
    point INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value REAL,
    text TEXT,
    quality INTEGER NOT NULL,
    PRIMARY KEY (point, ts)
) WITHOUT ROWID;
INSERT INTO sample_v2 (point, ts, value, text, quality) SELECT point, ts * 1000, value, text, quality FROM sample;
DROP TABLE sample;
ALTER TABLE sample_v2 RENAME TO sample;
UPDATE rollup_minute SET last_ts = last_ts * 1000;
UPDATE rollup_hour SET last_ts = last_ts * 1000;
UPDATE history_meta SET value = 2 WHERE key = 'schema_version';
"""

# Plain INSERT: timestamps are made distinct before (distinct_ts.py), so a conflict would be a bug, not data.
INSERT_SAMPLE = "INSERT INTO sample (point, ts, value, text, quality) VALUES (?, ?, ?, ?, ?)"
# A whole batch as one JSON array of rows, one statement: SQLite parses it in C with the GIL released for the
# whole batch, where executemany takes and releases the GIL for every row. With the event loop busy in the other
# thread each re-take waits for it, and executemany fell to 28,000-50,000 rows/s where this kept 56,000-73,000
# (with an idle event loop both do 110,000-137,000).
INSERT_SAMPLES_JSON = """
INSERT INTO sample (point, ts, value, text, quality)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?)
"""
JSON_BATCH_MIN = 64  # below this executemany is as good
NEWEST_SAMPLE = "SELECT max(ts) FROM sample WHERE point = ?"
SAMPLE_EXISTS = "SELECT 1 FROM sample WHERE point = ? AND ts = ?"

# Recomputes the minute buckets in [:lo, :hi) (epoch seconds, minute aligned) from raw samples. Walking
# point x sample makes it one range seek per point instead of a scan of the whole table (the key starts with
# point). "last" is looked up by primary key at the group's newest timestamp, because SQLite's bare-column
# trick is undefined with several min()/max() in one query. Upsert with the recomputed values so that the
# same statement serves new buckets and buckets that received late samples. "WHERE true" is required by the
# SQLite grammar for INSERT ... SELECT ... ON CONFLICT.
ROLLUP_MINUTES = """
INSERT INTO rollup_minute (point, bucket, count, sum, min, max, last_ts, last)
SELECT g.point, g.bucket, g.n, g.total, g.lo, g.hi, g.last_ts,
       (SELECT value FROM sample WHERE point = g.point AND ts = g.last_ts)
FROM (
    SELECT s.point AS point, s.ts / 60000000 * 60 AS bucket, count(*) AS n, sum(s.value) AS total,
           min(s.value) AS lo, max(s.value) AS hi, max(s.ts) AS last_ts
    FROM point AS p CROSS JOIN sample AS s
    WHERE s.point = p.id AND s.ts >= :lo * 1000000 AND s.ts < :hi * 1000000
      AND s.value IS NOT NULL AND s.quality <= :max_quality
    GROUP BY s.point, s.ts / 60000000
) AS g WHERE true
ON CONFLICT (point, bucket) DO UPDATE SET
    count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max,
    last_ts = excluded.last_ts, last = excluded.last
"""

# Recomputes the hour buckets in [:lo, :hi) (epoch seconds, hour aligned) from the minute rollups.
ROLLUP_HOURS = """
INSERT INTO rollup_hour (point, bucket, count, sum, min, max, last_ts, last)
SELECT g.point, g.bucket, g.n, g.total, g.lo, g.hi, g.last_ts,
       (SELECT last FROM rollup_minute WHERE point = g.point AND bucket = g.last_bucket)
FROM (
    SELECT m.point AS point, m.bucket / 3600 * 3600 AS bucket, sum(m.count) AS n, sum(m.sum) AS total,
           min(m.min) AS lo, max(m.max) AS hi, max(m.last_ts) AS last_ts, max(m.bucket) AS last_bucket
    FROM point AS p CROSS JOIN rollup_minute AS m
    WHERE m.point = p.id AND m.bucket >= :lo AND m.bucket < :hi
    GROUP BY m.point, m.bucket / 3600
) AS g WHERE true
ON CONFLICT (point, bucket) DO UPDATE SET
    count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max,
    last_ts = excluded.last_ts, last = excluded.last
"""

# Retention deletes run once per point so that each is a range seek on the primary key.
DELETE_RAW = "DELETE FROM sample WHERE point = ? AND ts < ?"
DELETE_MINUTE = "DELETE FROM rollup_minute WHERE point = ? AND bucket < ?"
DELETE_HOUR = "DELETE FROM rollup_hour WHERE point = ? AND bucket < ?"

SELECT_RAW = """
SELECT ts, value, text, quality FROM sample WHERE point = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?
"""
SELECT_RAW_TRUSTED = """
SELECT ts, value FROM sample
WHERE point = ? AND ts >= ? AND ts <= ? AND value IS NOT NULL AND quality <= ? ORDER BY ts
"""
SELECT_ROLLUP = """
SELECT bucket, count, sum, min, max, last_ts, last FROM {table}
WHERE point = ? AND bucket >= ? AND bucket < ? AND bucket <= ? ORDER BY bucket
"""
