"""Live fan-out of the PointBus to WebSocket clients: snapshot, batched frames, per-client drop accounting."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Collection
from typing import Any

from twin.bus import PointBus, Subscription
from twin.wire import points_frame

# Batching window: after the first update of a batch, wait this long for more, so 2,000 updates/s are at most
# ~500 frames/s per client instead of 2,000, while adding at most 2 ms of latency (5 ms made up most of the
# p50 of value change -> /ws; under load batches fill up by themselves while a frame is being sent).
BATCH_WINDOW_S = 0.002
MAX_BATCH = 5_000
# Per client: a browser that stops reading loses its oldest updates beyond this, never stalls the bus.
CLIENT_QUEUE = 20_000

# A frame to send: a dict, or JSON text already (the updates and snapshots, written by twin.wire: they carry
# every value, and json.dumps of a dict per update was the largest cost of the /ws path).
Frame = dict[str, Any] | str


class LiveFeed:
    """One client's view of the bus: an optional point filter, a bounded subscription and the frames to send."""

    def __init__(
        self,
        bus: PointBus,
        name: str,
        points: Collection[str] | None = None,
        *,
        maxsize: int = CLIENT_QUEUE,
        window: float = BATCH_WINDOW_S,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.bus = bus
        self.points = frozenset(points) if points else None
        # Subscribe before the snapshot is taken: an update in between is sent twice at worst, never lost.
        self.subscription: Subscription = bus.subscribe(
            name, maxsize=maxsize, accept=self.points.__contains__ if self.points else None
        )
        self.window = window
        self.max_batch = max_batch
        self._reported_drops = 0
        self.sent_updates = 0

    def snapshot(self) -> Frame:
        latest = self.bus.latest
        if self.points is None:
            updates = list(latest.values())
        else:
            updates = [latest[point_id] for point_id in self.points if point_id in latest]
        return points_frame("snapshot", updates)

    async def next_frames(self) -> list[Frame]:
        """Wait for updates and return the frames to send next; an empty list once the feed is closed."""
        subscription = self.subscription
        batch = await subscription.get_batch(self.max_batch)
        if not batch:
            return []
        if len(batch) < self.max_batch and self.window > 0 and not subscription.closed:
            await asyncio.sleep(self.window)
            batch.extend(await subscription.get_batch(self.max_batch - len(batch), wait_s=0))
        frames: list[Frame] = []
        dropped = subscription.dropped - self._reported_drops
        if dropped:
            self._reported_drops = subscription.dropped
            frames.append({"type": "dropped", "count": dropped})
        self.sent_updates += len(batch)
        frames.append(points_frame("updates", batch))
        return frames

    @property
    def closed(self) -> bool:
        return self.subscription.closed

    def close(self) -> None:
        self.subscription.close()


class LiveFanout:
    """The set of live feeds of one runtime, so shutdown can end every client stream cleanly."""

    def __init__(self, bus: PointBus, client_queue: int = CLIENT_QUEUE) -> None:
        self.bus = bus
        self.client_queue = client_queue
        self.feeds: set[LiveFeed] = set()
        self._ids = itertools.count(1)
        self.closing = False

    def open(self, points: Collection[str] | None = None, **options: Any) -> LiveFeed:
        if self.closing:
            raise RuntimeError("the live stream is shutting down")
        options.setdefault("maxsize", self.client_queue)
        feed = LiveFeed(self.bus, f"ws-{next(self._ids)}", points, **options)
        self.feeds.add(feed)
        return feed

    def release(self, feed: LiveFeed) -> None:
        feed.close()
        self.feeds.discard(feed)

    def close(self) -> None:
        """Wake every feed with 'closed': its sender then closes the WebSocket with 1001 (going away)."""
        self.closing = True
        for feed in list(self.feeds):
            feed.close()
