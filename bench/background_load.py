"""Background load for latency benches: 5,000 point updates/s published on a runtime's PointBus (500 points x 10/s),
and the site.yaml device those points belong to."""

from __future__ import annotations

import asyncio
import time
from typing import Any

LOAD_POINTS = 500
LOAD_RATE = 5_000  # point updates per second
TICK_S = LOAD_POINTS / LOAD_RATE


def load_device(zone: str, ifc_guid: str) -> dict[str, Any]:
    """The site.yaml device of the load's points: an MQTT device that nothing publishes for (the load goes on the
    bus directly), stale only after an hour."""
    return {
        "id": "load", "name": {"zh": "负载", "en": "Load"}, "kind": "temp_humidity", "zone": zone,
        "ifc_guid": ifc_guid, "connection": {"type": "mqtt", "topic": "bench/load", "stale_after_s": 3600},
        "points": [{"id": f"load.p{i}", "name": {"zh": f"点{i}", "en": f"P{i}"}, "kind": "analog", "brick": "Point",
                    "address": {"type": "mqtt", "json_path": f"v{i}"}} for i in range(LOAD_POINTS)],
    }  # fmt: skip


async def publish_load(bus: Any, stop: asyncio.Event, sent: list[int]) -> None:
    """Until ``stop``: every point of the load device each TICK_S, as one batch (as a poll of many devices lands);
    ``sent[0]`` counts the updates."""
    from twin.points import PointUpdate, Quality

    value = 0.0
    next_at = time.monotonic()
    while not stop.is_set():
        value += 0.1
        now = time.time()
        bus.publish_many([PointUpdate(f"load.p{i}", value + i, Quality.GOOD, now, now) for i in range(LOAD_POINTS)])
        sent[0] += LOAD_POINTS
        next_at += TICK_S
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
