"""StoreAndForward with VictoriaMetrics as the remote: outages and process restarts lose no point."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import time
import uuid
from pathlib import Path

import httpx
import pytest

from monitoring.history import HistoryStoreError, StoreAndForward, VictoriaMetricsStore
from monitoring.vm_server import VictoriaMetricsServer
from tests.peers import free_port, wait_until
from twin.points import PointUpdate, Quality

POINTS = [f"pm_{n}.active_power" for n in range(20)]


def batch(first: int, size: int, t0: float) -> list[PointUpdate]:
    """Updates numbered first..first+size-1, spread over the points, each with its own millisecond."""
    return [
        PointUpdate(POINTS[i % len(POINTS)], float(i), Quality.GOOD, t0 + i / 1000, t0 + i / 1000)
        for i in range(first, first + size)
    ]


async def stored_values(url: str, site: str) -> list[float]:
    """Every value VM holds for the site, counted by /api/v1/export (the raw data, not a query)."""
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        (await client.get("/internal/force_flush")).raise_for_status()
        response = await client.get("/api/v1/export", params={"match[]": f'halltwin_value{{site="{site}"}}'})
    response.raise_for_status()
    values: list[float] = []
    for line in response.text.splitlines():
        values += json.loads(line)["values"]
    return sorted(values)


async def test_outage_of_victoria_metrics_loses_no_point(
    vm_server: VictoriaMetricsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="monitoring.history.store_forward")
    await asyncio.to_thread(vm_server.start)
    site, t0 = f"t-{uuid.uuid4().hex[:8]}", time.time() - 3600
    remote = VictoriaMetricsStore(vm_server.url, site=site, timeout_s=2.0)
    store = await StoreAndForward.open(
        remote, tmp_path / "spool.db", batch_size=300, retry_initial_s=0.05, retry_max_s=0.2
    )
    appended = 0
    stop_appending = asyncio.Event()

    async def keep_appending() -> None:
        nonlocal appended
        while not stop_appending.is_set():
            await store.append(batch(appended, 100, t0))
            appended += 100
            await asyncio.sleep(0.01)

    appender = asyncio.create_task(keep_appending(), name="test-appender")
    try:
        await wait_until(lambda: store.forwarded >= 500, 10, "the first 500 points forwarded")
        await asyncio.to_thread(vm_server.stop)
        await wait_until(lambda: store.remote_down, 10, "the forwarder noticing VictoriaMetrics is down")
        during_outage = appended
        await wait_until(lambda: appended >= during_outage + 1000, 10, "1000 more points spooled during the outage")
        assert await store.pending() > 0
        await asyncio.to_thread(vm_server.start)  # same port, same data dir
        await wait_until(lambda: not store.remote_down, 15, "the forwarder noticing VictoriaMetrics is back")
        stop_appending.set()
        await appender
        assert await store.wait_forwarded(within_s=20)
    finally:
        stop_appending.set()
        await asyncio.gather(appender, return_exceptions=True)
        await store.close()
    assert await stored_values(vm_server.url, site) == [float(i) for i in range(appended)]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("history backend unavailable" in m for m in messages) == 1
    assert sum("history backend recovered, forwarded" in m for m in messages) == 1


async def test_restart_with_a_non_empty_spool_forwards_the_rest(
    vm_server: VictoriaMetricsServer, tmp_path: Path
) -> None:
    site, t0, spool = f"t-{uuid.uuid4().hex[:8]}", time.time() - 3600, tmp_path / "spool.db"
    # First run: VM is not running, so everything stays in the spool when the process stops.
    remote = VictoriaMetricsStore(vm_server.url, site=site, timeout_s=1.0)
    store = await StoreAndForward.open(remote, spool, retry_initial_s=0.05, retry_max_s=0.1)
    for first in range(0, 1500, 500):
        await store.append(batch(first, 500, t0))
    await wait_until(lambda: store.remote_down, 10, "the forwarder noticing VictoriaMetrics is down")
    await store.close()
    with sqlite3.connect(spool) as conn:
        assert conn.execute("SELECT count(*) FROM spool").fetchone()[0] == 1500
    conn.close()

    # Second run: VM is up; the spool left by the first run is forwarded without any new append.
    await asyncio.to_thread(vm_server.start)
    remote = VictoriaMetricsStore(vm_server.url, site=site, timeout_s=2.0)
    store = await StoreAndForward.open(remote, spool, batch_size=400)
    try:
        assert await store.wait_forwarded(within_s=20)
        assert await store.pending() == 0
    finally:
        await store.close()
    assert await stored_values(vm_server.url, site) == [float(i) for i in range(1500)]


async def test_rejected_batches_are_kept_aside_not_retried(tmp_path: Path) -> None:
    """A peer that answers 400 Bad Request to every write: the batch moves to the rejected table."""

    async def answer_400(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        await reader.readexactly(length)
        body = b'{"code":"invalid","message":"bad line"}'
        writer.write(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    port = free_port()
    server = await asyncio.start_server(answer_400, "127.0.0.1", port)
    spool = tmp_path / "spool.db"
    store = await StoreAndForward.open(VictoriaMetricsStore(f"http://127.0.0.1:{port}", site="demo-hall"), spool)
    try:
        await store.append(batch(0, 10, time.time()))
        assert await store.wait_forwarded(within_s=10)
        assert store.rejected == 10 and not store.remote_down
    finally:
        await store.close()
        server.close()
        await server.wait_closed()
    with sqlite3.connect(spool) as conn:
        assert conn.execute("SELECT count(*) FROM rejected WHERE reason LIKE '%400%'").fetchone()[0] == 10
    conn.close()


async def test_unusable_spool_file_is_named(tmp_path: Path) -> None:
    spool = tmp_path / "spool.db"
    spool.write_bytes(b"garbage" * 100)
    remote = VictoriaMetricsStore("http://127.0.0.1:9", site="demo-hall")
    try:
        with pytest.raises(HistoryStoreError, match=f"history spool {re.escape(str(spool))}.*not a usable"):
            await StoreAndForward.open(remote, spool)
    finally:
        await remote.close()
    assert spool.read_bytes() == b"garbage" * 100
