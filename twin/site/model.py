"""Pydantic model of site.yaml: zones, PA zones, devices with their connection and points.

Drivers' connection and point-address settings are discriminated unions on ``type`` so that a new protocol is
one more model here plus one driver file. Every model forbids unknown keys and is strict about types: a typo in
a site file must fail loudly at start-up, never silently fall back to a default at 3 a.m.
"""

from __future__ import annotations

import builtins
import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from twin.site.bacnet_names import OBJECT_TYPES, PROPERTIES
from twin.site.base_model import Ident, IfcGuid, Names, Strict
from twin.site.broadcast_model import BroadcastSettings, multicast_group
from twin.site.camera_model import CameraAddress, CameraConnection, check_camera_refs
from twin.site.computed_model import ComputedAddress, ComputedConnection
from twin.site.suggest import did_you_mean

# The user roles (store.users.Role holds the same names; twin imports nothing above it, so they are repeated here).
RoleName = Literal["admin", "facility", "security", "maintenance", "manager"]


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
    address: str | None = Field(
        default=None,
        description="host:port of the device, e.g. 10.20.0.31:47808; none: found by Who-Is for device_instance",
    )
    device_instance: int = Field(ge=0, le=4_194_302)
    poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    timeout_s: float = Field(default=1.0, gt=0, le=60)
    cov: bool = Field(default=True, description="Subscribe to COV where the device accepts it")
    cov_lifetime_s: int = Field(default=300, ge=10, le=86_400)

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            _check_host_port(value, "address")
        return value


