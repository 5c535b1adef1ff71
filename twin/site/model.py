"""Pydantic model of site.yaml: zones, PA zones, devices with their connection and points.

Drivers' connection and point-address settings are discriminated unions on ``type`` so that a new protocol is
one more model here plus one driver file. Every model forbids unknown keys and is strict about types: a typo in
a site file must fail loudly at start-up, never silently fall back to a default at 3 a.m.
"""

from __future__ import annotations

import builtins
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9][a-z0-9_.\-]*$"
Ident = Annotated[str, Field(pattern=ID_PATTERN, max_length=96)]
# IFC GlobalIds are 22 characters of the IFC base-64 alphabet.
IfcGuid = Annotated[str, Field(pattern=r"^[0-9A-Za-z_$]{22}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Names(Strict):
    """A user-facing name, Chinese first."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class ZoneType(StrEnum):
    GUIDANCE = "guidance"
    WINDOW_SERVICE = "window_service"
    WAITING = "waiting"
    CONVENIENCE = "convenience"
    SELF_SERVICE = "self_service"
    SELF_SERVICE_24H = "self_service_24h"
    OFFICE = "office"
    TOILET = "toilet"
    MOTHER_BABY = "mother_baby"
    POWER_ROOM = "power_room"
    SERVER_ROOM = "server_room"
    WEAK_CURRENT = "weak_current"
    CIRCULATION = "circulation"
    OTHER = "other"


class DeviceKind(StrEnum):
    POWER_METER = "power_meter"
    UPS = "ups"
    AC_UNIT = "ac_unit"
    TEMP_HUMIDITY = "temp_humidity"
    WATER_LEAK = "water_leak"
    SMOKE_DETECTOR = "smoke_detector"
    FIRE_PANEL = "fire_panel"
    EMERGENCY_BUTTON = "emergency_button"
    ACCESS_DOOR = "access_door"
    PEOPLE_COUNTER = "people_counter"
    CAMERA = "camera"
    IP_SPEAKER = "ip_speaker"
    QUEUE_DISPLAY = "queue_display"
    QUEUE_SYSTEM = "queue_system"
    KIOSK = "kiosk"


class PointKind(StrEnum):
    ANALOG = "analog"
    BINARY = "binary"
    MULTISTATE = "multistate"
    TEXT = "text"


# --- connections -------------------------------------------------------------------------------------------


class ModbusConnection(Strict):
    type: Literal["modbus_tcp"]
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    device_id: int = Field(default=1, ge=0, le=247)
    poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    timeout_s: float = Field(default=1.0, gt=0, le=60)
    max_block: int = Field(default=125, ge=1, le=125, description="Most registers read in one request")
    max_gap: int = Field(default=8, ge=0, le=100, description="Unused registers a block read may span")


class BacnetConnection(Strict):
    type: Literal["bacnet_ip"]
    address: str = Field(description="host:port of the device, e.g. 127.0.0.1:47809")
    device_instance: int = Field(ge=0, le=4_194_302)
    poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    timeout_s: float = Field(default=1.0, gt=0, le=60)
    cov: bool = Field(default=True, description="Subscribe to COV where the device accepts it")
    cov_lifetime_s: int = Field(default=300, ge=10, le=86_400)

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"address must be host:port, got {value!r}")
        return value


class MqttConnection(Strict):
    type: Literal["mqtt"]
    topic: str = Field(min_length=1, description="The device's base topic; points may name a sub-topic")
    stale_after_s: float = Field(default=60.0, gt=0, description="No message for this long makes points STALE")

    @field_validator("topic")
    @classmethod
    def _no_wildcards(cls, value: str) -> str:
        if "+" in value or "#" in value:
            raise ValueError("a device topic cannot contain MQTT wildcards")
        return value


Connection = Annotated[ModbusConnection | BacnetConnection | MqttConnection, Field(discriminator="type")]

# --- point addresses ---------------------------------------------------------------------------------------

ModbusTable = Literal["holding", "input", "coil", "discrete"]
ModbusType = Literal["bool", "int16", "uint16", "int32", "uint32", "float32", "float64"]
REGISTER_WIDTH = {"bool": 1, "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2, "float64": 4}


class ModbusAddress(Strict):
    type: Literal["modbus"]
    table: ModbusTable
    offset: int = Field(ge=0, le=65535, description="Zero-based register or bit offset")
    data_type: ModbusType = "uint16"
    word_order: Literal["big", "little"] = "big"
    byte_order: Literal["big", "little"] = "big"
    scale: float = 1.0
    value_offset: float = 0.0
    bit: int | None = Field(default=None, ge=0, le=31, description="Take one bit of an integer register")

    @model_validator(mode="after")
    def _consistent(self) -> ModbusAddress:
        if self.scale == 0:
            raise ValueError("scale cannot be 0 (the raw value could never be recovered for a write)")
        bit_table = self.table in ("coil", "discrete")
        if bit_table and self.data_type != "bool":
            raise ValueError(f"{self.table} points are single bits: data_type must be bool")
        if not bit_table and self.data_type == "bool" and self.bit is None:
            raise ValueError("a bool in a register needs bit: (0-15)")
        if self.bit is not None:
            if bit_table:
                raise ValueError("bit: applies to registers, not to coils or discrete inputs")
            if self.data_type not in ("bool", "uint16", "int16", "uint32", "int32"):
                raise ValueError("bit: needs an integer register")
            limit = 16 if self.data_type in ("bool", "uint16", "int16") else 32
            if self.bit >= limit:
                raise ValueError(f"bit {self.bit} is outside a {limit}-bit register")
        if self.offset + self.width > 65536:
            raise ValueError("the value runs past register 65535")
        return self

    @property
    def width(self) -> int:
        return 1 if self.table in ("coil", "discrete") else REGISTER_WIDTH[self.data_type]


BACNET_OBJECT_TYPES = (
    "analog-input", "analog-output", "analog-value",
    "binary-input", "binary-output", "binary-value",
    "multi-state-input", "multi-state-output", "multi-state-value",
    "access-door", "life-safety-point", "life-safety-zone", "characterstring-value",
)  # fmt: skip
BACNET_COMMANDABLE = frozenset(
    {"analog-output", "analog-value", "binary-output", "binary-value", "multi-state-output", "multi-state-value",
     "access-door"}
)  # fmt: skip
_OBJECT_RE = re.compile(r"^([a-z\-]+):(\d+)$")


class BacnetAddress(Strict):
    type: Literal["bacnet"]
    object: str = Field(description="object-type:instance, e.g. analog-input:1")
    property: str = "present-value"
    priority: int = Field(default=8, ge=1, le=16, description="Write priority for commandable objects")

    @field_validator("object")
    @classmethod
    def _object(cls, value: str) -> str:
        match = _OBJECT_RE.match(value)
        if not match or match.group(1) not in BACNET_OBJECT_TYPES:
            raise ValueError(f"object must be one of {', '.join(BACNET_OBJECT_TYPES)} ':' instance, got {value!r}")
        if int(match.group(2)) > 4_194_302:
            raise ValueError("BACnet instance numbers end at 4194302")
        return value

    # ``property`` is a field name here, hence builtins.property.
    @builtins.property
    def object_type(self) -> str:
        return self.object.split(":")[0]

    @builtins.property
    def instance(self) -> int:
        return int(self.object.split(":")[1])


class MqttAddress(Strict):
    type: Literal["mqtt"]
    topic: str | None = Field(default=None, description="Sub-topic below the device topic; none: the device topic")
    json_path: str = Field(min_length=1, description="Dotted path into the JSON payload, e.g. counts.in or zones[2]")

    @field_validator("json_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not re.fullmatch(r"\$?(\.?[A-Za-z_][A-Za-z0-9_\-]*|\[\d+\])+", value):
            raise ValueError(f"json_path must look like a.b[0].c, got {value!r}")
        return value


Address = Annotated[ModbusAddress | BacnetAddress | MqttAddress, Field(discriminator="type")]
ADDRESS_FOR_CONNECTION = {"modbus_tcp": "modbus", "bacnet_ip": "bacnet", "mqtt": "mqtt"}

# --- the site ----------------------------------------------------------------------------------------------


class Point(Strict):
    id: Ident
    name: Names
    kind: PointKind = Field(strict=False)  # enums come from YAML as strings
    unit: str = ""
    brick: str = Field(min_length=1, description="Brick Schema class, e.g. Zone_Air_Temperature_Sensor")
    ifc_guid: IfcGuid | None = Field(default=None, description="Element this point colours; default: the device's")
    address: Address
    writable: bool = False
    states: list[str] | None = Field(default=None, description="Names of multistate values 1..n")
    stale_after_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _states(self) -> Point:
        if self.kind == PointKind.MULTISTATE and not self.states:
            raise ValueError("a multistate point needs states: [...]")
        if self.kind != PointKind.MULTISTATE and self.states is not None:
            raise ValueError("states: is only for multistate points")
        return self


class Device(Strict):
    id: Ident
    name: Names
    kind: DeviceKind = Field(strict=False)
    zone: Ident
    ifc_guid: IfcGuid
    connection: Connection | None = Field(default=None, description="None: a device the gateway does not poll")
    points: list[Point] = Field(default_factory=list)

    @property
    def comm_point_id(self) -> str:
        """The point that is true while the gateway cannot reach this device."""
        return f"{self.id}.comm_lost"


class Zone(Strict):
    id: Ident
    name: Names
    zone_type: ZoneType = Field(strict=False)
    ifc_guid: IfcGuid = Field(description="The IfcSpace of the zone")


class PaZone(Strict):
    id: Ident
    name: Names
    zones: list[Ident] = Field(min_length=1)
    speakers: list[Ident] = Field(default_factory=list)


class MqttBroker(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    tls: bool = False
    ca_file: str | None = None
    username_env: str | None = Field(default=None, description="Environment variable holding the user name")
    password_env: str | None = Field(default=None, description="Environment variable holding the password")


class SiteInfo(Strict):
    id: Ident
    name: Names
    ifc: str = Field(min_length=1, description="The building model, relative to the site file")
    timezone: str = "Asia/Shanghai"


class SiteConfig(Strict):
    """A whole site file. Cross-references are checked by the loader, which knows file positions."""

    site: SiteInfo
    mqtt: MqttBroker = Field(default_factory=MqttBroker)
    zones: list[Zone] = Field(default_factory=list)
    pa_zones: list[PaZone] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)

    def points(self) -> dict[str, tuple[Device, Point]]:
        """Every configured point by id, with its device."""
        return {point.id: (device, point) for device in self.devices for point in device.points}

    def device(self, device_id: str) -> Device:
        for device in self.devices:
            if device.id == device_id:
                return device
        raise KeyError(device_id)

    def zone(self, zone_id: str) -> Zone:
        for zone in self.zones:
            if zone.id == zone_id:
                return zone
        raise KeyError(zone_id)
