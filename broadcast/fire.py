"""Fire linkage of the broadcast: evacuation in every PA zone when a fire is confirmed, then its supervision.

Two inputs lead here, both idempotent (an evacuation that runs is not started twice): the alarm linkage's
``EvacuationRequested`` (alarms/linkage_bus.py; it knows the zones on fire and marks drills), and, as a second
path that does not depend on the alarm engine, the fire panel's own confirmed-fire inputs on the PointBus (points
of ``fire_panel`` devices whose Brick class is a Fire_Alarm; the panel did the two-detector AND of GB 50116 4.1.6).
The evacuation covers the whole building at once (GB 50116 4.8.8) and preempts everything else in each zone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from broadcast.model import BroadcastRefused
from broadcast.service import BroadcastService
from broadcast.supervision import AlarmSink, FireSupervisor
from store.audit import SYSTEM
from twin.bus import PointBus, Subscription
from twin.points import PointUpdate, Quality
from twin.site.model import DeviceKind, SiteConfig

log = logging.getLogger(__name__)


def fire_inputs(site: SiteConfig) -> set[str]:
    """The fire panel points that mean 'fire confirmed'."""
    return {
        point.id
        for device in site.devices
        if device.kind == DeviceKind.FIRE_PANEL
        for point in device.points
        if point.kind == "binary" and "fire_alarm" in point.brick.lower()
    }


class FireLinkage:
    """Starts (and, when the site allows, ends) the evacuation broadcast and its supervisor."""

    def __init__(self, service: BroadcastService, bus: PointBus, site: SiteConfig, sink: AlarmSink | None,
                 audit_query: Any = None) -> None:  # fmt: skip
        self.service = service
        self.bus = bus
        self.site = site
        self.sink = sink
        self.inputs = fire_inputs(site)
        self.burning: set[str] = set()
        self.evacuation: int | None = None
        self.supervisor: FireSupervisor | None = None
        self._subscription: Subscription | None = None
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        """Follow the fire inputs on the bus (a runtime-owned task)."""
        if not self.inputs:
            return
        self._subscription = self.bus.subscribe("broadcast-fire", maxsize=1000, accept=self.inputs.__contains__)
        for update in [self.bus.latest[p] for p in self.inputs if p in self.bus.latest]:
            await self._update(update)
        try:
            while True:
                batch = await self._subscription.get_batch(100)
                if not batch:
                    return
                for update in batch:
                    await self._update(update)
        finally:
            self._subscription.close()

    async def _update(self, update: PointUpdate) -> None:
        fire = update.value is True and update.quality is Quality.GOOD
        if fire and update.point_id not in self.burning:
            self.burning.add(update.point_id)
            await self.evacuate(f"fire panel input {update.point_id}", (), at=update.source_ts or update.ts)
        elif not fire and update.quality is Quality.GOOD and update.point_id in self.burning:
            self.burning.discard(update.point_id)
            if not self.burning and self.service.settings.evacuation.stop_on_fire_clear:
                await self.end("every fire input is normal again")

    async def on_request(self, request: Any) -> None:
        """A LinkageBus request (EvacuationRequested / EvacuationEnded from alarms/linkage_bus.py)."""
        kind = type(request).__name__
        if kind == "EvacuationRequested":
            trigger = f"alarm {request.alarm_id}" + (" (drill)" if request.drill else "")
            await self.evacuate(trigger, tuple(request.zones), at=float(request.at), pa_zones=request.pa_zones)
        elif kind == "EvacuationEnded" and self.service.settings.evacuation.stop_on_fire_clear and not self.burning:
            await self.end(f"alarm linkage: no fire active (alarm {request.alarm_id})")

    async def evacuate(self, trigger: str, fire_zones: Iterable[str], *, at: float,
                       pa_zones: Iterable[str] | None = None) -> int | None:  # fmt: skip
        async with self._lock:
            if self.evacuation is not None and self.evacuation in self.service.active:
                if self.supervisor is not None:
                    self.supervisor.add_fire_zones(fire_zones)
                return self.evacuation
            zones = list(pa_zones or []) or list(self.service.zones)
            try:
                broadcast = await self.service.start_broadcast(SYSTEM, "evacuation", zones)
            except BroadcastRefused as exc:
                log.error("fire evacuation not started: %s", exc.message)
                return None
            self.evacuation = broadcast.id
            log.warning("fire evacuation broadcast %d started (%s) in %s", broadcast.id, trigger, ", ".join(zones))
            self.supervisor = FireSupervisor(self.service, broadcast, at, trigger, self.sink, list(fire_zones))
            self.service.spawn(f"broadcast-supervise:{broadcast.id}", self.supervisor.run())
            return broadcast.id

    async def end(self, reason: str) -> None:
        async with self._lock:
            if self.evacuation is None or self.evacuation not in self.service.active:
                return
            await self.service.stop_broadcast(SYSTEM, self.evacuation, reason)
            self.evacuation = None
