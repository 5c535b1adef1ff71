"""Live fan-out of the PointBus to WebSocket clients: each frame encoded once per point filter, a bounded queue and
drop accounting per client.

Why shared encoders: with the bus subscribed and every frame JSON-encoded once per client, /ws delivery p99 went
from 14 ms with one client to 320 ms with 500 (bench/bench_ws_clients.py). Clients that ask for the same points
(all of them, or one ``?points=`` list) now share one bus subscription and one ``FilterEncoder``: it batches the
updates, writes each frame's JSON once and hands the same text to every feed. A feed only queues references to
that text; only a client that falls behind costs work of its own (the frame is cut to the newest updates it can
hold, see ``LiveFeed._trim``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

from store.users import Role
from twin.bus import PointBus
from twin.points import PointUpdate
from twin.wire import dumps, frame_of_parts, update_json

log = logging.getLogger(__name__)

# Batching window: after the first update of a batch, wait this long for more, so 2,000 updates/s are at most
# ~500 frames/s instead of 2,000, while adding at most 2 ms of latency (5 ms made up most of the p50 of value
# change -> /ws; under load batches fill up by themselves while frames are being sent).
BATCH_WINDOW_S = 0.002
# With many clients the cost is the sends, not the encoding: every frame is one socket write per client (~10 us
# each written straight by api/ws_protocol.py, ~40 us through ASGI). A filter's window therefore grows with its
# clients so that it makes at most ~SENDS_PER_S sends a second (200 clients: 5 ms, 500: 12.5 ms), capped so that
# the window never takes more than half of the 50 ms p99 budget. Measured with 500 clients (bench_ws_clients):
# 20,000 gave p99 55 ms (25 ms windows), 40,000 36 ms, 60,000 72 ms (the clients' process could not keep up).
SENDS_PER_S = 40_000
MAX_WINDOW_S = 0.025
MAX_BATCH = 5_000
# Per client: a browser that stops reading loses its oldest updates beyond this, never stalls the bus or the others.
CLIENT_QUEUE = 20_000
# The shared subscription of one filter is emptied every turn of the event loop; only a starved loop fills it, and
# what it loses is reported to every client of the filter.
ENCODER_QUEUE = 100_000
# Frames of other types (alarms) waiting for one client; a client this far behind loses the oldest of them.
EXTRA_QUEUE = 1_000

# A frame to send: a dict, or JSON text already.
Frame = dict[str, Any] | str


class EncodedUpdates:
    """One batch of updates as /ws JSON, written once for every client of a filter: each update's text (to cut the
    batch for a client that fell behind) and the whole frame's text (made on first use, then shared)."""

    __slots__ = ("_text", "parts")

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts
        self._text: str | None = None

    @property
    def count(self) -> int:
        return len(self.parts)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = frame_of_parts("updates", self.parts)
        return self._text

    def newest(self, count: int) -> EncodedUpdates:
        return EncodedUpdates(self.parts[len(self.parts) - count :])


