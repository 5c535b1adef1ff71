"""HistoryRecorder: the PointBus subscriber that writes every PointUpdate to a HistoryStore in batches."""

from __future__ import annotations

import asyncio
import logging

from monitoring.history.base import HistoryStore, HistoryStoreError
from twin.backoff import RetryDelay
from twin.bus import PointBus, Subscription
from twin.clock import Clock, SystemClock
from twin.points import PointUpdate
from twin.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class HistoryRecorder:
    """Owns one named task that takes whatever the bus queued (up to ``batch_size``) and appends it as one
    batch. Under load batches grow by themselves while the previous append runs; at a trickle (fewer than
    ``trickle_below`` queued, e.g. a COV notification at a time) the task gathers for ``batch_window_s`` first:
    never when the queue is already long, which only held up a fast pipeline. Every append hands work to the
    store's writer thread, and a hand-over per update cost a fifth of the event loop's time (the two threads
    trade the GIL at each one), for history that nobody reads within 100 ms.
    A failing store is retried with backoff holding the batch; meanwhile the bus queue (``queue_size``)
    absorbs new updates and, if it overflows, drops the oldest and counts them (PointBus policy)."""

    def __init__(
        self,
        bus: PointBus,
        store: HistoryStore,
        clock: Clock | None = None,
        batch_size: int = 10_000,
        queue_size: int = 500_000,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        batch_window_s: float = 0.1,
        trickle_below: int = 100,
        name: str = "history-recorder",
    ) -> None:
        self.bus = bus
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.batch_size = batch_size
        self.queue_size = queue_size
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.batch_window_s = batch_window_s
        self.trickle_below = trickle_below
        self.name = name
        self.written = 0
        self.lost = 0  # updates given up on: a store that never came back by stop(), or a store bug
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._unwritten: list[PointUpdate] = []
        self._failing = False

    @property
    def dropped(self) -> int:
        """Updates the bus dropped because this subscriber's queue was full."""
        return self._subscription.dropped if self._subscription is not None else 0

    @property
    def failing(self) -> bool:
        """True while the store refuses appends (the current batch is held and retried)."""
        return self._failing

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError(f"{self.name} is already started")
        self._subscription = self.bus.subscribe("history", maxsize=self.queue_size)
        self._task = asyncio.create_task(self._run(self._subscription), name=self.name)

    async def _run(self, subscription: Subscription) -> None:
        while True:
            batch = await subscription.get_batch(self.batch_size)
            if not batch:
                if subscription.closed:
                    return  # stop(): everything queued before it has been written
                continue
            if len(batch) < self.trickle_below and self.batch_window_s > 0 and not subscription.closed:
                await asyncio.sleep(self.batch_window_s)  # real time, not the clock: a pause, not a schedule
                batch.extend(await subscription.get_batch(self.batch_size - len(batch), wait_s=0))
            self._unwritten = batch
            await self._write(batch)
            self._unwritten = []

    async def _write(self, batch: list[PointUpdate]) -> None:
        delay = RetryDelay(self.retry_initial_s, self.retry_max_s)
        while True:
            try:
                await self.store.append(batch)
            except (HistoryStoreError, OSError) as exc:
                if not self._failing:
                    self._failing = True
                    log.error("history store failing, holding %d updates and retrying: %s", len(batch), exc)
                await self.clock.sleep(delay.next())
                continue
            except Exception:  # a bug, not an outage: drop this batch loudly rather than stop recording
                log.exception("history store raised unexpectedly; %d updates dropped", len(batch))
                self.lost += len(batch)
                return
            if self._failing:
                self._failing = False
                log.warning("history store recovered")
            self.written += len(batch)
            return

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop receiving, write what was already queued, and end the task (cancelled after ``grace_s``)."""
        if self._task is None or self._subscription is None:
            return
        self._subscription.close()
        task, self._task = self._task, None
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_s)
        except TimeoutError:
            await cancel_and_wait(task)
            unwritten = len(self._unwritten) + len(self._subscription.drain())
            self.lost += unwritten
            log.error("%s stopped before the history store accepted %d updates", self.name, unwritten)
