"""VictoriaMetrics killed with SIGKILL while updates flow, and two updates of one point in one millisecond:
every published sample is in VictoriaMetrics exactly once."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from pathlib import Path

import httpx
import pytest

from monitoring.history import StoreAndForward, VictoriaMetricsStore
from monitoring.vm_server import VictoriaMetricsServer
from tests.peers import wait_until
from twin.points import PointUpdate, Quality

POINTS = [f"pm_{n}.active_power" for n in range(20)]


async def exported(url: str, site: str) -> dict[str, list[tuple[int, float]]]:
    """Every (ms, value) VM holds per point of the site, from /api/v1/export (the raw data, not a query)."""
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        (await client.get("/internal/force_flush")).raise_for_status()
        response = await client.get("/api/v1/export", params={"match[]": f'halltwin_value{{site="{site}"}}'})
    response.raise_for_status()
    series: dict[str, list[tuple[int, float]]] = {}
    for line in response.text.splitlines():
        item = json.loads(line)
        series[item["metric"]["point"]] = sorted(zip(item["timestamps"], item["values"], strict=True))
    return series


async def test_sigkill_of_victoria_metrics_loses_no_acknowledged_sample(
    vm_server: VictoriaMetricsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="monitoring.history.store_forward")
    await asyncio.to_thread(vm_server.start)
    site, t0 = f"t-{uuid.uuid4().hex[:8]}", time.time() - 600
    remote = VictoriaMetricsStore(vm_server.url, site=site, timeout_s=2.0)
    store = await StoreAndForward.open(
        remote, tmp_path / "spool.db", batch_size=200, retry_initial_s=0.05, retry_max_s=0.2, restart_check_s=0.5
    )
    appended = 0
    stop_appending = asyncio.Event()

    async def keep_appending() -> None:
        nonlocal appended
        while not stop_appending.is_set():
            await store.append(
                [
                    PointUpdate(POINTS[i % len(POINTS)], float(i), Quality.GOOD, t0 + i / 1000, t0 + i / 1000)
                    for i in range(appended, appended + 50)
                ]
            )
            appended += 50
            await asyncio.sleep(0.01)

    appender = asyncio.create_task(keep_appending(), name="test-appender")
    try:
        await wait_until(lambda: store.forwarded >= 3000, 20, "3000 points acknowledged by VictoriaMetrics")
        acknowledged = store.forwarded
        await asyncio.to_thread(vm_server.kill)  # acknowledged samples still in VM's memory die with it
        await wait_until(lambda: store.remote_down, 10, "the forwarder noticing VictoriaMetrics is gone")
        during_outage = appended
        await wait_until(lambda: appended >= during_outage + 500, 10, "500 more points spooled during the outage")
        await asyncio.to_thread(vm_server.start)  # same port, same data dir, a new run
        await wait_until(lambda: not store.remote_down, 15, "the forwarder noticing VictoriaMetrics is back")
        stop_appending.set()
        await appender
        assert await store.wait_forwarded(within_s=30)
        # Everything acknowledged within keep_acked_s before the kill was sent again.
        assert store.resent >= acknowledged
        assert await store.kept() > 0 and await store.pending() == 0
    finally:
        stop_appending.set()
        await asyncio.gather(appender, return_exceptions=True)
        await store.close()
    series = await exported(vm_server.url, site)
    values = sorted(value for samples in series.values() for _, value in samples)
    assert values == [float(i) for i in range(appended)]  # every sample, exactly once
    messages = [r.getMessage() for r in caplog.records]
    assert sum("history backend restarted" in m for m in messages) == 1


async def test_two_updates_of_one_point_in_one_millisecond_are_both_in_victoria_metrics(
    vm_server: VictoriaMetricsServer, tmp_path: Path
) -> None:
    await asyncio.to_thread(vm_server.start)
    site, t0 = f"t-{uuid.uuid4().hex[:8]}", float(int(time.time()) - 600)
    remote = VictoriaMetricsStore(vm_server.url, site=site, timeout_s=2.0)
    store = await StoreAndForward.open(remote, tmp_path / "spool.db", retry_initial_s=0.05, restart_check_s=0.2)
    t0_ms = round(t0 * 1000)

    def update(point: str, value: float, ms: float) -> PointUpdate:
        return PointUpdate(point, value, Quality.GOOD, t0 + ms / 1000, t0 + ms / 1000)

    try:
        await store.append([update("p", 1.0, 5.1), update("p", 2.0, 5.4), update("p", 3.0, 6.0)])
        await store.append([update("p", 4.0, 6.0), update("q", 9.0, 6.0), update("p", 5.0, 20.0)])
        assert await store.wait_forwarded(within_s=20)
        expected = {
            "p": [(t0_ms + 5, 1.0), (t0_ms + 6, 2.0), (t0_ms + 7, 3.0), (t0_ms + 8, 4.0), (t0_ms + 20, 5.0)],
            "q": [(t0_ms + 6, 9.0)],
        }
        assert await exported(vm_server.url, site) == expected
        # A re-send after a crash carries the same moved timestamps: still each sample once. VM reports its start
        # in whole seconds, so the next run is told apart from one that starts in a later second (documented).
        run = await remote.current_run()
        await wait_until(lambda: time.time() >= run.started_at + 1.05, 5, "a second after VictoriaMetrics started")
        await asyncio.to_thread(vm_server.kill)
        await asyncio.to_thread(vm_server.start)
        await wait_until(lambda: store.resent == 6, 20, "the kept samples re-sent to the new run")
        assert await store.wait_forwarded(within_s=20)
    finally:
        await store.close()
    assert await exported(vm_server.url, site) == expected
