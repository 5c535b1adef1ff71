"""`halltwin demo`'s queue system: ticket events on MQTT from the simulated hall, on the hall's simulated time of
day, with four past weeks of arrivals in the journal so the forecast has a weekday profile from the start."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from iot_gateway.simulators.hall import HallSimulator
from iot_gateway.simulators.queue_sim import QueueSystemSimulator, ScaledClock, seed_history, sim_start
from twin.site.model import SiteConfig

log = logging.getLogger(__name__)
SEED_WEEKS = 4


class QueueDemo:
    """The simulated queue system, sharing the hall's visitors and clock speed; ``clock`` is the simulated time of
    day that the runtime's queue analytics run on (api/queues_runtime.py reads ``runtime.queue_clock``)."""

    def __init__(self, site: SiteConfig, hall: HallSimulator, data_dir: Path) -> None:
        local = ZoneInfo(site.site.timezone)
        self.site = site
        self.data_dir = data_dir
        self.local = local
        self.clock = ScaledClock(sim_start(local, hall.state.hour), hall.time_scale)
        self.simulator = QueueSystemSimulator(site, hall.state, self.clock) if site.queues.services else None
        self.daily_visitors = hall.state.daily_visitors

    async def start(self) -> None:
        if self.simulator is None or self.site.queues.events_topic is None:
            return
        today = datetime.fromtimestamp(self.clock.time(), self.local).date()
        written = await asyncio.to_thread(seed_history, self.data_dir / "queues", self.site, self.local, today,
                                          SEED_WEEKS, self.daily_visitors)  # fmt: skip
        if written:
            log.info("queue demo: %d tickets of %d past weeks written to the journal (weekday profile)", written,
                     SEED_WEEKS)  # fmt: skip
        await self.simulator.start()

    async def stop(self) -> None:
        if self.simulator is not None:
            await self.simulator.stop()
