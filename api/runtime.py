"""HallRuntime: owns the site, the PointBus, the clock and every background task of one running hall."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

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
    ) -> None:
        self.site = site
        self.site_path = site_path
        self.ifc_path = (site_path.parent / site.site.ifc).resolve()
        self.data_dir = data_dir
        self.cache_dir = data_dir / "cache"
        self.clock: Clock = clock or SystemClock()
        self.bus = PointBus()
        self._tasks: set[asyncio.Task[Any]] = set()

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

    async def stop(self) -> None:
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
