"""Where the demo hall's devices are, what IFC class each is, and which PA / fire zone covers which spaces.

One list feeds both the IFC generator and the site.yaml generator, so an element's GlobalId and the
``ifc_guid`` that binds its points are derived from the same key.
"""

from __future__ import annotations

from dataclasses import dataclass

from bim_models.ids import stable_guid
from bim_models.layout import SPACE_BY_CODE, SPACES, STOREY_BY_CODE
from twin.site.model import DeviceKind, ZoneType

K = DeviceKind


@dataclass(frozen=True, slots=True)
class ElementClass:
    """How one category of device is written to IFC, and the size of the box that shows it."""

    ifc_class: str
    predefined_type: str
    object_type: str | None
    size: tuple[float, float, float]
    mount: str  # floor | wall | ceiling | overhead: sets the height of the box


CATEGORIES: dict[str, ElementClass] = {
    "power_meter": ElementClass("IfcFlowMeter", "ENERGYMETER", None, (0.3, 0.15, 0.3), "wall"),
    "ups": ElementClass("IfcElectricFlowStorageDevice", "UPS", None, (0.6, 0.8, 1.8), "floor"),
    "ac_unit": ElementClass("IfcUnitaryEquipment", "SPLITSYSTEM", None, (0.9, 0.9, 0.3), "ceiling"),
    "precision_ac": ElementClass("IfcUnitaryEquipment", "AIRCONDITIONINGUNIT", None, (0.9, 0.6, 1.9), "floor"),
    "temp_humidity": ElementClass("IfcSensor", "TEMPERATURESENSOR", None, (0.25, 0.1, 0.25), "wall"),
    "temperature_sensor": ElementClass("IfcSensor", "TEMPERATURESENSOR", None, (0.25, 0.1, 0.25), "wall"),
    "water_leak": ElementClass("IfcSensor", "MOISTURESENSOR", None, (0.25, 0.25, 0.08), "floor"),
    "smoke_detector": ElementClass("IfcSensor", "SMOKESENSOR", None, (0.3, 0.3, 0.1), "ceiling"),
    "fire_panel": ElementClass("IfcUnitaryControlElement", "ALARMPANEL", None, (0.6, 0.2, 0.8), "wall"),
    "emergency_button": ElementClass("IfcAlarm", "USERDEFINED", "EmergencyButton", (0.25, 0.1, 0.25), "wall"),
    "access_controller": ElementClass("IfcController", "USERDEFINED", "AccessController", (0.5, 0.2, 0.6), "wall"),
    "environment_controller": ElementClass(
        "IfcController", "USERDEFINED", "EnvironmentController", (0.5, 0.2, 0.6), "wall"
    ),
    "people_counter": ElementClass("IfcSensor", "USERDEFINED", "PeopleCounter", (0.3, 0.2, 0.15), "overhead"),
    "camera": ElementClass("IfcAudioVisualAppliance", "CAMERA", None, (0.25, 0.25, 0.25), "overhead"),
    "ip_speaker": ElementClass("IfcAudioVisualAppliance", "SPEAKER", None, (0.3, 0.3, 0.15), "ceiling"),
    "queue_display": ElementClass("IfcAudioVisualAppliance", "DISPLAY", None, (2.0, 0.1, 0.5), "overhead"),
    "queue_system": ElementClass("IfcCommunicationsAppliance", "USERDEFINED", "QueueSystem", (0.6, 0.5, 1.5), "floor"),
    "kiosk": ElementClass("IfcCommunicationsAppliance", "USERDEFINED", "GuidanceKiosk", (0.6, 0.5, 1.6), "floor"),
}
MOUNT_HEIGHT = {"floor": 0.0, "wall": 1.4, "overhead": 3.0}


