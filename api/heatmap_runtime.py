"""Wires the crowd heatmap into a running hall: the building plan from the model service, the inputs from the bus
and the queue analytics, crowding alarms through the alarm engine."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from monitoring.heatmap.layout import HeatmapLayout, build_layout
from monitoring.heatmap.service import HeatmapService
from monitoring.queues.alarm_watch import AlarmWatch

if TYPE_CHECKING:
    from api.runtime import HallRuntime


class HeatmapNode:
    def __init__(self, runtime: HallRuntime) -> None:
        self.runtime = runtime
        queues = runtime.queues.service if runtime.queues is not None else None
        self.service = HeatmapService(runtime.site, runtime.bus, runtime.clock, queues, self._load)

    async def _load(self) -> HeatmapLayout | None:
        """The plan of the converted model, once the model service has converted it (for the viewer and for us)."""
        model = self.runtime.model_service
        # Never a conversion of our own: servers convert at start (prepare_model), a test only when it asks.
        files = model.converted() if model is not None else None
        if files is None:
            return None
        document = await asyncio.to_thread(lambda: json.loads(files.elements_path.read_text(encoding="utf-8")))
        return build_layout(document, self.runtime.site)

    async def start(self) -> None:
        if self.runtime.alarms is not None:
            self.service.watch = AlarmWatch(self.runtime.alarms, on_delay_s=60.0)
        await self.service.start(self.runtime.spawn)

    async def stop(self) -> None:
        await self.service.stop()
