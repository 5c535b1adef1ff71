"""Wires the broadcast into a running hall: the service, its /ws frames, the fire linkage and the alarm sink."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from broadcast.fire import FireLinkage
from broadcast.service import BroadcastService

if TYPE_CHECKING:
    from api.runtime import HallRuntime

log = logging.getLogger(__name__)


class EngineAlarmSink:
    """Linkage failures as alarms of the alarm engine (its ``raise_external``), or logged when it has none."""

    def __init__(self, runtime: HallRuntime) -> None:
        self.runtime = runtime

    async def raise_linkage_failure(self, key: str, title: dict[str, str], message: dict[str, str],
                                    zone: str | None, evidence: dict[str, Any]) -> int | None:  # fmt: skip
        engine = getattr(self.runtime, "alarms", None)
        raise_external = getattr(engine, "raise_external", None)
        if raise_external is None:
            log.error("LINKAGE FAILURE (no alarm engine to raise it): %s: %s", title["en"], message["en"])
            return None
        device, site_zone, ifc_guid = self._place(zone, evidence)
        alarm = await raise_external(key=key, alarm_class="linkage", priority="critical", title=title,
                                     message=message, zone=site_zone, device=device, ifc_guid=ifc_guid,
                                     value=evidence)  # fmt: skip
        return getattr(alarm, "id", None)

    async def clear_linkage_failure(self, key: str) -> None:
        clear = getattr(getattr(self.runtime, "alarms", None), "clear_external", None)
        if clear is not None:
            await clear(key)

    def _place(self, pa_zone: str | None, evidence: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
        """Where the alarm points in the twin: the first failed speaker or door, else the PA zone's first zone."""
        site = self.runtime.site
        for failure in evidence.get("failures", []):
            if failure.get("speaker"):
                try:
                    speaker = site.device(failure["speaker"])
                except KeyError:
                    continue
                return speaker.id, speaker.zone, speaker.ifc_guid
            if failure.get("door"):
                door = next((d for d in site.doors if d.id == failure["door"]), None)
                if door is not None:
                    return None, door.zone, door.ifc_guid
        pa = next((p for p in site.pa_zones if p.id == pa_zone), None)
        return None, pa.zones[0] if pa else None, None


class BroadcastNode:
    """The BroadcastService and its FireLinkage, started and stopped with the runtime."""

    def __init__(self, runtime: HallRuntime) -> None:
        store = runtime.store
        self.runtime = runtime
        self.service = BroadcastService(runtime.site, runtime.site_path.parent, runtime.data_dir, store.engine,
                                        store.audit, runtime.clock, runtime.spawn)  # fmt: skip
        self.service.bus = runtime.bus
        self.fire = FireLinkage(self.service, runtime.bus, runtime.site, EngineAlarmSink(runtime))
        self._unsubscribe: Any = None

    async def start(self) -> None:
        await self.service.start()
        runtime = self.runtime

        def publish(states: list[dict[str, Any]]) -> None:
            runtime.live.broadcast({"type": "broadcast", "zones": states})

        self.service.listeners.append(publish)
        runtime.spawn("broadcast-fire-inputs", self.fire.run())

    def link(self, linkage_bus: Any) -> None:
        """Take the alarm linkage's evacuation requests (alarms/linkage_bus.py: EvacuationRequested/Ended)."""
        self._unsubscribe = linkage_bus.subscribe(self.fire.on_request)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.service.stop()
