"""Bench (c): sustained point updates/s through PointBus -> SQLite history recorder -> /ws client (goal 100,000/s).

This process runs the runtime (bus, SQLite HistoryRecorder, API under uvicorn) and a publisher of synthetic
PointUpdates over 1,000 points; a second process is the /ws client (2 cores: one each). The publisher offers as
much as the pipeline takes without growing queues: it publishes in chunks and pauses while any subscriber's queue
is above a high-water mark, so the figure is a sustainable rate with no drops, not a burst into a buffer.
The run ends when the client has received and the recorder has written everything.

Baseline in the same run: the same publisher into a bare PointBus with one subscriber task draining it.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.bench_latency import GUID, serve, staff_ws_url

POINTS = 1_000
DURATION_S = 6.0
CHUNK = 500
HIGH_WATER = 5_000  # below the /ws client queue (20,000): a paused publisher, never a dropped update
END_POINT = "bench.end"
GOAL = 100_000  # updates/s


def pipeline_site() -> Any:
    from twin.site.model import SiteConfig

    return SiteConfig.model_validate(
        {
            "site": {"id": "bench", "name": {"zh": "基准", "en": "Bench"}, "ifc": "none.ifc"},
            "zones": [{"id": "hall", "name": {"zh": "大厅", "en": "Hall"}, "zone_type": "waiting", "ifc_guid": GUID}],
        }
    )


def _updates(start: int, count: int, now: float) -> list[Any]:
    from twin.points import PointUpdate, Quality

    return [
        PointUpdate(f"bench.p{(start + i) % POINTS:04d}", float(start + i), Quality.GOOD, now, now)
        for i in range(count)
    ]


async def _publish(bus: Any, duration: float) -> tuple[int, float]:
    """Offer chunks for ``duration`` seconds, pausing while a subscriber is behind; (published, seconds)."""
    published = 0
    started = time.perf_counter()
    while time.perf_counter() - started < duration:
        if any(len(sub) > HIGH_WATER for sub in bus.subscriptions):
            await asyncio.sleep(0.001)
            continue
        bus.publish_many(_updates(published, CHUNK, time.time()))
        published += CHUNK
        await asyncio.sleep(0)
    return published, time.perf_counter() - started


async def _until(condition: Callable[[], bool], poll_s: float = 0.001, limit_s: float = 120.0) -> None:
    """Wait for a condition another task or process makes true (bounded: a stuck pipeline fails the bench)."""
    deadline = time.perf_counter() + limit_s
    while True:
        if condition():
            return
        if time.perf_counter() > deadline:
            raise TimeoutError(f"bench: condition not reached within {limit_s:g} s")
        await asyncio.sleep(poll_s)


async def _baseline(duration: float) -> float:
    from twin.bus import PointBus

    bus = PointBus()
    subscription = bus.subscribe("baseline", maxsize=20_000)
    received = 0

    async def drain() -> None:
        nonlocal received
        while True:
            received += len(await subscription.get_batch(5_000))

    drainer = asyncio.create_task(drain(), name="bench-baseline-drain")
    started = time.perf_counter()
    published, _ = await _publish(bus, duration)
    await _until(lambda: received >= published)
    elapsed = time.perf_counter() - started
    drainer.cancel()
    await asyncio.gather(drainer, return_exceptions=True)
    assert subscription.dropped == 0
    return published / elapsed


# --- the /ws client process ---------------------------------------------------------------------------------


async def _client_main(url: str) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    received = dropped = frames = 0
    async with connect(url, max_size=None) as ws:  # url: staff_ws_url
        await ws.recv()  # the snapshot
        while True:
            frame = json.loads(await ws.recv())
            frames += 1
            if frame["type"] == "dropped":
                dropped += frame["count"]
                continue
            points = frame["points"]
            if points and points[-1]["id"] == END_POINT:
                received += len(points) - 1
                return {"received": received, "dropped": dropped, "frames": frames, "end": time.time()}
            received += len(points)


def _client_process(url: str, results: Any) -> None:
    results.put(asyncio.run(_client_main(url)))


async def _pipeline(duration: float) -> dict[str, Any]:
    from api.runtime import HallRuntime
    from twin.points import PointUpdate, Quality

    with tempfile.TemporaryDirectory(prefix="halltwin-bench-") as tmp:
        runtime = HallRuntime(pipeline_site(), Path(tmp) / "site.yaml", Path(tmp) / "data", poll_devices=False)
        async with serve(runtime) as url:
            context = multiprocessing.get_context("spawn")
            results = context.Queue()
            ws_url = await staff_ws_url(runtime, url)
            client = context.Process(target=_client_process, args=(ws_url, results), daemon=True)
            client.start()
            await _until(lambda: len(runtime.live.feeds) >= 1)  # the client is connected and subscribed
            wall_start = time.time()
            published, _ = await _publish(runtime.bus, duration)
            runtime.bus.publish(PointUpdate(END_POINT, 0.0, Quality.GOOD, time.time(), time.time()))
            result: dict[str, Any] = await asyncio.to_thread(results.get, True, 120)
            recorder = runtime.recorder
            assert recorder is not None
            await _until(lambda: recorder.written >= published + 1)
            recorded_end = time.time()
            await asyncio.to_thread(client.join, 10)
            drops = sum(sub.dropped for sub in runtime.bus.subscriptions) + result["dropped"] + recorder.dropped
            return {
                "published": published,
                "received": result["received"],
                "written": recorder.written - 1,
                "frames": result["frames"],
                "drops": drops,
                "seconds": max(result["end"], recorded_end) - wall_start,
            }


async def _main() -> None:
    baseline = await _baseline(2.0)
    figures = await _pipeline(DURATION_S)
    rate = figures["published"] / figures["seconds"]
    print(f"bus only (1 draining subscriber):            {baseline:>10,.0f} updates/s")
    print(
        f"bus -> SQLite recorder -> /ws client:        {rate:>10,.0f} updates/s sustained "
        f"over {figures['seconds']:.1f} s ({figures['published']:,} published, "
        f"{figures['received']:,} on /ws in {figures['frames']:,} frames, "
        f"{figures['written']:,} in SQLite, {figures['drops']} dropped)"
    )
    verdict = "met" if rate >= GOAL else "NOT met"
    print(f"ratio pipeline/bus-only: {rate / baseline:.2f}  (goal >= {GOAL:,} updates/s: {verdict})")


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
