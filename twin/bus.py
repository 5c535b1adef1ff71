"""The PointBus: fan-out of PointUpdates to named subscribers, each with its own bounded queue."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from operator import attrgetter

from twin.points import PointUpdate

log = logging.getLogger(__name__)
_point_id = attrgetter("point_id")


class Subscription:
    """One subscriber's bounded queue. When it is full the oldest update is dropped and counted:
    a slow consumer (a stalled browser) must never hold up the gateway or the other subscribers."""

    def __init__(self, bus: PointBus, name: str, maxsize: int, accept: Callable[[str], bool] | None) -> None:
        if maxsize < 1:
            raise ValueError(f"subscription {name!r}: maxsize must be >= 1, got {maxsize}")
        self.name = name
        self.maxsize = maxsize
        self.accept = accept
        self.dropped = 0
        self._bus = bus
        self._queue: deque[PointUpdate] = deque(maxlen=maxsize)
        self._ready = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._queue)

    def _offer(self, update: PointUpdate) -> None:
        if self.accept is not None and not self.accept(update.point_id):
            return
        if len(self._queue) >= self.maxsize:  # the deque's maxlen drops the oldest on append
            self._count_drops(1)
        self._queue.append(update)
        self._ready.set()

    def _offer_many(self, updates: list[PointUpdate]) -> None:
        """_offer() of each update, in order, as one extend (the publisher's hot path)."""
        if self.accept is not None:
            accept = self.accept
            updates = [update for update in updates if accept(update.point_id)]
            if not updates:
                return
        overflow = len(self._queue) + len(updates) - self.maxsize
        if overflow > 0:
            self._count_drops(overflow)
        self._queue.extend(updates)
        self._ready.set()

    def _count_drops(self, count: int) -> None:
        if self.dropped == 0:
            log.warning("subscriber %s is too slow: dropping oldest updates (queue of %d)", self.name, self.maxsize)
        self.dropped += count

    async def get_batch(self, max_items: int = 1000, wait_s: float | None = None) -> list[PointUpdate]:
        """Wait for at least one update (at most ``wait_s`` seconds when given, or until close) and return up to
        ``max_items``."""
        if not self._queue and not self._closed:
            self._ready.clear()
            if wait_s is None:
                await self._ready.wait()
            else:
                try:
                    async with asyncio.timeout(wait_s):  # not wait_for: it can swallow a cancel on Python 3.11
                        await self._ready.wait()
                except TimeoutError:
                    return []
        queue = self._queue
        if len(queue) <= max_items:
            batch = list(queue)
            queue.clear()
            return batch
        popleft = queue.popleft
        return [popleft() for _ in range(max(max_items, 0))]

    def drain(self) -> list[PointUpdate]:
        """Everything queued now, without waiting."""
        batch = list(self._queue)
        self._queue.clear()
        return batch

    async def __aiter__(self) -> AsyncIterator[PointUpdate]:
        while not self._closed or self._queue:
            for update in await self.get_batch():
                yield update
            if self._closed and not self._queue:
                return

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop receiving; a waiting consumer wakes up with what is left."""
        self._closed = True
        self._ready.set()
        self._bus._remove(self)


class PointBus:
    """Typed publish/subscribe of PointUpdates with a last-value cache (a new viewer needs a snapshot)."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._latest: dict[str, PointUpdate] = {}
        self.published = 0

    def subscribe(
        self, name: str, maxsize: int = 10_000, accept: Callable[[str], bool] | None = None
    ) -> Subscription:
        subscription = Subscription(self, name, maxsize, accept)
        self._subscriptions.append(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(self._subscriptions)

    @property
    def latest(self) -> Mapping[str, PointUpdate]:
        return self._latest

    def publish(self, update: PointUpdate) -> None:
        self._latest[update.point_id] = update
        self.published += 1
        for subscription in self._subscriptions:
            subscription._offer(update)

    def publish_many(self, updates: Iterable[PointUpdate]) -> None:
        """publish() of each update in order: every subscriber sees them in this order (each gets the batch
        with one extend, not an append per update: a third of a publisher's cost per update)."""
        batch = updates if isinstance(updates, list) else list(updates)
        if not batch:
            return
        self._latest.update(zip(map(_point_id, batch), batch, strict=True))
        self.published += len(batch)
        for subscription in self._subscriptions:
            subscription._offer_many(batch)
