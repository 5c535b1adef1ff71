"""The simulated hall: one protocol simulator per device, driven by the HallState and its scenarios."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from iot_gateway.simulators.hall_model import HallModel
from iot_gateway.simulators.hall_state import HallState
from iot_gateway.simulators.scenarios import Scenario, build_scenario
from twin.clock import Clock, SystemClock
from twin.points import Value
from twin.site.model import BacnetConnection, Device, ModbusConnection, MqttConnection, SiteConfig
from twin.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class DeviceSimulator(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def set_value(self, point_id: str, value: Value) -> None: ...

    def get_value(self, point_id: str) -> Value: ...


@dataclass(frozen=True)
class HallLayout:
    """Where things are: the zone of each IFC element, and the zones each IfcZone group (a fire zone) covers."""

    element_zone: Mapping[str, str] = field(default_factory=dict)
    group_zones: Mapping[str, frozenset[str]] = field(default_factory=dict)


def read_layout(ifc_path: Path, site: SiteConfig) -> HallLayout:
    """The HallLayout of ``site`` from its IFC (blocking: run it in a thread)."""
    import ifcopenshell
    import ifcopenshell.util.element

    zone_of_space = {zone.ifc_guid: zone.id for zone in site.zones}
    model: Any = ifcopenshell.open(str(ifc_path))  # entity typing of ifcopenshell is too loose for mypy
    element_zone: dict[str, str] = {}
    for element in model.by_type("IfcElement"):
        container = ifcopenshell.util.element.get_container(element)
        if container is not None and container.GlobalId in zone_of_space:
            element_zone[element.GlobalId] = zone_of_space[container.GlobalId]
    group_zones: dict[str, frozenset[str]] = {}
    for group in model.by_type("IfcZone"):
        members = [obj for rel in group.IsGroupedBy for obj in rel.RelatedObjects]
        covered = (zone_of_space[member.GlobalId] for member in members if member.GlobalId in zone_of_space)
        group_zones[group.GlobalId] = frozenset(covered)
    return HallLayout(element_zone, group_zones)


def make_simulator(device: Device, site: SiteConfig) -> DeviceSimulator | None:
    """The protocol simulator for ``device``, or None for devices the gateway does not poll."""
    connection = device.connection
    if isinstance(connection, ModbusConnection):
        from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator

        return ModbusDeviceSimulator(device)
    if isinstance(connection, BacnetConnection):
        from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator

        return BacnetDeviceSimulator(device)
    if isinstance(connection, MqttConnection):
        from iot_gateway.simulators.mqtt_sim import MqttDeviceSimulator

        return MqttDeviceSimulator(device, site.mqtt)
    return None


class HallSimulator:
    """Runs every device of a site as a real protocol server on loopback and moves the hall along.

    ``time_scale`` speeds simulated time up (a demo shows a day in minutes); ``start_hour`` sets the simulated
    time of day at start, so a demo at night still shows opening-hours traffic.
    """

    def __init__(
        self,
        site: SiteConfig,
        layout: HallLayout | None = None,
        clock: Clock | None = None,
        time_scale: float = 1.0,
        start_hour: float = 9.5,
        tick_s: float = 1.0,
        seed: int = 7,
    ) -> None:
        if time_scale <= 0 or tick_s <= 0:
            raise ValueError("time_scale and tick_s must be positive")
        self.site = site
        self.clock: Clock = clock or SystemClock()
        self.time_scale = time_scale
        self.tick_s = tick_s
        self.state = HallState(hour=start_hour % 24.0, seed=seed)
        self.model = HallModel(site, layout or HallLayout(), self.state)
        self.simulators: dict[str, DeviceSimulator] = {}
        for device in site.devices:
            simulator = make_simulator(device, site)
            if simulator is not None:
                self.simulators[device.id] = simulator
        self._owner = {p.id: d.id for d in site.devices for p in d.points if d.id in self.simulators}
        self._writable = [p.id for d in site.devices for p in d.points if p.writable and d.id in self.simulators]
        self._last: dict[str, Value] = {}
        self.active: dict[str, Scenario] = {}
        self._task: asyncio.Task[None] | None = None

    def simulator_of(self, point_id: str) -> DeviceSimulator:
        return self.simulators[self._owner[point_id]]

    async def start(self) -> None:
        """Start every device server, publish the first values, then tick in a named background task."""
        # Commandable points start at the model's defaults (AC on, doors locked) until a client writes them.
        for point_id, value in self.model.values({}).items():
            if point_id in self._owner:
                self.simulator_of(point_id).set_value(point_id, value)
        self.update(0.0)
        await asyncio.gather(*(sim.start() for sim in self.simulators.values()))
        log.info("simulating %d devices of %s", len(self.simulators), self.site.site.id)
        self._task = asyncio.create_task(self._run(), name=f"hall-simulator:{self.site.site.id}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        await asyncio.gather(*(sim.stop() for sim in self.simulators.values()), return_exceptions=True)

    async def _run(self) -> None:
        last = self.clock.monotonic()
        while True:
            await self.clock.sleep(self.tick_s)
            now = self.clock.monotonic()
            self.update(now - last)
            last = now

    def update(self, elapsed_s: float) -> None:
        """Advance the hall by ``elapsed_s`` of real time and hand changed values to the device servers."""
        written = {pid: self.simulator_of(pid).get_value(pid) for pid in self._writable}
        written = {pid: value for pid, value in written.items() if value is not None}
        self.model.apply_writes(written)
        simulated_s = elapsed_s * self.time_scale
        self.state.step(simulated_s)
        self.model.integrate(simulated_s)
        for point_id, value in self.model.values(written).items():
            if point_id in self._owner and self._last.get(point_id) != value:
                self._last[point_id] = value
                self.simulator_of(point_id).set_value(point_id, value)

    def start_scenario(self, name: str, target: str | None = None) -> Scenario:
        """Start an incident now; the device servers report it from the next update on."""
        scenario = build_scenario(self.site, name, target)
        scenario.start(self.state)
        self.active[name] = scenario
        log.warning("scenario started: %s", scenario.description)
        self.update(0.0)
        return scenario

    def clear_scenario(self, name: str) -> None:
        scenario = self.active.pop(name, None)
        if scenario is not None:
            scenario.clear(self.state)
            log.warning("scenario cleared: %s", scenario.description)
            self.update(0.0)
