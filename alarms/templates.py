"""Built-in alarm rules per device kind, so that a site gets sensible alarms without writing any.

Points are chosen by what they are (their Brick class, their device's kind, the door a point reports, the zone
type of a temperature probe), never by how their id is spelt. Each template makes one AlarmRule per matching
point (or device, zone); overrides in site.yaml then change or switch them off (alarms/rules.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from alarms.texts import names
from twin.site.alarm_rules import AlarmRule
from twin.site.model import Device, DeviceKind, Point, PointKind, SiteConfig, ZoneType

MACHINE_ROOMS = frozenset({ZoneType.SERVER_ROOM, ZoneType.POWER_ROOM, ZoneType.WEAK_CURRENT})
MACHINE_ROOM_MAX_C = 30.0  # ASHRAE A1 allows 32 degC inlet; 30 leaves time to act before equipment throttles
UPS_MIN_RUNTIME_MIN = 10.0  # time to shut servers down cleanly
DOOR_HELD_OPEN_S = 120.0
EMERGENCY_KINDS = frozenset({DeviceKind.ACCESS_DOOR, DeviceKind.EMERGENCY_BUTTON})
ON_STATE = {"type": "state", "equals": True}


@dataclass(frozen=True)
class TemplateRule:
    """A rule a template made, with the device kind that switches it on."""

    template: str
    kind: DeviceKind
    rule: AlarmRule


def _rule(template: str, key: str, **fields: Any) -> AlarmRule:
    return AlarmRule.model_validate({"id": f"{template}.{key}", **fields}, strict=False)


def _points(site: SiteConfig) -> Iterator[tuple[Device, Point]]:
    for device in site.devices:
        for point in device.points:
            yield device, point


def point_zone(device: Device, point: Point, element_zone: Mapping[str, str]) -> str:
    """The site zone a point is in: its own element's room, else its device's zone."""
    return element_zone.get(point.ifc_guid or device.ifc_guid, device.zone)


def template_rules(site: SiteConfig, element_zone: Mapping[str, str]) -> list[TemplateRule]:
    """Every rule the templates make for ``site`` (before overrides)."""
    made: list[TemplateRule] = []
    zone_types = {zone.id: zone.zone_type for zone in site.zones}
    ups_rules: list[str] = []
    for device, point in _points(site):
        for template, make in _POINT_TEMPLATES:
            fields = make(device, point, zone_types.get(point_zone(device, point, element_zone)))
            if fields is not None:
                rule = _rule(template, point.id, point=point.id, **fields)
                made.append(TemplateRule(template, device.kind, rule))
                if template == "ups_on_battery":
                    ups_rules.append(rule.id)
    # Downstream of a mains failure: equipment reporting a supply trouble (a fire panel on its standby battery,
    # an air conditioner without power) is suppressed by design while a UPS says the mains are gone.
    for index, made_rule in enumerate(made):
        if made_rule.template == "equipment_fault" and ups_rules:
            made[index] = TemplateRule(
                made_rule.template, made_rule.kind, made_rule.rule.model_copy(update={"suppressed_by": ups_rules})
            )
    made += _door_rules(site)
    made += _fire_confirmed_rules(site, element_zone)
    made += _comm_loss_rules(site)
    return made


def _is(point: Point, brick: str) -> bool:
    return point.brick == brick and point.kind == PointKind.BINARY


def _leak(device: Device, point: Point, zone_type: ZoneType | None) -> dict[str, Any] | None:
    if not _is(point, "Leak_Alarm"):
        return None
    return {"name": names("template.leak", point=point.name), "alarm_class": "leak", "priority": "high",
            "condition": ON_STATE, "work_order": True}  # fmt: skip


def _ups_on_battery(device: Device, point: Point, zone_type: ZoneType | None) -> dict[str, Any] | None:
    if device.kind != DeviceKind.UPS or point.kind != PointKind.BINARY or not point.id.endswith(".on_battery"):
        return None  # the UPS register map's on-battery status bit (Brick has no class of its own for it)
    return {"name": names("template.ups_on_battery", device=device.name), "alarm_class": "power",
            "priority": "high", "condition": ON_STATE, "work_order": True}  # fmt: skip


def _ups_battery_low(device: Device, point: Point, zone_type: ZoneType | None) -> dict[str, Any] | None:
    if device.kind != DeviceKind.UPS or not _is(point, "Low_Battery_Alarm"):
        return None
    return {"name": names("template.ups_battery_low", device=device.name), "alarm_class": "ups",
            "priority": "critical", "condition": ON_STATE, "work_order": True}  # fmt: skip


def _ups_low_runtime(device: Device, point: Point, zone_type: ZoneType | None) -> dict[str, Any] | None:
    if device.kind != DeviceKind.UPS or point.brick != "Duration_Sensor" or point.unit != "min":
        return None
    condition = {"type": "threshold", "low": UPS_MIN_RUNTIME_MIN, "deadband": 2.0, "on_delay_s": 5.0}
    return {"name": names("template.ups_low_runtime", device=device.name), "alarm_class": "ups",
            "priority": "high", "condition": condition, "work_order": True}  # fmt: skip


def _ups_fault(device: Device, point: Point, zone_type: ZoneType | None) -> dict[str, Any] | None:
    if device.kind != DeviceKind.UPS or not _is(point, "Fault_Status"):
        return None
    return {"name": names("template.ups_fault", device=device.name), "alarm_class": "ups", "priority": "high",
            "condition": ON_STATE, "work_order": True}  # fmt: skip


def _equipment_fault(device: Device, point: Point, zone_type: ZoneType | None) -> dict[str, Any] | None:
    if device.kind == DeviceKind.UPS or not _is(point, "Fault_Status"):
        return None
    fire = device.kind == DeviceKind.FIRE_PANEL
    return {"name": names("template.equipment_fault", point=point.name), "alarm_class": "fire" if fire else "other",
            "priority": "high" if fire else "medium", "condition": ON_STATE, "work_order": True}  # fmt: skip


def _machine_room_temperature(device: Device, point: Point, zone_type: ZoneType | None) -> dict[str, Any] | None:
    if zone_type not in MACHINE_ROOMS or point.kind != PointKind.ANALOG:
        return None
    if point.brick not in ("Zone_Air_Temperature_Sensor", "Air_Temperature_Sensor", "Temperature_Sensor"):
        return None
    condition = {"type": "threshold", "high": MACHINE_ROOM_MAX_C, "deadband": 1.0, "on_delay_s": 30.0}
    return {"name": names("template.machine_room_temperature", point=point.name), "alarm_class": "temperature",
            "priority": "high", "condition": condition, "work_order": True}  # fmt: skip


def _door_forced(device: Device, point: Point, zone_type: ZoneType | None) -> dict[str, Any] | None:
    if not _is(point, "Intrusion_Alarm"):
        return None
    return {"name": names("template.door_forced", point=point.name), "alarm_class": "door", "priority": "high",
            "condition": ON_STATE, "work_order": True, "linkage": ["surface_cameras", "page_security"]}  # fmt: skip


def _smoke(device: Device, point: Point, zone_type: ZoneType | None) -> dict[str, Any] | None:
    if not _is(point, "Smoke_Detection_Alarm"):
        return None
    return {"name": names("template.smoke", point=point.name), "alarm_class": "smoke", "priority": "high",
            "condition": ON_STATE, "linkage": ["surface_cameras"]}  # fmt: skip


def _fire_zone(device: Device, point: Point, zone_type: ZoneType | None) -> dict[str, Any] | None:
    if not _is(point, "Fire_Alarm"):
        return None
    return {"name": names("template.fire_zone", point=point.name), "alarm_class": "fire", "priority": "critical",
            "condition": ON_STATE, "latched": True, "shelvable": False, "work_order": True,
            "linkage": ["release_doors", "surface_cameras", "evacuate"]}  # fmt: skip


def _emergency_button(device: Device, point: Point, zone_type: ZoneType | None) -> dict[str, Any] | None:
    # Emergency_Alarm inputs of the security system; a fire panel's Emergency_Alarm is its linkage output.
    if device.kind not in EMERGENCY_KINDS or not _is(point, "Emergency_Alarm") or point.writable:
        return None
    return {"name": names("template.emergency_button", point=point.name), "alarm_class": "emergency",
            "priority": "critical", "condition": ON_STATE, "latched": True, "shelvable": False,
            "reset_roles": ["security"], "linkage": ["page_security", "surface_cameras"]}  # fmt: skip


PointTemplate = Callable[[Device, Point, ZoneType | None], dict[str, Any] | None]
_POINT_TEMPLATES: tuple[tuple[str, PointTemplate], ...] = (
    ("leak", _leak),
    ("ups_on_battery", _ups_on_battery),
    ("ups_battery_low", _ups_battery_low),
    ("ups_low_runtime", _ups_low_runtime),
    ("ups_fault", _ups_fault),
    ("equipment_fault", _equipment_fault),
    ("machine_room_temperature", _machine_room_temperature),
    ("door_forced", _door_forced),
    ("smoke", _smoke),
    ("fire_zone", _fire_zone),
    ("emergency_button", _emergency_button),
)


def _door_rules(site: SiteConfig) -> Iterator[TemplateRule]:
    points = site.points()
    for door in site.doors:
        device, _ = points[door.open_point]
        condition = {"type": "state", "equals": True, "on_delay_s": DOOR_HELD_OPEN_S}
        rule = _rule("door_held_open", door.id, point=door.open_point, name=names("template.door_held_open",
                     door=door.name), alarm_class="door", priority="medium", condition=condition,
                     zone=door.zone, ifc_guid=door.ifc_guid)  # fmt: skip
        yield TemplateRule("door_held_open", device.kind, rule)


def _fire_confirmed_rules(site: SiteConfig, element_zone: Mapping[str, str]) -> Iterator[TemplateRule]:
    """Per zone with two or more smoke detectors: fire confirmed when two of them alarm (GB 50116 4.1.6)."""
    detectors: dict[str, list[tuple[Device, Point]]] = defaultdict(list)
    for device, point in _points(site):
        if _is(point, "Smoke_Detection_Alarm"):
            detectors[point_zone(device, point, element_zone)].append((device, point))
    zone_names = {zone.id: zone.name for zone in site.zones}
    for zone_id, members in sorted(detectors.items()):
        if len(members) < 2 or zone_id not in zone_names:
            continue
        condition = {"type": "k_of_n", "k": 2, "points": [point.id for _, point in members]}
        rule = _rule("fire_confirmed", zone_id, name=names("template.fire_confirmed", zone=zone_names[zone_id]),
                     alarm_class="fire", priority="critical", condition=condition, zone=zone_id, latched=True,
                     shelvable=False, work_order=True,
                     linkage=["release_doors", "surface_cameras", "evacuate"])  # fmt: skip
        yield TemplateRule("fire_confirmed", members[0][0].kind, rule)


def _comm_loss_rules(site: SiteConfig) -> Iterator[TemplateRule]:
    for device in site.devices:
        if device.connection is None or not device.points:
            continue
        rule = _rule("comm_loss", device.id, device=device.id, name=names("template.comm_loss", device=device.name),
                     alarm_class="comm", priority="medium", condition={"type": "comm_loss"},
                     work_order=True)  # fmt: skip
        yield TemplateRule("comm_loss", device.kind, rule)
