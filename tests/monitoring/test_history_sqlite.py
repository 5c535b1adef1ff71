"""SQLiteHistoryStore on real files: round trip, batching, rollups, retention, resolution choice, bad input."""

from __future__ import annotations

import asyncio
import math
import re
import sqlite3
from pathlib import Path

import pytest

from monitoring.history import (
    HistoryStore,
    HistoryStoreError,
    Resolution,
    RetentionPolicy,
    SQLiteHistoryStore,
)
from twin.clock import ManualClock
from twin.points import PointUpdate, Quality, Value

T0 = 1_699_999_200.0  # an exact hour
DAY = 86_400.0


def update(point: str, value: Value, ts: float, quality: Quality = Quality.GOOD) -> PointUpdate:
    return PointUpdate(point, value, quality, ts - 0.2, ts)


async def open_store(path: Path, clock: ManualClock | None = None, **options: object) -> SQLiteHistoryStore:
    return await SQLiteHistoryStore.open(path, clock=clock or ManualClock(T0), maintenance_interval_s=None, **options)


async def test_round_trip_keeps_values_types_and_quality(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "history.db")
    assert isinstance(store, HistoryStore)
    try:
        await store.append(
            [
                update("pm.voltage", 229.5, T0 + 1),
                update("pm.voltage", 7, T0 + 2),
                update("pm.voltage", True, T0 + 3),
                update("pm.voltage", math.nan, T0 + 4, Quality.BAD),
                update("pm.voltage", None, T0 + 5, Quality.UNAVAILABLE),
                update("queue.integrated.last_called", "A023", T0 + 1),
            ]
        )
        result = await store.query("pm.voltage", T0, T0 + 10)
        assert result.resolution is Resolution.RAW
        assert [(s.ts, s.value, s.quality) for s in result.samples] == [
            (T0 + 1, 229.5, Quality.GOOD),
            (T0 + 2, 7.0, Quality.GOOD),
            (T0 + 3, 1.0, Quality.GOOD),
            (T0 + 4, None, Quality.BAD),
            (T0 + 5, None, Quality.UNAVAILABLE),
        ]
        text = await store.query("queue.integrated.last_called", T0, T0 + 10)
        assert [(s.value, s.quality) for s in text.samples] == [("A023", Quality.GOOD)]
        # The range is inclusive at both ends and millisecond exact.
        assert [s.ts for s in (await store.query("pm.voltage", T0 + 2, T0 + 3)).samples] == [T0 + 2, T0 + 3]
        # A step under a minute still returns raw samples.
        assert len((await store.query("pm.voltage", T0, T0 + 10, step=10)).samples) == 5
    finally:
        await store.close()


async def test_raw_results_stop_at_max_samples(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "history.db", max_samples=3)
    try:
        await store.append([update("p", float(i), T0 + i) for i in range(5)])
        result = await store.query("p", T0, T0 + 10)
        assert ([s.value for s in result.samples], result.truncated) == ([0.0, 1.0, 2.0], True)
        assert not (await store.query("p", T0, T0 + 1)).truncated
    finally:
        await store.close()


async def test_batches_of_any_size_and_concurrent_appends_are_all_stored(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "history.db")
    try:
        big = [update(f"p{i % 400}", float(i), T0 + i * 0.01) for i in range(10_000)]
        await store.append(big)
        small = [[update("solo", float(k * 100 + i), T0 + k * 100 + i) for i in range(100)] for k in range(20)]
        await asyncio.gather(*(store.append(batch) for batch in small))
        await store.append([])
        assert len((await store.query("p7", T0, T0 + 200)).samples) == 25
        solo = await store.query("solo", T0, T0 + 3000)
        assert [s.value for s in solo.samples] == [float(v) for v in range(2000)]
        # A late update with exactly the time of a stored one replaces nothing: both are kept, 1 us apart.
        await store.append([update("solo", -1.0, T0 + 5)])
        again = (await store.query("solo", T0 + 5, T0 + 5.001)).samples
        assert [(s.ts, s.value) for s in again] == [(T0 + 5, 5.0), (T0 + 5.000001, -1.0)]
    finally:
        await store.close()


async def three_hours_every_10_s(store: SQLiteHistoryStore) -> list[PointUpdate]:
    """Value = sample index, plus a BAD sample per minute with an absurd value that rollups must ignore."""
    updates = [update("ahu.supply_temp", float(i), T0 + i * 10) for i in range(3 * 360)]
    updates += [update("ahu.supply_temp", 999.0, T0 + m * 60 + 5, Quality.BAD) for m in range(180)]
    await store.append(updates)
    return updates


