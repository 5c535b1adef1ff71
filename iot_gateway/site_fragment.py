"""Devices found on a BACnet network (discovery, EDE import) written as a site.yaml ``devices:`` fragment to paste.

What cannot be known from the network (the device's kind, zone and IFC element; a Brick class where object type
and units do not decide it) is written as ``null`` with a ``# TODO`` comment: the user sees it at once, and
``halltwin check`` refuses the file until it is filled in. The YAML is written by hand (not by a YAML library)
because the comments are the point; every string is a JSON string, which is valid YAML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from twin.points import Value
from twin.site.model import BACNET_COMMANDABLE, BACNET_OBJECT_TYPES

# Object type -> point kind of its present-value. Types not listed (device, schedule, trend-log ...) are listed
# in a comment only: they are not points the twin shows.
KIND_OF_OBJECT = {
    "analog-input": "analog", "analog-output": "analog", "analog-value": "analog",
    "binary-input": "binary", "binary-output": "binary", "binary-value": "binary",
    "multi-state-input": "multistate", "multi-state-output": "multistate", "multi-state-value": "multistate",
    "access-door": "binary", "life-safety-point": "text", "life-safety-zone": "text",
    "characterstring-value": "text",
}  # fmt: skip

# (object type, BACnet engineering units) -> Brick class, only where the pair says what the point is. A room
# temperature and a supply-air temperature share both, so only the general class is given; a value or output
# in degrees may be a setpoint or a command, so it is not guessed at all.
BRICK_BY_UNITS = {
    ("analog-input", "degrees-celsius"): "Temperature_Sensor",
    ("analog-input", "degrees-fahrenheit"): "Temperature_Sensor",
    ("analog-input", "degrees-kelvin"): "Temperature_Sensor",
    ("analog-input", "percent-relative-humidity"): "Relative_Humidity_Sensor",
    ("analog-input", "volts"): "Voltage_Sensor",
    ("analog-input", "kilovolts"): "Voltage_Sensor",
    ("analog-input", "amperes"): "Current_Sensor",
    ("analog-input", "milliamperes"): "Current_Sensor",
    ("analog-input", "watts"): "Active_Power_Sensor",
    ("analog-input", "kilowatts"): "Active_Power_Sensor",
    ("analog-input", "kilowatt-hours"): "Energy_Sensor",
    ("analog-input", "watt-hours"): "Energy_Sensor",
    ("analog-input", "hertz"): "Frequency_Sensor",
    ("analog-input", "power-factor"): "Power_Factor_Sensor",
    ("analog-input", "pascals"): "Pressure_Sensor",
    ("analog-input", "kilopascals"): "Pressure_Sensor",
}
# Object types that say what they are whatever their units.
BRICK_BY_TYPE = {"access-door": "Door_Status"}

# BACnet engineering units -> the unit text the twin shows.
UNIT_TEXT = {
    "degrees-celsius": "°C", "degrees-fahrenheit": "°F", "degrees-kelvin": "K", "percent-relative-humidity": "%RH",
    "percent": "%", "volts": "V", "kilovolts": "kV", "amperes": "A", "milliamperes": "mA", "watts": "W",
    "kilowatts": "kW", "kilowatt-hours": "kWh", "watt-hours": "Wh", "hertz": "Hz", "pascals": "Pa",
    "kilopascals": "kPa", "parts-per-million": "ppm", "seconds": "s", "minutes": "min", "hours": "h",
    "liters-per-second": "L/s", "cubic-meters-per-hour": "m³/h", "revolutions-per-minute": "rpm",
}  # fmt: skip

_SLUG_DROP = re.compile(r"[^a-z0-9_.\-]+")


@dataclass(frozen=True, slots=True)
class DiscoveredObject:
    """One object of a device as the network (or an EDE file) describes it."""

    object_type: str  # BACnet spelling, e.g. analog-input
    instance: int
    name: str = ""
    units: str | None = None  # BACnet engineering units, e.g. degrees-celsius
    present_value: Value = None
    description: str = ""
    state_texts: tuple[str, ...] = ()  # multi-state objects: the names of states 1..n

    @property
    def object(self) -> str:
        return f"{self.object_type}:{self.instance}"


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    """A device: its instance, where it answered (None: found by instance only), what it says about itself."""

    instance: int
    address: str | None = None  # host:port
    name: str = ""
    vendor: str = ""
    model: str = ""
    objects: tuple[DiscoveredObject, ...] = field(default=())


def slug(text: str, fallback: str) -> str:
    """An id from a name: lower case, runs of other characters as '-'; ``fallback`` when nothing is left
    (a name in Chinese, say)."""
    cleaned = _SLUG_DROP.sub("-", text.strip().lower()).strip("-.")
    return cleaned[:64] if cleaned and cleaned[0].isalnum() else fallback


def brick_class(obj: DiscoveredObject) -> str | None:
    """The Brick class where object type (and units) leave no doubt, else None."""
    return BRICK_BY_TYPE.get(obj.object_type) or BRICK_BY_UNITS.get((obj.object_type, obj.units or ""))


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _unique(wanted: str, taken: set[str]) -> str:
    candidate, n = wanted, 2
    while candidate in taken:
        candidate, n = f"{wanted}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _value_text(value: Value) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, float) else f"{value:g}"


def _point_lines(device_id: str, obj: DiscoveredObject, taken: set[str]) -> list[str]:
    abbreviation = "".join(part[0] for part in obj.object_type.split("-"))
    point_id = _unique(f"{device_id}.{slug(obj.name, f'{abbreviation}-{obj.instance}')}", taken)
    kind = KIND_OF_OBJECT[obj.object_type]
    label = obj.name or obj.object
    lines = [
        f"      - id: {point_id}",
        f"        name: {{zh: {_q(label)}, en: {_q(label)}}}",
        f"        kind: {kind}",
    ]
    unit = UNIT_TEXT.get(obj.units or "", "")
    if unit:
        lines.append(f"        unit: {_q(unit)}")
    elif obj.units and obj.units != "no-units":
        lines.append(f"        unit: {_q(obj.units)}  # BACnet units {obj.units}: a shorter text may read better")
    brick = brick_class(obj)
    if brick:
        lines.append(f"        brick: {brick}")
    else:
        lines.append("        brick: null  # TODO choose a Brick class")
    lines.append(f"        address: {{type: bacnet, object: '{obj.object}'}}")
    if kind == "multistate":
        if obj.state_texts:
            lines.append(f"        states: [{', '.join(_q(s) for s in obj.state_texts)}]")
        else:
            lines.append("        states: null  # TODO name the states 1..n (the device gave no state-text)")
    if obj.object_type in BACNET_COMMANDABLE and obj.object_type != "access-door":
        lines.append("        writable: false  # commandable: set true if the twin may command it")
    notes = []
    if obj.description and obj.description != obj.name:
        notes.append(f"description {_q(obj.description)}")
    if obj.present_value is not None:
        notes.append(f"present value {_value_text(obj.present_value)}")
    if notes:
        lines[0] += f"  # {'; '.join(notes)}"
    return lines


def devices_fragment(devices: Iterable[DiscoveredDevice], id_prefix: str = "") -> str:
    """A ``devices:`` section for site.yaml with one entry per device and one point per supported object;
    ``id_prefix`` goes before every device id (and so every point id), e.g. ``ahu-`` or ``b2.``."""
    out = ["devices:"]
    device_ids: set[str] = set()
    point_ids: set[str] = set()
    for device in devices:
        device_id = _unique(id_prefix + slug(device.name, f"bacnet-{device.instance}"), device_ids)
        label = device.name or f"BACnet device {device.instance}"
        about = ", ".join(part for part in (device.vendor, device.model) if part)
        out.append(f"  - id: {device_id}" + (f"  # {about}" if about else ""))
        out.append(f"    name: {{zh: {_q(label)}, en: {_q(label)}}}")
        out.append("    kind: null  # TODO choose a device kind (halltwin schema lists them)")
        out.append("    zone: null  # TODO the zone id this device serves")
        out.append("    ifc_guid: null  # TODO the GlobalId of its IFC element")
        connection = f"type: bacnet_ip, device_instance: {device.instance}"
        if device.address:
            connection = f"type: bacnet_ip, address: '{device.address}', device_instance: {device.instance}"
        out.append(f"    connection: {{{connection}}}")
        supported = [obj for obj in device.objects if obj.object_type in KIND_OF_OBJECT]
        skipped = [obj.object for obj in device.objects if obj.object_type not in KIND_OF_OBJECT]
        if skipped:
            out.append(f"    # not points of the twin: {', '.join(skipped)}")
        if not supported:
            out.append("    points: []")
            continue
        out.append("    points:")
        for obj in supported:
            out.extend(_point_lines(device_id, obj, point_ids))
    return "\n".join(out) + "\n"


assert set(KIND_OF_OBJECT) == set(BACNET_OBJECT_TYPES), "every object type the site model takes has a point kind"
