"""Turns the simulated HallState into the value every point of the site reports, by device kind and point suffix."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iot_gateway.simulators.hall_state import NOMINAL_VOLTAGE, QUEUE_CATEGORIES, HallState
from twin.points import Value
from twin.site.model import Device, DeviceKind, Point, SiteConfig, ZoneType

if TYPE_CHECKING:
    from iot_gateway.simulators.hall import HallLayout

PUBLIC_ZONE_TYPES = {
    ZoneType.GUIDANCE, ZoneType.WINDOW_SERVICE, ZoneType.WAITING, ZoneType.CONVENIENCE, ZoneType.SELF_SERVICE,
    ZoneType.SELF_SERVICE_24H, ZoneType.CIRCULATION,
}  # fmt: skip
AC_DEFAULTS: dict[str, Value] = {"on": True, "mode": 1, "setpoint": 24.0, "fan_speed": 2}
DOOR_DEFAULTS: dict[str, Value] = {"lock": True}


@dataclass(frozen=True)
class BoundPoint:
    """A point with what the model needs to compute it: its device, suffix and the hall zone it sits in."""

    device: Device
    point: Point
    suffix: str
    zone: str


def bind_points(site: SiteConfig, element_zone: Mapping[str, str]) -> list[BoundPoint]:
    """Every configured point with its suffix and zone (the zone of its IFC element, else its device's)."""
    bound = []
    for device in site.devices:
        for point in device.points:
            suffix = point.id.removeprefix(device.id + ".")
            zone = element_zone.get(point.ifc_guid or device.ifc_guid, device.zone)
            bound.append(BoundPoint(device, point, suffix, zone))
    return bound


class HallModel:
    """Computes point values from the state; writable points keep what a client last wrote."""

    def __init__(self, site: SiteConfig, layout: HallLayout, state: HallState) -> None:
        self.state = state
        self.points = bind_points(site, layout.element_zone)
        zone_types = {zone.id: zone.zone_type for zone in site.zones}
        self.server_rooms = {z for z, t in zone_types.items() if t == ZoneType.SERVER_ROOM}
        state.public_zones |= {z for z, t in zone_types.items() if t in PUBLIC_ZONE_TYPES}
        for zone_id, zone_type in zone_types.items():
            state.zone_temp.setdefault(zone_id, 22.0 if zone_type == ZoneType.SERVER_ROOM else 25.0)
            state.zone_humidity.setdefault(zone_id, 45.0 if zone_type == ZoneType.SERVER_ROOM else 52.0)
        meters = [d for d in site.devices if d.kind == DeviceKind.POWER_METER]
        # Main incomer first, then floors and plant: their loads differ by an order of magnitude.
        self.meter_base_kw = {d.id: 60.0 / (1 + i) + 8.0 for i, d in enumerate(meters)}
        for i, meter in enumerate(meters):  # meter registers do not start at zero in a building in use
            state.energy_kwh.setdefault(meter.id, 10_000.0 * (i + 1))
        # A fire zone input covers the zones of the IfcZone its point is bound to.
        self.fire_zone_members = {
            b.point.id: layout.group_zones.get(b.point.ifc_guid or "", frozenset())
            for b in self.points
            if re.fullmatch(r"zone_\d+\.fire", b.suffix)
        }
        self._compute: dict[DeviceKind, Callable[[BoundPoint, Mapping[str, Value]], Value]] = {
            DeviceKind.POWER_METER: self._power_meter,
            DeviceKind.UPS: self._ups,
            DeviceKind.AC_UNIT: self._ac_unit,
            DeviceKind.TEMP_HUMIDITY: self._climate,
            DeviceKind.PEOPLE_COUNTER: self._counter,
            DeviceKind.QUEUE_SYSTEM: self._queue,
        }
        counters = [d.id for d in site.devices if d.kind == DeviceKind.PEOPLE_COUNTER]
        self.counter_share = {d: 1.0 / len(counters) for d in counters}

    def apply_writes(self, written: Mapping[str, Value]) -> None:
        """Let commanded values act on the hall: an AC unit switched off stops cooling its zone."""
        for bound in self.points:
            if bound.device.kind == DeviceKind.AC_UNIT and bound.suffix in ("on", "setpoint"):
                value = written.get(bound.point.id, AC_DEFAULTS[bound.suffix])
                if bound.suffix == "on":
                    self.state.zone_cooling[bound.device.zone] = bool(value)
                elif isinstance(value, int | float):
                    self.state.setpoint[bound.device.zone] = float(value)

    def values(self, written: Mapping[str, Value]) -> dict[str, Value]:
        """The value of every point now. ``written`` holds what clients wrote to writable points."""
        out: dict[str, Value] = {}
        for bound in self.points:
            if bound.point.writable and bound.point.id in written:
                out[bound.point.id] = written[bound.point.id]
                continue
            compute = self._compute.get(bound.device.kind, self._panel)
            out[bound.point.id] = compute(bound, written)
        return out

    # --- per device kind -----------------------------------------------------------------------------------

    def _noise(self, sigma: float) -> float:
        return self.state.rng.gauss(0.0, sigma)

    def meter_power_kw(self, meter_id: str) -> float:
        """The load a meter sees: its base load, more with a fuller hall (lights, screens, AC), none without mains."""
        if not self.state.mains_ok:
            return 0.0
        crowd = min(self.state.occupancy / 200.0, 1.5)
        return self.meter_base_kw[meter_id] * (0.6 + 0.3 * crowd)

    def integrate(self, seconds: float) -> None:
        """Advance what accumulates over simulated time: each meter's energy register."""
        for meter_id in self.meter_base_kw:
            self.state.energy_kwh[meter_id] += self.meter_power_kw(meter_id) * seconds / 3600.0

    def _power_meter(self, bound: BoundPoint, _written: Mapping[str, Value]) -> Value:
        state = self.state
        power = self.meter_power_kw(bound.device.id)
        voltage = NOMINAL_VOLTAGE + self._noise(0.8) if state.mains_ok else 0.0
        power_factor = 0.93 + self._noise(0.005)
        match bound.suffix:
            case "voltage":
                return round(voltage, 2)
            case "current":
                return round(power * 1000.0 / (3 * NOMINAL_VOLTAGE * power_factor), 2) if power else 0.0
            case "active_power":
                return round(power + (self._noise(0.2) if power else 0.0), 3)
            case "power_factor":
                return round(power_factor, 3)
            case "frequency":
                return round(50.0 + self._noise(0.01), 2) if state.mains_ok else 0.0
            case "energy":
                return round(state.energy_kwh[bound.device.id], 1)
        return None

    def _ups(self, bound: BoundPoint, written: Mapping[str, Value]) -> Value:
        state = self.state
        output_on = bool(written.get(f"{bound.device.id}.output_on", True)) and state.battery_charge > 0
        match bound.suffix:
            case "input_voltage":
                return round(NOMINAL_VOLTAGE + self._noise(0.8), 1) if state.mains_ok else 0.0
            case "output_voltage":
                return round(NOMINAL_VOLTAGE + self._noise(0.3), 1) if output_on else 0.0
            case "load":
                return round(state.ups_load + self._noise(0.5), 1) if output_on else 0.0
            case "battery_charge":
                return round(state.battery_charge, 1)
            case "battery_runtime":
                return round(state.ups_runtime_min(), 1)
            case "on_battery":
                return not state.mains_ok
            case "battery_low":
                return state.battery_charge < 20.0
            case "fault":
                return False
            case "output_on":
                return output_on
        return None

    def _ac_unit(self, bound: BoundPoint, written: Mapping[str, Value]) -> Value:
        zone = bound.device.zone
        on = bool(written.get(f"{bound.device.id}.on", AC_DEFAULTS["on"]))
        setpoint = written.get(f"{bound.device.id}.setpoint", AC_DEFAULTS["setpoint"])
        room = self.state.zone_temp.get(zone, 25.0)
        match bound.suffix:
            case "return_air_temp":
                return round(room + self._noise(0.05), 1)
            case "supply_air_temp":
                cooled = float(setpoint) - 8.0 if isinstance(setpoint, int | float) else 16.0
                return round((cooled if on and self.state.mains_ok else room) + self._noise(0.1), 1)
            case "fault":
                return False
        return AC_DEFAULTS.get(bound.suffix)

    def _climate(self, bound: BoundPoint, _written: Mapping[str, Value]) -> Value:
        if bound.suffix == "temperature":
            return round(self.state.zone_temp.get(bound.zone, 25.0) + self._noise(0.05), 2)
        if bound.suffix == "humidity":
            return round(self.state.zone_humidity.get(bound.zone, 50.0) + self._noise(0.2), 1)
        return None

    def _counter(self, bound: BoundPoint, _written: Mapping[str, Value]) -> Value:
        share = self.counter_share.get(bound.device.id, 1.0)
        if bound.suffix == "count_in":
            return int(self.state.entered * share)
        if bound.suffix == "count_out":
            return int(self.state.left * share)
        return None

    def _queue(self, bound: BoundPoint, _written: Mapping[str, Value]) -> Value:
        category, _, what = bound.suffix.partition(".")
        if category not in QUEUE_CATEGORIES:
            return None
        queue = self.state.queues[category]
        match what:
            case "waiting":
                return round(queue.waiting)
            case "last_called":
                return queue.last_called
            case "avg_wait":
                return round(self.state.average_wait_s(category))
            case "open_windows":
                return queue.open_windows
        return None

    def _panel(self, bound: BoundPoint, written: Mapping[str, Value]) -> Value:
        """Fire panel, security and environment controllers: incidents the scenarios set."""
        state, suffix, pid = self.state, bound.suffix, bound.point.id
        if suffix.startswith("smoke_"):
            return bound.zone in state.fire_zones
        if suffix.startswith("leak_"):
            return bound.zone in state.leaking_zones
        if suffix.startswith("ebtn_"):
            return pid in state.pressed_buttons
        if pid in self.fire_zone_members:
            return bool(self.fire_zone_members[pid] & state.fire_zones)
        if suffix == "evac_broadcast":
            return bool(state.fire_zones)
        if suffix == "trouble":
            return not state.mains_ok  # a panel on its standby battery reports a supply trouble
        if suffix == "server_room_temp":
            rooms = [state.zone_temp[z] for z in self.server_rooms if z in state.zone_temp]
            return round((sum(rooms) / len(rooms) if rooms else 22.0) + self._noise(0.05), 2)
        door, _, what = suffix.partition(".")
        if door.startswith("door_"):
            prefix = f"{bound.device.id}.{door}"
            if what == "forced":
                return prefix in state.forced_doors
            if what == "open":
                return prefix in state.forced_doors  # unlocked is not open: only a forced door stands open here
            if what == "lock":
                return DOOR_DEFAULTS["lock"]
        if bound.point.kind.value == "analog":
            return 0.0
        return False