def _check_host_port(value: str, key: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{key} must be host:port, got {value!r}")


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


Connection = Annotated[
    ModbusConnection | BacnetConnection | MqttConnection | CameraConnection | ComputedConnection,
    Field(discriminator="type"),
]

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
        if not match:
            raise ValueError(f"object must be object-type:instance, e.g. analog-input:1, got {value!r}")
        object_type = match.group(1)
        if object_type not in OBJECT_TYPES:  # the standard's names (twin/site/bacnet_names.py, from bacpypes3)
            raise ValueError(
                f"{object_type!r} is not a BACnet object type"
                + (did_you_mean(object_type, BACNET_OBJECT_TYPES) or did_you_mean(object_type, OBJECT_TYPES))
            )
        if object_type not in BACNET_OBJECT_TYPES:
            raise ValueError(
                f"{object_type} objects are not read as points; use one of {', '.join(BACNET_OBJECT_TYPES)}"
            )
        if int(match.group(2)) > 4_194_302:
            raise ValueError("BACnet instance numbers end at 4194302")
        return value

    @field_validator("property")
    @classmethod
    def _property(cls, value: str) -> str:
        if value not in PROPERTIES:  # a misspelt property would be refused by the stack at every poll
            raise ValueError(f"{value!r} is not a BACnet property name{did_you_mean(value, PROPERTIES)}")
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


Address = Annotated[
    ModbusAddress | BacnetAddress | MqttAddress | CameraAddress | ComputedAddress, Field(discriminator="type")
]
ADDRESS_FOR_CONNECTION = {
    "modbus_tcp": "modbus", "bacnet_ip": "bacnet", "mqtt": "mqtt", "camera": "camera", "computed": "computed",
}  # fmt: skip

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
    precision: int | None = Field(
        default=None, ge=0, le=6, description="Decimals a reader is shown (analog points); default: as read"
    )
    stale_after_s: float | None = Field(default=None, gt=0)
    min: float | None = Field(default=None, description="Lowest value a command may write (analog points)")
    max: float | None = Field(default=None, description="Highest value a command may write (analog points)")
    write_roles: list[RoleName] | None = Field(
        default=None,
        min_length=1,
        description="Roles that may write this point; default: the device's, then commands.write_roles",
    )

    @model_validator(mode="after")
    def _states(self) -> Point:
        if self.kind == PointKind.MULTISTATE and not self.states:
            raise ValueError("a multistate point needs states: [...]")
        if self.kind != PointKind.MULTISTATE and self.states is not None:
            raise ValueError("states: is only for multistate points")
        if (self.min is not None or self.max is not None) and self.kind != PointKind.ANALOG:
            raise ValueError("min: and max: are only for analog points")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self


class Device(Strict):
    id: Ident
    name: Names
    kind: DeviceKind = Field(strict=False)
    zone: Ident
    ifc_guid: IfcGuid
    connection: Connection | None = Field(default=None, description="None: a device the gateway does not poll")
    points: list[Point] = Field(default_factory=list)
    write_roles: list[RoleName] | None = Field(
        default=None,
        min_length=1,
        description="Roles that may write this device's points; default: commands.write_roles",
    )

    @model_validator(mode="after")
    def _camera_refs(self) -> Device:
        if isinstance(self.connection, CameraConnection):
            check_camera_refs(self.connection, [(p.id, p.address) for p in self.points])
        return self

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
    multicast: str | None = Field(
        default=None, description="group:port of the zone's RTP multicast, e.g. 239.1.1.1:5004"
    )

    @field_validator("multicast")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        if value is not None:
            multicast_group(value)
        return value


class Door(Strict):
    """An access-controlled door: the points that lock it and report it, and where it is in the building."""

    id: Ident
    name: Names
    ifc_guid: IfcGuid = Field(description="The IfcDoor")
    zone: Ident = Field(description="The zone the door secures")
    lock_point: Ident = Field(description="Writable binary point that locks the door")
    locked_value: bool = Field(default=True, description="The lock point's value while the door is locked")
    open_point: Ident = Field(description="Binary point, true while the door stands open")
    forced_point: Ident | None = Field(default=None, description="Binary point, true while the door is forced open")
    roles: list[RoleName] | None = Field(
        default=None, min_length=1, description="Roles that may lock and unlock it; default: commands.door_roles"
    )


DEFAULT_WRITE_ROLES: tuple[RoleName, ...] = ("admin", "facility")
DEFAULT_DOOR_ROLES: tuple[RoleName, ...] = ("admin", "facility", "security")


class CommandSettings(Strict):
    """Who may command what by default, and how long a command waits for the device to read back its value."""

    write_roles: list[RoleName] = Field(default_factory=lambda: list(DEFAULT_WRITE_ROLES), min_length=1)
    door_roles: list[RoleName] = Field(default_factory=lambda: list(DEFAULT_DOOR_ROLES), min_length=1)
    confirm_timeout_s: float = Field(default=3.0, gt=0, le=60, description="Read-back deadline of a write")
    max_unlock_s: int = Field(default=3600, ge=1, le=86_400, description="Longest door unlock one command gives")


class MqttBroker(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    tls: bool = False
    ca_file: str | None = None
    username_env: str | None = Field(default=None, description="Environment variable holding the user name")
    password_env: str | None = Field(default=None, description="Environment variable holding the password")


class ForeignDevice(Strict):
    """Register the gateway with a BBMD as a foreign device (devices on another subnet, behind a BACnet router)."""

    bbmd: str = Field(description="host:port of the BBMD, e.g. 10.30.0.1:47808")
    ttl_s: int = Field(default=300, ge=5, le=65_535, description="Registration time-to-live; renewed before it ends")

    @field_validator("bbmd")
    @classmethod
    def _host_port(cls, value: str) -> str:
        _check_host_port(value, "bbmd")
        return value


class BacnetNetwork(Strict):
    """The gateway's own BACnet/IP interface: one application for the whole site, shared by every device."""

    interface: str = Field(
        default="127.0.0.1/8", description="The gateway's own address with prefix length, e.g. 10.20.0.5/24"
    )
    port: int = Field(
        default=47808, ge=0, le=65535, description="UDP port; 0: any free port (loopback tests and parallel demos)"
    )
    device_instance: int = Field(default=4_194_302, ge=0, le=4_194_302, description="The gateway's own device")
    device_name: str = Field(default="halltwin-gateway", min_length=1, max_length=150)
    foreign_device: ForeignDevice | None = None

    @field_validator("interface")
    @classmethod
    def _interface(cls, value: str) -> str:
        if "/" not in value:
            raise ValueError(f"interface needs a prefix length, e.g. {value}/24 (got {value!r})")
        try:
            ipaddress.IPv4Interface(value)
        except ValueError as exc:
            raise ValueError(f"interface must be an IPv4 address/prefix, e.g. 10.20.0.5/24: {exc}") from None
        return value


# --- follow-up of alarms: emergency plans, linkage, work orders, inspection rounds ----------------------------

# The alarm classes and priorities of the alarm engine (alarms/), named here so that plans and linkage can refer to
# them in the site file.
AlarmClassName = Literal[
    "fire", "smoke", "leak", "ups", "temperature", "humidity", "door", "emergency", "comm", "power", "crowding",
    "queue", "linkage", "other",
]  # fmt: skip
PriorityName = Literal["critical", "high", "medium", "low"]


class EmergencyPlan(Strict):
    """An emergency plan (T/ZAS 4012 8.4.5, DB31/T 862 11.2.5): the steps the security desk follows for an alarm of
    one of its classes, shown with the alarm as a checklist."""

    id: Ident
    name: Names
    alarm_classes: list[AlarmClassName] = Field(min_length=1, description="The alarm classes this plan answers")
    steps: list[Names] = Field(min_length=1, max_length=50, description="The steps, in order (zh/en)")


class EvacuationRoute(Strict):
    """The access-controlled doors on the evacuation routes of a fire zone (GB 50116 4.10.3): released on fire."""

    zones: list[Ident] = Field(min_length=1, description="The site zones the fire zone covers")
    doors: list[Ident] = Field(min_length=1, description="Doors released when a fire is confirmed in those zones")


_FIRE_CLASSES: tuple[AlarmClassName, ...] = ("fire",)
_WORK_ORDER_CLASSES: tuple[AlarmClassName, ...] = ("fire", "emergency", "leak", "ups", "temperature", "door")
_PAGE_CLASSES: tuple[AlarmClassName, ...] = ("emergency", "fire")
_PAGE_ROLES: tuple[RoleName, ...] = ("security",)


class LinkageSettings(Strict):
    """What the follow-up of an alarm does beyond the engine: doors, evacuation, security pages, work orders."""

    evacuation: list[EvacuationRoute] = Field(
        default_factory=list,
        description="Fire zone -> doors; a zone listed nowhere releases the doors of its own zone and storey",
    )
    fire_classes: list[AlarmClassName] = Field(
        default_factory=lambda: list(_FIRE_CLASSES), min_length=1, description="Alarm classes that confirm a fire"
    )
    work_order_classes: list[AlarmClassName] = Field(
        default_factory=lambda: list(_WORK_ORDER_CLASSES),
        description="Alarm classes that open a work order when raised",
    )
    page_classes: list[AlarmClassName] = Field(
        default_factory=lambda: list(_PAGE_CLASSES), description="Alarm classes that page the security staff"
    )
    page_roles: list[RoleName] = Field(default_factory=lambda: list(_PAGE_ROLES), min_length=1)


_ESCALATE_TO: tuple[RoleName, ...] = ("facility",)


def _default_due() -> dict[PriorityName, float]:
    return {"critical": 30.0, "high": 240.0, "medium": 1440.0, "low": 4320.0}


class WorkOrderSettings(Strict):
    """Due times of work orders by priority (minutes from creation), escalation and photo uploads."""

    due_minutes: dict[PriorityName, float] = Field(default_factory=_default_due)
    escalate_every_s: float = Field(default=30.0, gt=0, le=3600, description="How often overdue orders are sought")
    photo_max_bytes: int = Field(default=5_000_000, ge=10_000, le=50_000_000)
    escalate_to: list[RoleName] = Field(
        default_factory=lambda: list(_ESCALATE_TO), min_length=1,
        description="Roles paged when a work order becomes overdue (the supervisors who dispatch the work)",
    )  # fmt: skip

    @field_validator("due_minutes")
    @classmethod
    def _positive(cls, value: dict[PriorityName, float]) -> dict[PriorityName, float]:
        for priority, minutes in value.items():
            if not 0 < minutes <= 525_600:
                raise ValueError(f"due_minutes.{priority} must be over 0 and at most a year (525600), got {minutes}")
        return {**_default_due(), **value}


class RoundStop(Strict):
    """One stop of an inspection round: a zone (a window group is a zone) or a device, with its check items."""

    zone: Ident | None = None
    device: Ident | None = None
    items: list[Names] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _place(self) -> RoundStop:
        if (self.zone is None) == (self.device is None):
            raise ValueError("a round stop names exactly one of zone: or device:")
        return self


class RoundSchedule(Strict):
    """When a round is due: times of day (site time zone) on some weekdays (1 = Monday ... 7 = Sunday)."""

    times: list[Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]] = Field(min_length=1)
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7])
    window_minutes: float = Field(default=120.0, gt=0, le=1440, description="Time to finish a round once due")


