"""The twin core types: Quality, Reading, PointUpdate, the PointBus and the clocks."""

from __future__ import annotations

import asyncio
import math

import pytest

from twin.bus import PointBus
from twin.clock import ManualClock, SystemClock
from twin.points import PointUpdate, Quality, Reading, new_readings


def update(point_id: str, value: float, ts: float = 1.0) -> PointUpdate:
    return PointUpdate(point_id, value, Quality.GOOD, ts, ts)


def test_reading_is_frozen_and_converts_to_update() -> None:
    reading = Reading("a", 1.5, Quality.GOOD, 10.0)
    with pytest.raises(AttributeError):
        reading.value = 2.0  # type: ignore[misc]
    assert PointUpdate.from_reading(reading, 11.0) == PointUpdate("a", 1.5, Quality.GOOD, 10.0, 11.0)
    assert Reading.bad("a", 3.0) == Reading("a", None, Quality.BAD, 3.0)


def test_readings_built_from_field_tuples_are_readings() -> None:
    built = list(new_readings([("a", 1.5, Quality.GOOD, 10.0, None), ("b", None, Quality.BAD, 11.0, "NaN")]))
    assert built == [Reading("a", 1.5, Quality.GOOD, 10.0), Reading("b", None, Quality.BAD, 11.0, "NaN")]
    assert all(type(reading) is Reading for reading in built) and built[1].reason == "NaN"


def test_update_json_has_no_nan() -> None:
    assert update("a", 2.0).to_json() == {"id": "a", "v": 2.0, "q": "GOOD", "ts": 1.0, "sts": 1.0}
    assert PointUpdate("a", math.nan, Quality.BAD, 1.0, 1.0).to_json()["v"] is None


async def test_bus_fans_out_in_order_and_keeps_latest() -> None:
    bus = PointBus()
    first, second = bus.subscribe("first"), bus.subscribe("second")
    bus.publish_many([update("a", 1), update("b", 2), update("a", 3)])
    assert [u.value for u in await first.get_batch()] == [1, 2, 3]
    assert [u.value for u in await second.get_batch(max_items=2)] == [1, 2]
    assert [u.value for u in second.drain()] == [3]
    assert bus.latest["a"].value == 3 and bus.published == 3


async def test_slow_subscriber_drops_oldest_and_counts_without_blocking(caplog: pytest.LogCaptureFixture) -> None:
    bus = PointBus()
    slow = bus.subscribe("slow", maxsize=3)
    fast = bus.subscribe("fast", maxsize=100)
    bus.publish_many(update("p", i) for i in range(10))
    assert [u.value for u in slow.drain()] == [7, 8, 9]
    assert slow.dropped == 7 and fast.dropped == 0 and len(fast) == 10
    assert sum("too slow" in r.message for r in caplog.records) == 1  # logged once, not per drop


async def test_filter_and_close() -> None:
    bus = PointBus()
    only_a = bus.subscribe("a", accept=lambda pid: pid.startswith("a"))
    bus.publish_many([update("a1", 1), update("b1", 2)])
    assert [u.point_id for u in only_a.drain()] == ["a1"]
    waiter = asyncio.create_task(only_a.get_batch())
    await asyncio.sleep(0)
    only_a.close()
    assert await waiter == []
    assert only_a not in bus.subscriptions
    bus.publish(update("a2", 3))
    assert len(only_a) == 0


async def test_get_batch_waits_and_times_out() -> None:
    bus = PointBus()
    sub = bus.subscribe("s")
    assert await sub.get_batch(wait_s=0.01) == []
    waiter = asyncio.create_task(sub.get_batch())
    await asyncio.sleep(0)
    bus.publish(update("x", 1))
    assert [u.value for u in await waiter] == [1]


def test_subscription_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        PointBus().subscribe("bad", maxsize=0)


async def test_manual_clock_wakes_sleepers_in_deadline_order() -> None:
    clock = ManualClock(start=1000.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    tasks = [asyncio.create_task(sleeper("late", 5)), asyncio.create_task(sleeper("early", 2))]
    await asyncio.sleep(0)
    await clock.advance(1)
    assert woke == []
    await clock.advance(10)
    assert woke == [("early", 2), ("late", 5)]
    assert clock.monotonic() == 11 and clock.time() == 1011
    await asyncio.gather(*tasks)


async def test_system_clock() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    await clock.sleep(0.001)
    assert clock.monotonic() > before and clock.time() > 1.7e9


async def test_publish_many_is_publish_of_each_update_in_order() -> None:
    """The batch path of publish_many (one extend per subscriber) drops, counts, filters and keeps the latest
    exactly as publishing the updates one by one does."""
    one_by_one, batched = PointBus(), PointBus()
    for bus in (one_by_one, batched):
        bus.subscribe("small", maxsize=4)
        bus.subscribe("only b", maxsize=100, accept=lambda pid: pid == "b")
        bus.publish(update("a", -1))
    updates = [update("ab"[i % 2], i) for i in range(7)]
    for u in updates:
        one_by_one.publish(u)
    batched.publish_many(iter(updates))
    for first, second in zip(one_by_one.subscriptions, batched.subscriptions, strict=True):
        assert first.drain() == second.drain() and first.dropped == second.dropped
    assert dict(one_by_one.latest) == dict(batched.latest) and one_by_one.published == batched.published == 8
    assert [sub.dropped for sub in batched.subscriptions] == [4, 0]