async def test_rollups_give_exact_minute_and_hour_aggregates(tmp_path: Path) -> None:
    clock = ManualClock(T0 + 3 * 3600 + 30)
    store = await open_store(tmp_path / "history.db", clock)
    try:
        await three_hours_every_10_s(store)
        report = await store.maintain(now=T0 + 3 * 3600 + 30)
        assert (report.minute_done, report.hour_done) == (T0 + 3 * 3600, T0 + 3 * 3600)

        minutes = await store.query("ahu.supply_temp", T0, T0 + 3 * 3600 - 1, step=60)
        assert minutes.resolution is Resolution.MINUTE
        assert len(minutes.buckets) == 180
        second = minutes.buckets[1]  # samples 6..11
        assert (second.ts, second.avg, second.min, second.max, second.last, second.count) == (
            T0 + 60,
            8.5,
            6.0,
            11.0,
            11.0,
            6,
        )
        five = await store.query("ahu.supply_temp", T0, T0 + 3600 - 1, step=300)
        assert [(b.ts, b.count, b.min, b.max) for b in five.buckets[:2]] == [
            (T0, 30, 0.0, 29.0),
            (T0 + 300, 30, 30.0, 59.0),
        ]
        hours = await store.query("ahu.supply_temp", T0, T0 + 3 * 3600 - 1, step=3600)
        assert hours.resolution is Resolution.HOUR
        assert [(b.ts, b.avg, b.min, b.max, b.last, b.count) for b in hours.buckets] == [
            (T0 + h * 3600, 360 * h + 179.5, 360.0 * h, 360.0 * h + 359, 360.0 * h + 359, 360) for h in range(3)
        ]
    finally:
        await store.close()


async def test_newest_raw_samples_and_late_samples_are_in_aggregates(tmp_path: Path) -> None:
    clock = ManualClock(T0 + 3 * 3600 + 30)
    store = await open_store(tmp_path / "history.db", clock)
    try:
        await three_hours_every_10_s(store)
        await store.maintain(now=T0 + 3 * 3600 + 30)
        # Not rolled up yet (the minute is still open): served from raw samples.
        await store.append([update("ahu.supply_temp", 5000.0 + i, T0 + 3 * 3600 + i) for i in range(3)])
        tail = await store.query("ahu.supply_temp", T0 + 3 * 3600 - 60, T0 + 3 * 3600 + 59, step=60)
        assert [(b.ts, b.count, b.last) for b in tail.buckets] == [
            (T0 + 3 * 3600 - 60, 6, 1079.0),
            (T0 + 3 * 3600, 3, 5002.0),
        ]
        # A sample arriving after its minute and hour were rolled up refreshes both buckets.
        await store.append([update("ahu.supply_temp", 100.0, T0 + 35)])
        first_minute = (await store.query("ahu.supply_temp", T0, T0 + 59, step=60)).buckets[0]
        assert (first_minute.count, first_minute.max, first_minute.last) == (7, 100.0, 5.0)
        first_hour = (await store.query("ahu.supply_temp", T0, T0 + 3599, step=3600)).buckets[0]
        assert (first_hour.count, first_hour.max) == (361, 359.0)
    finally:
        await store.close()


async def test_retention_drops_each_resolution_after_its_period(tmp_path: Path) -> None:
    clock = ManualClock(T0 + 3 * 3600 + 30)
    retention = RetentionPolicy(raw_days=1, minute_days=2, hour_days=30)
    store = await open_store(tmp_path / "history.db", clock, retention=retention)
    point, span = "ahu.supply_temp", (T0, T0 + 3 * 3600 - 1)
    try:
        await three_hours_every_10_s(store)
        # Far past the raw retention, but nothing was rolled up yet: the same pass rolls up, then deletes.
        report = await store.maintain(now=T0 + 1.5 * DAY)
        assert report.deleted_raw == 3 * 360 + 180
        assert (await store.query(point, *span)).samples == ()
        await clock.advance(1.5 * DAY)
        minutes = await store.query(point, *span, step=60)
        assert (minutes.resolution, len(minutes.buckets)) == (Resolution.MINUTE, 180)

        report = await store.maintain(now=T0 + 2.5 * DAY)
        assert report.deleted_minute == 180
        await clock.advance(1.0 * DAY)
        # The per-minute data of that range is gone, so a 60 s step is answered from the hour rollups.
        fallback = await store.query(point, *span, step=60)
        assert (fallback.resolution, [b.count for b in fallback.buckets]) == (Resolution.HOUR, [360, 360, 360])

        report = await store.maintain(now=T0 + 31 * DAY)
        assert report.deleted_hour == 3
        assert (await store.query(point, *span, step=3600)).buckets == ()
    finally:
        await store.close()