class InspectionRound(Strict):
    """An inspection round template (T/ZAS 4012 7.2.4): stops with check items, a schedule and a walking order."""

    id: Ident
    name: Names
    stops: list[RoundStop] = Field(min_length=1, max_length=200)
    schedule: RoundSchedule
    order: Literal["forward", "reverse", "alternate"] = Field(
        default="forward", description="alternate: forward on even days of the year, reverse on odd ones"
    )
    priority: PriorityName = "low"


# The alarms: section lives in its own module (it builds on Strict, Names, Ident and DeviceKind defined above, and
# this module needs it for SiteConfig): imported here, after those, so the two modules load in either order.
from twin.site.alarm_rules import AlarmSettings  # noqa: E402
from twin.site.queue_model import HeatmapSettings, QueueSettings  # noqa: E402
from twin.site.wayfinding_model import Kiosk, ServiceCategory, ServiceItem, ServiceWindow  # noqa: E402


class SiteInfo(Strict):
    id: Ident
    name: Names
    ifc: str = Field(min_length=1, description="The building model, relative to the site file")
    timezone: str = "Asia/Shanghai"
    public_url: str | None = Field(
        default=None,
        max_length=2000,
        description="The address at which phones on the hall's network reach this server (http or https, a path "
        "prefix allowed, e.g. https://hall.example.cn): the visitor page's QR codes point there. Unset: the "
        "address the kiosk itself uses",
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return None if value is None else public_base_url(value)


def public_base_url(value: str) -> str:
    """``value`` as the base of public links (no trailing slash), or a ValueError naming what is wrong with it."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"public_url must start with http:// or https://, got {value!r}")
    if not parts.hostname:
        raise ValueError(f"public_url has no host name: {value!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"public_url must be scheme://host[:port][/path], without a query, fragment or user: {value!r}"
        )
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError as error:
        raise ValueError(f"public_url has a bad port: {value!r} ({error})") from None
    return value.strip().rstrip("/")


class SiteConfig(Strict):
    """A whole site file. Cross-references are checked by the loader, which knows file positions."""

    site: SiteInfo
    mqtt: MqttBroker = Field(default_factory=MqttBroker)
    bacnet: BacnetNetwork = Field(default_factory=BacnetNetwork)
    zones: list[Zone] = Field(default_factory=list)
    pa_zones: list[PaZone] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    commands: CommandSettings = Field(default_factory=CommandSettings)
    doors: list[Door] = Field(default_factory=list)
    alarms: AlarmSettings = Field(default_factory=AlarmSettings)
    plans: list[EmergencyPlan] = Field(default_factory=list)
    linkage: LinkageSettings = Field(default_factory=LinkageSettings)
    workorders: WorkOrderSettings = Field(default_factory=WorkOrderSettings)
    rounds: list[InspectionRound] = Field(default_factory=list)
    broadcast: BroadcastSettings = Field(default_factory=BroadcastSettings)
    queues: QueueSettings = Field(default_factory=QueueSettings)
    heatmap: HeatmapSettings = Field(default_factory=HeatmapSettings)
    windows: list[ServiceWindow] = Field(default_factory=list, description="Numbered service windows (counters)")
    service_categories: list[ServiceCategory] = Field(default_factory=list)
    services: list[ServiceItem] = Field(default_factory=list, description="The service catalogue (wayfinding)")
    kiosks: list[Kiosk] = Field(default_factory=list, description="Guidance kiosks: where their routes start")

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
