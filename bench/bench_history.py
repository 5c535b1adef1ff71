"""Bench (d): SQLite history insert rate and query times on a store of ~1.9 million rows."""

from __future__ import annotations

import asyncio
import math
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from monitoring.history import HistoryResult, RetentionPolicy, SQLiteHistoryStore
from twin.clock import ManualClock
from twin.points import PointUpdate, Quality, Value

NOW = 1_700_000_000.0 // 3600 * 3600  # an exact hour; the bench runs on a manual clock
DAY = 86_400.0
TARGET_RATE = 20_000  # point updates/s the whole pipeline must sustain on 2 cores


Make = Callable[[random.Random, int], Value]


def analog(n: int) -> Make:
    return lambda rng, tick: 20.0 + n % 7 + math.sin(tick / 50) + rng.random()


def point_mix() -> list[tuple[str, Make]]:
    """400 points shaped like the demo hall: mostly analog, then binary states, counters and a few texts."""
    points: list[tuple[str, Make]] = [(f"dev{n // 5}.analog_{n % 5}", analog(n)) for n in range(250)]
    points += [(f"door_{n}.open", lambda rng, tick: rng.random() < 0.1) for n in range(90)]
    points += [(f"counter_{n}.count_in", lambda rng, tick: tick // 3) for n in range(50)]
    points += [(f"queue_{n}.last_called", lambda rng, tick: f"A{tick % 1000:03d}") for n in range(10)]
    return points


def updates(start: float, end: float, interval: float, seed: int) -> list[PointUpdate]:
    """Every point every ``interval`` seconds in [start, end), staggered; 1 % STALE, 1 % BAD without a value."""
    rng = random.Random(seed)
    mix = point_mix()
    out: list[PointUpdate] = []
    tick = 0
    t = start
    while t < end:
        for k, (point_id, make) in enumerate(mix):
            ts = t + k * interval / len(mix)
            roll = rng.random()
            if roll < 0.01:
                out.append(PointUpdate(point_id, None, Quality.BAD, ts, ts))
            else:
                quality = Quality.STALE if roll < 0.02 else Quality.GOOD
                out.append(PointUpdate(point_id, make(rng, tick), quality, ts, ts))
        tick += 1
        t += interval
    return out


async def timed_appends(store: SQLiteHistoryStore, rows: list[PointUpdate], batch: int) -> float:
    """Rows per second of sequential awaited appends of ``batch`` rows (what the recorder does)."""
    started = time.perf_counter()
    for first in range(0, len(rows), batch):
        await store.append(rows[first : first + batch])
    return len(rows) / (time.perf_counter() - started)


def naive_rate(path: Path, rows: list[PointUpdate], batch: int) -> tuple[float, float]:
    """Baseline: the obvious schema (rowid table, text ids, float seconds, secondary index); rows/s, bytes/row."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE history (point TEXT, ts REAL, value, quality TEXT)")
    conn.execute("CREATE INDEX history_point_ts ON history (point, ts)")
    started = time.perf_counter()
    for first in range(0, len(rows), batch):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO history VALUES (?, ?, ?, ?)",
            [(u.point_id, u.ts, u.value, u.quality.value) for u in rows[first : first + batch]],
        )
        conn.execute("COMMIT")
    rate = len(rows) / (time.perf_counter() - started)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return rate, path.stat().st_size / len(rows)


async def median_ms(run: Callable[[], Awaitable[HistoryResult]], repeat: int = 15) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = len(await run())
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), size


async def run(workdir: Path) -> None:
    clock = ManualClock(NOW)
    retention = RetentionPolicy(raw_days=40, minute_days=40, hour_days=400)
    recent = updates(NOW - 2 * 3600, NOW, 10.0, seed=1)  # 2 h at 10 s: 288,000 rows

    print("insert rate (awaited appends of PointUpdates, realistic mix of 400 points; best of 3, fresh files)")
    print(f"{'store':<44}{'batch':>8}{'rows/s':>12}{'bytes/row':>11}")
    for batch in (1_000, 10_000):
        rate = base_rate = 0.0
        size = base_size = 0.0
        for attempt in range(3):
            fresh = workdir / f"empty-{batch}-{attempt}.db"
            store = await SQLiteHistoryStore.open(fresh, clock=clock, retention=retention, maintenance_interval_s=None)
            rate = max(rate, await timed_appends(store, recent, batch))
            await store.close()
            size = fresh.stat().st_size / len(recent)
            naive = naive_rate(workdir / f"naive-{batch}-{attempt}.db", recent, batch)
            base_rate, base_size = max(base_rate, naive[0]), naive[1]
        print(f"{'baseline: rowid table + index, text ids':<44}{batch:>8}{base_rate:>12,.0f}{base_size:>11.1f}")
        print(f"{'SQLiteHistoryStore (WITHOUT ROWID, int ids)':<44}{batch:>8}{rate:>12,.0f}{size:>11.1f}")
        print(f"  ratio store/baseline: {rate / base_rate:.2f}x rows/s, {size / base_size:.2f}x bytes/row")

    path = workdir / "history.db"
    store = await SQLiteHistoryStore.open(path, clock=clock, retention=retention, maintenance_interval_s=None)
    try:
        # 30 d to 24 h ago every 15 min, then every 60 s up to the 2 h of 10 s samples above.
        backfill = updates(NOW - 30 * DAY, NOW - DAY, 900.0, seed=2) + updates(NOW - DAY, NOW - 2 * 3600, 60.0, 4)
        started = time.perf_counter()
        await timed_appends(store, backfill, 10_000)
        fill_s = time.perf_counter() - started
        started = time.perf_counter()
        await store.maintain(now=NOW - 2 * 3600)
        rollup_30d_s = time.perf_counter() - started
        rate_on_big = await timed_appends(store, recent, 10_000)
        total = len(backfill) + len(recent)
        print(
            f"\nstore of {total:,} rows: backfill {len(backfill):,} rows in {fill_s:.1f} s; "
            f"then {len(recent):,} rows at {rate_on_big:,.0f} rows/s (batches of 10,000)"
        )

        started = time.perf_counter()
        await store.maintain(now=NOW - 3600 + 10)  # one hour of closed minutes at 10 s per point
        rollup_1h_s = time.perf_counter() - started
        one_minute = updates(NOW, NOW + 60, 60 / 50, seed=3)  # 20,000 rows in one minute (the target rate)
        await store.maintain(now=NOW + 10)
        await store.append(one_minute)
        started = time.perf_counter()
        await store.maintain(now=NOW + 60 + 10)
        rollup_1m_s = time.perf_counter() - started
        print(
            f"rollups: first pass over 30 d {rollup_30d_s * 1000:,.0f} ms; one hour {rollup_1h_s * 1000:,.0f} ms; "
            f"one minute of {len(one_minute):,} rows at the target rate {rollup_1m_s * 1000:,.1f} ms"
        )
        await store.maintain(now=NOW + 3600 + 10)
        clock_now = NOW + 120.0
        await clock.advance(clock_now - clock.time())

        point = "dev3.analog_2"
        print(f"\nquery times for {point} (median of 15, fresh read connection pool)")
        print(f"{'query':<34}{'rows':>8}{'ms':>10}")
        for label, start, end, step in (
            ("1 h raw", NOW - 3600, NOW, None),
            ("24 h per-minute (step 60)", NOW - DAY, NOW, 60.0),
            ("30 d per-hour (step 3600)", NOW - 30 * DAY, NOW, 3600.0),
            ("7 d step 900 (from minutes)", NOW - 7 * DAY, NOW, 900.0),
        ):
            ms, rows = await median_ms(partial(store.query, point, start, end, step))
            print(f"{label:<34}{rows:>8}{ms:>10.2f}")
    finally:
        await store.close()
    print(
        f"\nappend cost of {TARGET_RATE:,} updates/s (10,000-row batches on the big store): "
        f"{TARGET_RATE / rate_on_big * 100:.1f} % of one core"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-history-") as directory:
        asyncio.run(run(Path(directory)))


if __name__ == "__main__":
    main()