async def test_reopen_keeps_history_and_rollup_progress(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    store = await open_store(path, ManualClock(T0 + 3 * 3600 + 30))
    await three_hours_every_10_s(store)
    await store.maintain(now=T0 + 3 * 3600 + 30)
    await store.close()

    store = await open_store(path, ManualClock(T0 + 3 * 3600 + 30))
    try:
        await store.append([update("ahu.supply_temp", 1.0, T0 + 3 * 3600 + 70)])
        report = await store.maintain(now=T0 + 3 * 3600 + 130)
        assert report.minute_done == T0 + 3 * 3600 + 120
        result = await store.query("ahu.supply_temp", T0, T0 + 4 * 3600, step=3600)
        assert [b.count for b in result.buckets] == [360, 360, 360, 1]
    finally:
        await store.close()


async def test_query_bad_input_and_unknown_points(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "history.db")
    try:
        await store.append([update("known", 1.0, T0)])
        with pytest.raises(ValueError, match=r"start \(.*\) is after end"):
            await store.query("known", T0 + 10, T0)
        with pytest.raises(ValueError, match="step must be a positive"):
            await store.query("known", T0, T0 + 10, step=0)
        with pytest.raises(ValueError, match="start must be a finite"):
            await store.query("known", math.nan, T0)
        unknown = await store.query("no.such.point", T0, T0 + 10)
        assert (unknown.resolution, unknown.samples) == (Resolution.RAW, ())
        assert (await store.query("no.such.point", T0, T0 + 3600, step=60)).buckets == ()
        with pytest.raises(ValueError, match="raw_days must be > 0"):
            RetentionPolicy(raw_days=0)
    finally:
        await store.close()
    with pytest.raises(HistoryStoreError, match="closed"):
        await store.append([update("known", 2.0, T0 + 1)])


async def test_unusable_files_are_named_and_left_untouched(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database\n" * 200)
    with pytest.raises(HistoryStoreError, match=f"{re.escape(str(garbage))}.*not a usable SQLite file"):
        await open_store(garbage)
    assert garbage.read_bytes() == b"this is not a database\n" * 200

    foreign = tmp_path / "alarms.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE alarm (id TEXT, state TEXT)")
        conn.execute("INSERT INTO alarm VALUES ('a1', 'ACTIVE')")
    conn.close()
    before = foreign.read_bytes()
    with pytest.raises(HistoryStoreError, match=f"{re.escape(str(foreign))}.*something else"):
        await open_store(foreign)
    assert foreign.read_bytes() == before

    with pytest.raises(HistoryStoreError, match="is not a file"):
        await open_store(tmp_path)


async def test_a_large_batch_keeps_every_kind_of_value(tmp_path: Path) -> None:
    """Batches from 64 rows go to SQLite as one JSON array: every value kind must come back as it went in."""
    kinds: list[tuple[Value, Value, Quality]] = [
        (229.5, 229.5, Quality.GOOD),
        (1e-7, 1e-7, Quality.GOOD),
        (7, 7.0, Quality.GOOD),
        (True, 1.0, Quality.GOOD),
        (False, 0.0, Quality.GOOD),
        ('取号 "A023"\\n\n', '取号 "A023"\\n\n', Quality.GOOD),
        (math.nan, None, Quality.BAD),
        (None, None, Quality.UNAVAILABLE),
    ]
    store = await open_store(tmp_path / "history.db")
    try:
        await store.append([update("mix", kinds[i % 8][0], T0 + i, kinds[i % 8][2]) for i in range(80)])
        samples = (await store.query("mix", T0, T0 + 100)).samples
        assert [(s.ts, s.value, s.quality) for s in samples] == [
            (T0 + i, kinds[i % 8][1], kinds[i % 8][2]) for i in range(80)
        ]
        assert all(type(s.value) is float for s in samples if isinstance(s.value, int | float))
    finally:
        await store.close()


async def test_large_batches_on_both_write_paths_store_every_update(tmp_path: Path) -> None:
    """A large batch of known points with new times is one autocommitted INSERT; one that also holds a new
    point, a late sample, or a sample before the rollup watermark takes the transaction: all are stored, and
    the rollups see the sample that arrived behind the watermark."""
    store = await open_store(tmp_path / "history.db")
    try:
        await store.append([update(f"p{i}", 0.0, T0) for i in range(100)] + [update("q", 0.0, T0)])  # all known
        await store.maintain(now=T0 + 3600)  # minutes rolled up to T0 + 3540
        for k, extra in enumerate(
            [
                [],  # the one-statement path
                [update("new.point", 1.0, T0 + 3000)],  # a new point
                [update("p0", -1.0, T0 + 1)],  # late: older than p0's newest
            ]
        ):
            batch = [update(f"p{i}", float(k + 1), T0 + 3600 + 10 * k + i * 0.01) for i in range(100)]
            await store.append(batch + extra)
        # After q's newest (T0) but before the watermark: stored, and its minute refreshed.
        await store.append([update(f"p{i}", 7.0, T0 + 4000) for i in range(100)] + [update("q", 7.0, T0 + 120)])
        assert [s.value for s in (await store.query("p1", T0, T0 + 5000)).samples] == [0.0, 1.0, 2.0, 3.0, 7.0]
        assert [s.value for s in (await store.query("p0", T0, T0 + 5)).samples] == [0.0, -1.0]
        assert [s.value for s in (await store.query("new.point", T0, T0 + 5000)).samples] == [1.0]
        minute = (await store.query("q", T0 + 120, T0 + 179, step=60)).buckets
        assert [(b.ts, b.count, b.last) for b in minute] == [(T0 + 120, 1, 7.0)]
    finally:
        await store.close()
