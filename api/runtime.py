"""HallRuntime: owns the site, the PointBus, the clock and every background task of one running hall."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

from api.live_fanout import LiveFanout
from iot_gateway.gateway import Gateway, PointInfo, point_catalog
from monitoring.history.base import HistoryStore
from monitoring.history.recorder import HistoryRecorder
from twin.bus import PointBus
from twin.clock import Clock, SystemClock
from twin.site.model import SiteConfig

log = logging.getLogger(__name__)


class HallRuntime:
    """Everything one hall needs at run time. Every background task is named and owned here, so that stop()
    cancels and awaits all of them (house rule 2)."""

    def __init__(
        self,
        site: SiteConfig,
        site_path: Path,
        data_dir: Path,
        clock: Clock | None = None,
        poll_devices: bool = True,
    ) -> None:
        self.site = site
        self.site_path = site_path
        self.ifc_path = (site_path.parent / site.site.ifc).resolve()
        self.data_dir = data_dir
        self.cache_dir = data_dir / "cache"
        self.clock: Clock = clock or SystemClock()
        self.bus = PointBus()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Points and live data: poll_devices=False serves the API without talking to any device.
        self.poll_devices = poll_devices
        self.point_catalog: dict[str, PointInfo] = point_catalog(site)
        self.live = LiveFanout(self.bus)
        self.gateway: Gateway | None = None
        self.history: HistoryStore | None = None
        self.recorder: HistoryRecorder | None = None

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start a named background task owned by this runtime; its crash is logged, never silent."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("task %s died", name, exc_info=finished.exception())

        task.add_done_callback(done)
        return task

    def task_names(self) -> list[str]:
        return [task.get_name() for task in self._tasks]

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        await self._start_points()

    async def _start_points(self) -> None:
        """History first (so the first values are recorded), then the gateway's pollers."""
        from monitoring.history.sqlite_store import SQLiteHistoryStore

        self.live = LiveFanout(self.bus)  # fresh: a stopped runtime's fan-out refuses new clients
        self.history = await SQLiteHistoryStore.open(self.data_dir / "history.sqlite", clock=self.clock)
        self.recorder = HistoryRecorder(self.bus, self.history, self.clock)
        self.recorder.start()
        if self.poll_devices:
            self.gateway = Gateway(self.site, self.bus, self.clock)
            await self.gateway.start(self.spawn)

    async def _stop_points(self) -> None:
        """Live clients first, then the pollers, then the recorder writes what it holds and the store closes."""
        self.live.close()
        if self.gateway is not None:
            await self.gateway.stop()
            self.gateway = None
        if self.recorder is not None:
            await self.recorder.stop()
            self.recorder = None
        if self.history is not None:
            await self.history.close()
            self.history = None

    async def stop(self) -> None:
        await self._stop_points()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()
