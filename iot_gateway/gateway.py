"""The Gateway: one driver and Poller per device connection of a site; owns their tasks and routes writes."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from iot_gateway.driver import DeviceUnavailable, Driver, WriteRejected
from iot_gateway.poller import Backoff, Poller
from twin import i18n
from twin.bus import PointBus
from twin.clock import Clock
from twin.points import Reading, Value
from twin.site.model import Device, Names, Point, PointKind, SiteConfig
from twin.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Spawn = Callable[[str, Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class UnknownPoint(LookupError):
    """No configured point has this id."""


class PointNotWritable(WriteRejected):
    """The site file does not mark this point writable (or it is a computed point such as comm_lost)."""


class DriverFactory(Protocol):
    """Builds drivers; ``close`` releases what the drivers share (the BACnet application, for instance)."""

    async def create(self, device: Device) -> Driver: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PointInfo:
    """What the API shows about a point besides its live value."""

    id: str
    device: str
    name: Names
    unit: str
    kind: PointKind
    ifc_guid: str
    writable: bool
    states: tuple[str, ...] = ()  # names of multistate values 1..n


def comm_point_info(device: Device) -> PointInfo:
    # The name is the device's own bilingual name in the i18n template, so every device is covered.
    name = i18n.names("point.comm_lost", device=device.name)
    return PointInfo(device.comm_point_id, device.id, name, "", PointKind.BINARY, device.ifc_guid, False)


def point_catalog(site: SiteConfig) -> dict[str, PointInfo]:
    """Every configured point plus the comm-loss point of every polled device, in site-file order."""
    catalog: dict[str, PointInfo] = {}
    for device in site.devices:
        for point in device.points:
            guid = point.ifc_guid or device.ifc_guid
            catalog[point.id] = PointInfo(
                point.id, device.id, point.name, point.unit, point.kind, guid, point.writable, tuple(point.states or ())
            )
        if device.connection is not None and device.connection.type != "computed":  # computed: nothing to lose
            catalog[device.comm_point_id] = comm_point_info(device)
    return catalog


def coerce_write_value(point: Point, value: Value) -> Value:
    """The value in the form the point's kind takes, or WriteRejected saying what was wrong."""
    where = f"point {point.id} ({point.kind.value})"
    if point.kind is PointKind.BINARY:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise WriteRejected(f"{where} takes true/false, got {value!r}")
    if point.kind is PointKind.ANALOG:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return value
        raise WriteRejected(f"{where} takes a finite number, got {value!r}")
    if point.kind is PointKind.MULTISTATE:
        states = point.states or []
        if isinstance(value, str) and value in states:
            return states.index(value) + 1
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(states):
            return value
        choices = ", ".join(f"{i} ({s})" for i, s in enumerate(states, start=1))
        raise WriteRejected(f"{where} takes one of {choices}, got {value!r}")
    if isinstance(value, str):
        return value
    raise WriteRejected(f"{where} takes text, got {value!r}")


class Gateway:
    """Drivers and Pollers for every device with a connection (devices without one are not polled)."""

    def __init__(
        self,
        site: SiteConfig,
        bus: PointBus,
        clock: Clock,
        *,
        driver_factory: DriverFactory | None = None,
        backoff: Backoff | None = None,
        site_dir: Path | None = None,
    ) -> None:
        self.site = site
        self.bus = bus
        self.clock = clock
        self.backoff = backoff
        self.site_dir = site_dir  # relative files named in the site (an MQTT CA file) are found here
        self.pollers: dict[str, Poller] = {}  # by device id
        self._factory = driver_factory
        self._points = {point.id: (device, point) for device in site.devices for point in device.points}
        self._tasks: list[asyncio.Task[Any]] = []
        self._started = False

    @property
    def polled_devices(self) -> list[Device]:
        # Computed devices (queue analytics, crowd density) are published by their service, never polled.
        return [d for d in self.site.devices if d.connection is not None and d.connection.type != "computed"]

    async def start(self, spawn: Spawn | None = None) -> None:
        """Build every driver and start one named poller task per device (through ``spawn`` when given)."""
        if self._started:
            raise RuntimeError("gateway already started")
        self._started = True
        if self._factory is None:
            from iot_gateway.registry import DriverRegistry  # drivers import their protocol libraries lazily

            self._factory = DriverRegistry(self.site, self.clock, self.site_dir)
        start_task = spawn or (lambda name, coro: asyncio.create_task(coro, name=name))
        try:
            polled = self.polled_devices
            for index, device in enumerate(polled):
                driver = await self._factory.create(device)
                # Spread over the period: all devices polled in the same instant make a burst the last wait for.
                phase = index / len(polled)
                self.pollers[device.id] = Poller(driver, self.bus, self.clock, backoff=self.backoff, phase=phase)
        except BaseException:
            await self._factory.close()
            raise
        for device_id, poller in self.pollers.items():
            self._tasks.append(start_task(f"poller:{device_id}", poller.run()))
        log.info("gateway polling %d device(s)", len(self.pollers))

    async def stop(self) -> None:
        """Cancel and await every poller (each closes its driver), then release shared driver resources."""
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(*tasks)
        if self._factory is not None:
            await self._factory.close()
        self.pollers.clear()
        self._started = False

    def poller_of(self, point_id: str) -> tuple[Point, Poller]:
        """The point and the Poller of its device; raises UnknownPoint or DeviceUnavailable (not polled)."""
        found = self._points.get(point_id)
        if found is None:
            raise UnknownPoint(f"no point {point_id!r} in site {self.site.site.id}")
        device, point = found
        poller = self.pollers.get(device.id)
        if poller is None:
            raise DeviceUnavailable(f"device {device.id} is not being polled (gateway not started)")
        return point, poller

    async def write(self, point_id: str, value: Value) -> Reading:
        """Write a point's device and return the point's read-back reading; raises UnknownPoint,
        PointNotWritable, WriteRejected or DeviceUnavailable. ``None`` relinquishes a BACnet command."""
        found = self._points.get(point_id)
        if found is None:
            if any(point_id == device.comm_point_id for device in self.site.devices):
                raise PointNotWritable(f"point {point_id} is computed by the gateway and cannot be written")
            raise UnknownPoint(f"no point {point_id!r} in site {self.site.site.id}")
        device, point = found
        if not point.writable:
            raise PointNotWritable(f"point {point_id} is not writable (writable: false in the site file)")
        if value is None and point.address.type != "bacnet":
            raise WriteRejected(f"point {point_id}: only BACnet commands can be relinquished (written null)")
        coerced = None if value is None else coerce_write_value(point, value)
        point, poller = self.poller_of(point_id)
        reading = await poller.write(point, coerced)
        log.info("wrote %r to %s, read back %r (%s)", coerced, point_id, reading.value, reading.quality.value)
        return reading
