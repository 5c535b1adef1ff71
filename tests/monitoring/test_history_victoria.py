"""VictoriaMetricsStore against a real VictoriaMetrics: line-protocol writes, export and query_range reads."""

from __future__ import annotations

import math
import time
import uuid

import httpx
import pytest

from monitoring.history import (
    HistoryBackendUnavailable,
    HistoryStore,
    Resolution,
    VictoriaMetricsStore,
)
from tests.peers import free_port
from twin.points import PointUpdate, Quality


def force_flush(url: str) -> None:
    httpx.get(f"{url}/internal/force_flush", timeout=10.0).raise_for_status()


def recent_hour() -> float:
    """An exact hour a few hours ago: VM keeps data within its retention, and aligned buckets are easy to check."""
    return math.floor(time.time() / 3600) * 3600 - 3 * 3600.0


async def test_write_then_query_raw_keeps_values_and_quality(victoria_metrics: str) -> None:
    store = VictoriaMetricsStore(victoria_metrics, site=f"t-{uuid.uuid4().hex[:8]}")
    assert isinstance(store, HistoryStore)
    t0 = recent_hour()
    try:
        await store.append(
            [
                PointUpdate("ups.load", 41.5, Quality.GOOD, t0, t0 + 0.25),
                PointUpdate("ups.load", True, Quality.STALE, t0 + 1, t0 + 1.25),
                PointUpdate("ups.load", None, Quality.UNAVAILABLE, t0 + 2, t0 + 2.25),
                PointUpdate("queue.pickup.last_called", "A023", Quality.GOOD, t0, t0 + 0.5),
                PointUpdate("door_1.open", False, Quality.GOOD, t0, t0 + 0.5),
            ]
        )
        force_flush(victoria_metrics)
        raw = await store.query("ups.load", t0, t0 + 10)
        assert raw.resolution is Resolution.RAW
        assert [(s.ts, s.value, s.quality) for s in raw.samples] == [
            (t0 + 0.25, 41.5, Quality.GOOD),
            (t0 + 1.25, 1.0, Quality.STALE),
            (t0 + 2.25, None, Quality.UNAVAILABLE),
        ]
        # VM keeps numbers only: a text value is recorded as its quality alone.
        text = await store.query("queue.pickup.last_called", t0, t0 + 10)
        assert [(s.value, s.quality) for s in text.samples] == [(None, Quality.GOOD)]
        assert [s.value for s in (await store.query("door_1.open", t0, t0 + 10)).samples] == [0.0]
        assert (await store.query("no.such.point", t0, t0 + 10)).samples == ()
    finally:
        await store.close()


async def test_step_queries_aggregate_per_bucket(victoria_metrics: str) -> None:
    store = VictoriaMetricsStore(victoria_metrics, site=f"t-{uuid.uuid4().hex[:8]}")
    t0 = recent_hour()
    try:
        # Two hours, one sample every 10 s, value = sample index.
        updates = [PointUpdate("ahu.supply_temp", float(i), Quality.GOOD, t0 + i * 10, t0 + i * 10) for i in range(720)]
        await store.append(updates)
        force_flush(victoria_metrics)
        minutes = await store.query("ahu.supply_temp", t0, t0 + 2 * 3600 - 1, step=60)
        assert minutes.resolution is Resolution.MINUTE
        assert len(minutes.buckets) == 120
        second = minutes.buckets[1]
        assert (second.ts, second.avg, second.min, second.max, second.last, second.count) == (
            t0 + 60,
            8.5,
            6.0,
            11.0,
            11.0,
            6,
        )
        hours = await store.query("ahu.supply_temp", t0 + 30, t0 + 2 * 3600 - 1, step=3600)
        assert hours.resolution is Resolution.HOUR
        assert [(b.ts, b.avg, b.count, b.last) for b in hours.buckets] == [
            (t0, 179.5, 360, 359.0),
            (t0 + 3600, 539.5, 360, 719.0),
        ]
        assert (await store.query("no.such.point", t0, t0 + 3600, step=60)).buckets == ()
        with pytest.raises(ValueError, match="after end"):
            await store.query("ahu.supply_temp", t0 + 1, t0)
    finally:
        await store.close()


async def test_unreachable_server_is_reported_as_unavailable() -> None:
    store = VictoriaMetricsStore(f"http://127.0.0.1:{free_port()}", site="demo-hall", timeout_s=2.0)
    try:
        with pytest.raises(HistoryBackendUnavailable, match="unreachable"):
            await store.append([PointUpdate("x", 1.0, Quality.GOOD, 1.0, 1.0)])
        with pytest.raises(HistoryBackendUnavailable, match="unreachable"):
            await store.query("x", 0.0, 10.0)
    finally:
        await store.close()


async def test_line_protocol_escapes_tags_and_omits_non_numeric_values() -> None:
    store = VictoriaMetricsStore("http://127.0.0.1:9", site="demo hall")
    await store.close()
    lines = store.lines(
        [
            PointUpdate("odd,id=x", 2, Quality.GOOD, 1.0, 1.5),
            PointUpdate("q", "A1", Quality.BAD, 1.0, 2.0),
            PointUpdate("n", math.inf, Quality.BAD, 1.0, 3.0),
        ]
    )
    assert lines == [
        "halltwin,site=demo\\ hall,point=odd\\,id\\=x value=2.0,quality=0i 1500",
        "halltwin,site=demo\\ hall,point=q quality=2i 2000",
        "halltwin,site=demo\\ hall,point=n quality=2i 3000",
    ]