@dataclass(frozen=True, slots=True)
class DeviceElement:
    """One device as an IFC element. ``key`` is the site.yaml device id or point id the element stands for."""

    key: str
    category: str
    kind: DeviceKind
    space: str
    fx: float
    fy: float
    name_zh: str
    name_en: str

    @property
    def element_class(self) -> ElementClass:
        return CATEGORIES[self.category]

    @property
    def guid(self) -> str:
        return stable_guid(f"device:{self.key}")

    @property
    def zone_id(self) -> str:
        return SPACE_BY_CODE[self.space].zone_id

    def position(self) -> tuple[float, float, float]:
        """World x, y and the height of the box's bottom above its storey's floor."""
        space = SPACE_BY_CODE[self.space]
        x, y = space.rect.point(self.fx, self.fy)
        cls = self.element_class
        if cls.mount == "ceiling":
            z = STOREY_BY_CODE[space.storey].clear_height - cls.size[2] - 0.05
        elif self.kind == K.PEOPLE_COUNTER:
            z = 3.2  # above the doorway it watches
        else:
            z = MOUNT_HEIGHT[cls.mount]
        return x, y, round(z, 3)


@dataclass(frozen=True, slots=True)
class PaZoneSpec:
    """A public-address zone; the fire panel's fire zone with the same number covers the same spaces."""

    id: str
    fire_zone: int
    name_zh: str
    name_en: str
    spaces: tuple[str, ...]

    @property
    def guid(self) -> str:
        return stable_guid(f"pa-zone:{self.id}")

    @property
    def fire_zone_guid(self) -> str:
        return stable_guid(f"fire-zone:{self.fire_zone}")


_HALL_1F = ("1F-ENT", "1F-SELF", "1F-CONV", "1F-WAIT", "1F-WIN")
PA_ZONES = (
    PaZoneSpec("pa-1f-hall", 1, "一层大厅", "1F hall", _HALL_1F),
    PaZoneSpec(
        "pa-1f-rooms", 2, "一层办公及设备用房", "1F offices and rooms",
        tuple(s.code for s in SPACES if s.storey == "1F" and s.code not in _HALL_1F and s.code != "1F-24H"),
    ),
    PaZoneSpec("pa-2f", 3, "二层", "2F", tuple(s.code for s in SPACES if s.storey == "2F")),
    PaZoneSpec("pa-24h", 4, "24小时自助区", "24-hour zone", ("1F-24H",)),
)  # fmt: skip


def _numbered(prefix: str, category: str, kind: DeviceKind, zh: str, en: str,
              places: list[tuple[str, float, float]]) -> list[DeviceElement]:  # fmt: skip
    return [
        DeviceElement(f"{prefix}{i}", category, kind, space, fx, fy, f"{zh}{i} {space}", f"{en} {i} ({space})")
        for i, (space, fx, fy) in enumerate(places, start=1)
    ]


def _smoke_places() -> list[tuple[str, float, float]]:
    """One detector per space, two in the long open window and waiting zones."""
    places: list[tuple[str, float, float]] = []
    for space in SPACES:
        if space.zone_type in (ZoneType.WAITING, ZoneType.WINDOW_SERVICE):
            places += [(space.code, 0.25, 0.5), (space.code, 0.75, 0.5)]
        else:
            places.append((space.code, 0.5, 0.5))
    return places


_SPEAKERS = {
    "pa-1f-hall": [("1F-ENT", 0.3, 0.4), ("1F-SELF", 0.5, 0.4), ("1F-CONV", 0.5, 0.4), ("1F-WAIT", 0.3, 0.4),
                   ("1F-WAIT", 0.7, 0.4), ("1F-WIN", 0.3, 0.3), ("1F-WIN", 0.7, 0.3)],
    "pa-1f-rooms": [("1F-CORR-N", 0.25, 0.5), ("1F-CORR-N", 0.75, 0.5), ("1F-LOBBY-W", 0.5, 0.3),
                    ("1F-LOBBY-E", 0.5, 0.3), ("1F-STAIR-W", 0.8, 0.8), ("1F-STAIR-E", 0.2, 0.8),
                    ("1F-OFF-2", 0.3, 0.4), ("1F-WC", 0.3, 0.4)],
    "pa-2f": [("2F-WAIT", 0.3, 0.4), ("2F-WAIT", 0.7, 0.4), ("2F-WIN", 0.3, 0.3), ("2F-WIN", 0.7, 0.3),
              ("2F-CONV", 0.5, 0.4), ("2F-CORR-N", 0.25, 0.5), ("2F-CORR-N", 0.75, 0.5), ("2F-LOBBY-W", 0.5, 0.3),
              ("2F-LOBBY-E", 0.5, 0.3), ("2F-STAIR-W", 0.8, 0.8), ("2F-STAIR-E", 0.2, 0.8), ("2F-MEET", 0.3, 0.4)],
    "pa-24h": [("1F-24H", 0.5, 0.4)],
}  # fmt: skip


