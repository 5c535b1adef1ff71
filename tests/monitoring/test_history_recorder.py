"""HistoryRecorder: PointBus -> batches -> HistoryStore, flushing on stop and riding out store outages."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import httpx

from monitoring.history import HistoryRecorder, SQLiteHistoryStore, VictoriaMetricsStore
from monitoring.vm_server import VictoriaMetricsServer
from tests.peers import wait_until
from twin.bus import PointBus
from twin.clock import ManualClock
from twin.points import PointUpdate, Quality

T0 = 1_699_999_200.0


def update(i: int, t0: float = T0) -> PointUpdate:
    return PointUpdate(f"p{i % 400}", float(i), Quality.GOOD, t0 + i / 1000, t0 + i / 1000)


async def test_everything_published_is_stored_and_stop_flushes(tmp_path: Path) -> None:
    bus = PointBus()
    store = await SQLiteHistoryStore.open(tmp_path / "history.db", maintenance_interval_s=None)
    recorder = HistoryRecorder(bus, store, batch_size=5000)
    recorder.start()
    try:
        for chunk in range(5):
            bus.publish_many(update(i) for i in range(chunk * 5000, (chunk + 1) * 5000))
            await asyncio.sleep(0)
        # Published right before stop, never yielded to the recorder: stop() must still write them.
        bus.publish_many(update(i) for i in range(25_000, 26_000))
        await recorder.stop()
        assert (recorder.written, recorder.dropped, recorder.lost) == (26_000, 0, 0)
        assert bus.subscriptions == ()
        values = [s.value for s in (await store.query("p7", T0, T0 + 100)).samples]
        assert values == [float(i) for i in range(7, 26_000, 400)]
    finally:
        await recorder.stop()
        await store.close()


async def test_store_outage_holds_the_batch_until_the_store_returns(vm_server: VictoriaMetricsServer) -> None:
    site, t0 = f"t-{uuid.uuid4().hex[:8]}", time.time() - 600
    bus = PointBus()
    store = VictoriaMetricsStore(vm_server.url, site=site, timeout_s=1.0)  # VM not started yet
    recorder = HistoryRecorder(bus, store, retry_initial_s=0.05, retry_max_s=0.1)
    recorder.start()
    try:
        bus.publish_many(update(i, t0) for i in range(300))
        await wait_until(lambda: recorder.failing, 10, "the recorder noticing the store is down")
        bus.publish_many(update(i, t0) for i in range(300, 500))
        await asyncio.to_thread(vm_server.start)
        await wait_until(lambda: recorder.written == 500, 15, "the held batch written after the store returned")
        assert not recorder.failing
    finally:
        await recorder.stop()
        await store.close()
    await asyncio.to_thread(vm_server.force_flush)
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.get(
            f"{vm_server.url}/api/v1/export", params={"match[]": f'halltwin_value{{site="{site}"}}'}
        )
    values = sorted(v for line in response.text.splitlines() for v in json.loads(line)["values"])
    assert values == [float(i) for i in range(500)]


async def test_stop_gives_up_on_a_store_that_never_returns(tmp_path: Path) -> None:
    bus = PointBus()
    store = await SQLiteHistoryStore.open(tmp_path / "history.db", maintenance_interval_s=None)
    await store.close()  # every append now fails
    recorder = HistoryRecorder(bus, store, clock=ManualClock(), batch_size=100)
    recorder.start()
    bus.publish_many(update(i) for i in range(250))
    await wait_until(lambda: recorder.failing, 5, "the recorder noticing the store is down")
    await recorder.stop(grace_s=0.2)
    assert (recorder.written, recorder.lost) == (0, 250)