class LiveFeed:
    """One client's stream: the frames its encoder (and broadcasts) queued for it, bounded, with drops counted."""

    def __init__(
        self, bus: PointBus, name: str, points: frozenset[str] | None, maxsize: int, max_batch: int = MAX_BATCH,
        role: Role | None = None,
    ) -> None:  # fmt: skip
        if maxsize < 1:
            raise ValueError(f"feed {name!r}: maxsize must be >= 1, got {maxsize}")
        self.bus = bus
        self.name = name
        self.points = points
        self.role = role  # the client's role: frames for some roles only (work orders, pages) go by it
        # The connection's shared-frame writer (api/ws_protocol.py), set by the sender once the snapshot is out:
        # while the sender waits with nothing queued, a frame is written at once instead of waking it.
        self.write_now: Callable[[str], bool] | None = None
        self._waiting = False
        self.maxsize = maxsize
        self.max_batch = max_batch
        self.dropped = 0  # updates lost to a full queue, in all
        self.dropped_frames = 0  # frames of other types lost, in all
        self.sent_updates = 0
        self._queue: deque[EncodedUpdates | str] = deque()
        self._queued_updates = 0
        self._queued_extras = 0
        self._reported = (0, 0)
        self._ready = asyncio.Event()
        self._closed = False

    def snapshot(self) -> str:
        """Every point's latest update. Taken after the feed joined its encoder: an update published in between
        arrives once more in the stream (in order, so the client ends at the latest value), none is lost."""
        latest = self.bus.latest
        if self.points is None:
            updates: list[PointUpdate] = list(latest.values())
        else:
            updates = [latest[point_id] for point_id in self.points if point_id in latest]
        return frame_of_parts("snapshot", list(map(update_json, updates)))

    def offer(self, frame: EncodedUpdates) -> None:
        """Queue a shared batch; beyond ``maxsize`` updates the oldest are dropped and counted."""
        if self._closed:
            return
        write = self._writer() if frame.count <= self.maxsize else None  # too big for the client: cut, below
        if write is not None and write(frame.text):
            self.sent_updates += frame.count
            return
        self._queue.append(frame)
        self._queued_updates += frame.count
        if self._queued_updates > self.maxsize:
            self._trim(self._queued_updates - self.maxsize)
        self._ready.set()

    def offer_text(self, text: str) -> None:
        """Queue a frame of another type (JSON text); beyond EXTRA_QUEUE of them the oldest is dropped."""
        if self._closed:
            return
        write = self._writer()
        if write is not None and write(text):
            return
        if self._queued_extras >= EXTRA_QUEUE:
            oldest = next(item for item in self._queue if isinstance(item, str))
            self._queue.remove(oldest)
            self._queued_extras -= 1
            self.dropped_frames += 1
        self._queue.append(text)
        self._queued_extras += 1
        self._ready.set()

    def _writer(self) -> Callable[[str], bool] | None:
        """``write_now`` when a frame may skip the queue: the sender is idle with nothing queued and no loss to
        report first, so the client still gets frames in the order they came."""
        if self._waiting and not self._queue and self._reported == (self.dropped, self.dropped_frames):
            return self.write_now
        return None

    def lost(self, count: int) -> None:
        """Updates the shared subscription dropped before this feed's encoder could take them."""
        self.dropped += count
        self._ready.set()

    def _trim(self, overflow: int) -> None:
        """Drop the ``overflow`` oldest updates: whole batches first, then the head of the oldest one left."""
        if self.dropped == 0:
            log.warning(
                "websocket client %s is too slow: dropping oldest updates (queue of %d)", self.name, self.maxsize
            )
        kept: deque[EncodedUpdates | str] = deque()
        for item in self._queue:
            if overflow > 0 and isinstance(item, EncodedUpdates):
                if item.count <= overflow:
                    overflow -= item.count
                    self.dropped += item.count
                    self._queued_updates -= item.count
                    continue
                item = item.newest(item.count - overflow)
                self.dropped += overflow
                self._queued_updates -= overflow
                overflow = 0
            kept.append(item)
        self._queue = kept

    async def next_frames(self) -> list[str]:
        """Wait for frames and return the texts to send next (consecutive batches joined into one frame, after a
        "dropped" frame when updates were lost); an empty list once the feed is closed."""
        while not self._queue and not self._closed and self._reported == (self.dropped, self.dropped_frames):
            self._ready.clear()
            self._waiting = True
            try:
                await self._ready.wait()
            finally:
                self._waiting = False
        if self._closed:
            return []
        items, self._queue = self._queue, deque()
        self._queued_updates = self._queued_extras = 0
        frames: list[str] = []
        lost = self.dropped - self._reported[0]
        lost_frames = self.dropped_frames - self._reported[1]
        if lost or lost_frames:
            self._reported = (self.dropped, self.dropped_frames)
            report: dict[str, Any] = {"type": "dropped", "count": lost}
            if lost_frames:
                report["frames"] = lost_frames
            frames.append(dumps(report))
        pending: list[EncodedUpdates] = []
        pending_count = 0
        for item in items:
            if isinstance(item, str) or pending_count + item.count > self.max_batch:
                self._flush(pending, frames)
                pending, pending_count = [], 0
            if isinstance(item, str):
                frames.append(item)
            else:
                pending.append(item)
                pending_count += item.count
        self._flush(pending, frames)
        return frames

    def _flush(self, pending: list[EncodedUpdates], frames: list[str]) -> None:
        if not pending:
            return
        if len(pending) == 1:
            frames.append(pending[0].text)  # the shared text: no work of this client's own
            self.sent_updates += pending[0].count
        else:  # this client fell behind by a few batches: one frame of them all
            parts = [part for batch in pending for part in batch.parts]
            frames.append(frame_of_parts("updates", parts))
            self.sent_updates += len(parts)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop the stream: a waiting sender wakes up with no frames."""
        self._closed = True
        self._queue.clear()
        self._ready.set()


class FilterEncoder:
    """The feeds of one point filter: one bus subscription, each batch encoded once and offered to all of them."""

    def __init__(self, bus: PointBus, name: str, points: frozenset[str] | None, window: float, max_batch: int) -> None:
        self.name = name
        self.points = points
        self.window = window
        self.max_batch = max_batch
        self.feeds: dict[LiveFeed, None] = {}  # insertion-ordered set: frames reach clients in the order they came
        self.subscription = bus.subscribe(
            name, maxsize=ENCODER_QUEUE, accept=points.__contains__ if points is not None else None
        )
        self.task = asyncio.create_task(self._run(), name=name)

    async def _run(self) -> None:
        subscription = self.subscription
        reported = 0
        while True:
            batch = await subscription.get_batch(self.max_batch)
            if not batch:
                return  # closed
            window = self.current_window()
            if len(batch) < self.max_batch and window > 0 and not subscription.closed:
                await asyncio.sleep(window)
                if len(subscription):  # non-empty: get_batch returns at once
                    batch.extend(await subscription.get_batch(self.max_batch - len(batch)))
            feeds = list(self.feeds)
            lost = subscription.dropped - reported
            if lost:
                reported = subscription.dropped
                for feed in feeds:
                    feed.lost(lost)
            frame = EncodedUpdates(_encode(batch, feeds))
            for feed in feeds:
                feed.offer(frame)

    def current_window(self) -> float:
        """The batching window for the clients this filter has now (see SENDS_PER_S)."""
        if self.window <= 0:
            return 0.0
        return max(self.window, min(MAX_WINDOW_S, len(self.feeds) / SENDS_PER_S))

    def close(self) -> None:
        self.subscription.close()  # the task sees an empty batch and ends


def _encode(batch: list[PointUpdate], feeds: list[LiveFeed]) -> list[str]:
    """Each update's /ws JSON. A value JSON cannot hold (a driver bug) costs that update, counted as dropped for
    every client and logged, never the encoder: a dead encoder would silence every client of its filter."""
    try:
        return list(map(update_json, batch))
    except (TypeError, ValueError):
        parts: list[str] = []
        for update in batch:
            try:
                parts.append(update_json(update))
            except (TypeError, ValueError) as exc:
                log.error("point %s: value %r cannot be sent to /ws clients: %s", update.point_id, update.value, exc)
                for feed in feeds:
                    feed.lost(1)
        return parts


class LiveFanout:
    """The live feeds of one runtime, grouped by filter under shared encoders; shutdown ends every stream."""

    def __init__(
        self,
        bus: PointBus,
        client_queue: int = CLIENT_QUEUE,
        *,
        window: float = BATCH_WINDOW_S,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.bus = bus
        self.client_queue = client_queue
        self.window = window
        self.max_batch = max_batch
        self.feeds: set[LiveFeed] = set()
        self.encoders: dict[frozenset[str] | None, FilterEncoder] = {}
        self._encoder_of: dict[LiveFeed, FilterEncoder] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self.closing = False

    def open(
        self, points: Collection[str] | None = None, *, maxsize: int | None = None, role: Role | None = None
    ) -> LiveFeed:
        """A new feed of ``points`` (None or empty: all) for a client of ``role``, joined to its filter's encoder
        before it is returned, so that its snapshot, taken afterwards, misses nothing the stream does not bring."""
        if self.closing:
            raise RuntimeError("the live stream is shutting down")
        key = frozenset(points) if points else None
        feed = LiveFeed(self.bus, f"ws-{next(self._ids)}", key, maxsize or self.client_queue, self.max_batch, role)
        encoder = self.encoders.get(key)
        if encoder is None:
            encoder = FilterEncoder(self.bus, f"ws-encoder-{feed.name}", key, self.window, self.max_batch)
            self.encoders[key] = encoder
            self._tasks.add(encoder.task)
            encoder.task.add_done_callback(self._tasks.discard)
        encoder.feeds[feed] = None
        self._encoder_of[feed] = encoder
        self.feeds.add(feed)
        return feed

    def release(self, feed: LiveFeed) -> None:
        feed.close()
        self.feeds.discard(feed)
        encoder = self._encoder_of.pop(feed, None)
        if encoder is None:
            return
        encoder.feeds.pop(feed, None)
        if not encoder.feeds:  # the filter's last client: its subscription and encoder go too
            encoder.close()
            if self.encoders.get(encoder.points) is encoder:
                del self.encoders[encoder.points]

    def broadcast(self, frame: Frame, roles: Collection[Role] | None = None) -> int:
        """Send a frame of another type (e.g. ``{"type": "alarm", ...}``) to every open feed, or only to the feeds
        of clients whose role is in ``roles`` (a work order to those who may read work orders, a page to its role),
        encoded once; returns the number of feeds it was queued for."""
        text = frame if isinstance(frame, str) else dumps(frame)
        feeds = list(self.feeds) if roles is None else [feed for feed in self.feeds if feed.role in roles]
        for feed in feeds:
            feed.offer_text(text)
        return len(feeds)

    def close(self) -> None:
        """Wake every feed with 'closed' (its sender then closes the WebSocket with 1001) and end the encoders."""
        self.closing = True
        for feed in list(self.feeds):
            self.release(feed)
        for encoder in list(self.encoders.values()):
            encoder.close()
        self.encoders.clear()

    async def wait_closed(self) -> None:
        """After close(): until every encoder task has ended."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