def speakers_by_pa_zone() -> dict[str, list[str]]:
    """PA zone id -> the ids of its speakers, numbered in PA zone order."""
    result: dict[str, list[str]] = {}
    n = 0
    for pa in PA_ZONES:
        ids = []
        for _ in _SPEAKERS[pa.id]:
            n += 1
            ids.append(f"spk-{n}")
        result[pa.id] = ids
    return result


def _device_elements() -> tuple[DeviceElement, ...]:
    hall_climate = ["1F-ENT", "1F-SELF", "1F-WAIT", "1F-WIN", "1F-24H"]
    items: list[DeviceElement] = [
        DeviceElement("pm-1", "power_meter", K.POWER_METER, "1F-POWER", 0.1, 1.0, "总进线电表", "Main incomer meter"),
        DeviceElement("pm-2", "power_meter", K.POWER_METER, "1F-POWER", 0.22, 1.0, "空调配电电表", "HVAC feeder meter"),
        DeviceElement("pm-3", "power_meter", K.POWER_METER, "1F-POWER", 0.34, 1.0, "一层照明插座电表",
                      "1F lighting and sockets meter"),
        DeviceElement("pm-4", "power_meter", K.POWER_METER, "1F-POWER", 0.46, 1.0, "二层照明插座电表",
                      "2F lighting and sockets meter"),
        DeviceElement("pm-5", "power_meter", K.POWER_METER, "1F-POWER", 0.58, 1.0, "电梯及消防电表",
                      "Lift and fire services meter"),
        DeviceElement("pm-6", "power_meter", K.POWER_METER, "1F-SERVER", 0.1, 1.0, "机房UPS进线电表",
                      "Server room UPS feed meter"),
        DeviceElement("ups-1", "ups", K.UPS, "1F-SERVER", 0.85, 0.85, "信息机房UPS", "Server room UPS"),
        DeviceElement("ups-2", "ups", K.UPS, "1F-POWER", 0.85, 0.85, "安防消防UPS", "Security and fire UPS"),
    ]  # fmt: skip
    ac_places = [*hall_climate, "1F-SERVER", "1F-OFF-2", "2F-WAIT", "2F-WIN", "2F-OFF-D"]
    for i, space in enumerate(ac_places, start=1):
        precision = space == "1F-SERVER"
        items.append(
            DeviceElement(
                f"ac-{i}",
                "precision_ac" if precision else "ac_unit",
                K.AC_UNIT,
                space,
                0.5,
                0.9 if precision else 0.7,
                "精密空调" if precision else f"空调内机{i}",
                "Precision air conditioner" if precision else f"Air conditioner {i} ({space})",
            )
        )
    th_places = [*hall_climate, "1F-SERVER", "1F-POWER", "1F-WEAK", "2F-WAIT", "2F-WIN", "2F-WEAK", "2F-MEET"]
    items += _numbered("th-", "temp_humidity", K.TEMP_HUMIDITY, "温湿度传感器", "Temperature/humidity sensor",
                       [(space, 0.9, 0.1) for space in th_places])  # fmt: skip
    items += _numbered("pc-", "people_counter", K.PEOPLE_COUNTER, "客流计数器", "People counter",
                       [("1F-ENT", 0.5, 0.0), ("1F-24H", 0.5, 0.0)])  # fmt: skip
    items.append(DeviceElement("queue", "queue_system", K.QUEUE_SYSTEM, "1F-ENT", 0.75, 0.7, "排队叫号取号机",
                               "Queue ticket dispenser"))  # fmt: skip
    items += _numbered("kiosk-", "kiosk", K.KIOSK, "导办一体机", "Guidance kiosk",
                       [("1F-ENT", 0.25, 0.7), ("2F-WAIT", 0.35, 0.1)])  # fmt: skip
    items += [
        DeviceElement("fire-panel", "fire_panel", K.FIRE_PANEL, "1F-SEC", 0.1, 1.0, "火灾报警控制器",
                      "Fire alarm control panel"),
        DeviceElement("security-ctl", "access_controller", K.ACCESS_DOOR, "1F-SEC", 0.3, 1.0, "安防门禁控制器",
                      "Security and access controller"),
        DeviceElement("env-ctl", "environment_controller", K.WATER_LEAK, "1F-POWER", 1.0, 0.5, "动环监控主机",
                      "Power and environment controller"),
        DeviceElement("env-ctl.server_room_temp", "temperature_sensor", K.WATER_LEAK, "1F-SERVER", 0.5, 0.0,
                      "机房温度探头", "Server room temperature probe"),
    ]  # fmt: skip
    items += _numbered("fire-panel.smoke_", "smoke_detector", K.FIRE_PANEL, "感烟探测器", "Smoke detector",
                       _smoke_places())  # fmt: skip
    items += _numbered("security-ctl.ebtn_", "emergency_button", K.ACCESS_DOOR, "紧急报警按钮", "Emergency button",
                       [("1F-ENT", 0.2, 0.6), ("1F-SELF", 0.5, 1.0), ("1F-WAIT", 0.0, 0.5), ("1F-WIN", 0.0, 0.9),
                        ("1F-WIN", 1.0, 0.9), ("1F-24H", 1.0, 0.6), ("1F-OFF-2", 0.0, 0.5), ("2F-WAIT", 0.0, 0.5),
                        ("2F-WIN", 1.0, 0.9), ("2F-OFF-D", 0.0, 0.5)])  # fmt: skip
    items += _numbered("env-ctl.leak_", "water_leak", K.WATER_LEAK, "漏水传感器", "Water leak sensor",
                       [("1F-SERVER", 0.6, 0.85), ("1F-POWER", 0.6, 0.5), ("1F-WEAK", 0.5, 0.5),
                        ("2F-WEAK", 0.5, 0.5), ("1F-WC", 0.8, 0.8), ("2F-WC", 0.8, 0.8)])  # fmt: skip
    items += _numbered("cam-", "camera", K.CAMERA, "摄像机", "Camera",
                       [("1F-ENT", 0.0, 1.0), ("1F-SELF", 1.0, 1.0), ("1F-WAIT", 0.0, 0.0), ("1F-WIN", 1.0, 0.0),
                        ("1F-24H", 1.0, 1.0), ("1F-CORR-N", 0.0, 0.5), ("1F-SERVER", 0.0, 0.0),
                        ("1F-POWER", 0.0, 0.0), ("1F-LOBBY-W", 1.0, 0.0), ("1F-LOBBY-E", 0.0, 0.0),
                        ("2F-WAIT", 0.0, 0.0), ("2F-WIN", 1.0, 0.0), ("2F-CORR-N", 1.0, 0.5)])  # fmt: skip
    places = [place for pa in PA_ZONES for place in _SPEAKERS[pa.id]]
    items += _numbered("spk-", "ip_speaker", K.IP_SPEAKER, "IP广播音箱", "IP speaker", places)
    items += _numbered("disp-", "queue_display", K.QUEUE_DISPLAY, "LED叫号屏", "LED queue display",
                       [("1F-WIN", 0.3, 0.0), ("1F-WIN", 0.7, 0.0), ("1F-ENT", 0.5, 1.0), ("2F-WIN", 0.5, 0.0),
                        ("2F-WAIT", 0.5, 0.5)])  # fmt: skip
    return tuple(items)


DEVICE_ELEMENTS = _device_elements()
DEVICE_BY_KEY = {device.key: device for device in DEVICE_ELEMENTS}


def elements_of(category: str) -> list[DeviceElement]:
    return [device for device in DEVICE_ELEMENTS if device.category == category]


def pa_zone_of_space(space: str) -> PaZoneSpec:
    for pa in PA_ZONES:
        if space in pa.spaces:
            return pa
    raise KeyError(space)
