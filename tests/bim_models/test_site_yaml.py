"""The committed demo site.yaml: fresh, valid against its IFC, and exactly the demo-site point vocabulary."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import ifcopenshell
import ifcopenshell.util.element
import pytest

from bim_models import demo_hall, make_site
from tests.peers import REPO_ROOT
from twin.site import load_site
from twin.site.model import (
    BacnetAddress,
    BacnetConnection,
    Device,
    DeviceKind,
    ModbusAddress,
    ModbusConnection,
    MqttConnection,
    PointKind,
    SiteConfig,
)

SITE = REPO_ROOT / "bim_models" / "site.yaml"
K = DeviceKind
MODBUS_SUFFIXES = {
    K.POWER_METER: {"voltage", "current", "active_power", "power_factor", "frequency", "energy"},
    K.UPS: {"input_voltage", "output_voltage", "load", "battery_charge", "battery_runtime", "on_battery",
            "battery_low", "fault", "output_on"},
    K.AC_UNIT: {"on", "mode", "setpoint", "supply_air_temp", "return_air_temp", "fan_speed", "fault"},
}  # fmt: skip
WRITABLE = {"output_on", "on", "mode", "setpoint", "fan_speed"}
# Point suffix pattern -> BACnet object type and the IFC class / type its ifc_guid must name.
IfcType = tuple[str, str] | None
BACNET_POINTS: dict[str, list[tuple[str, str, IfcType]]] = {
    "fire-panel": [
        (r"zone_(\d+)\.fire", "binary-input", ("IfcZone", "FireZone")),
        (r"smoke_(\d+)", "binary-input", ("IfcSensor", "SMOKESENSOR")),
        (r"trouble", "binary-input", None),
        (r"evac_broadcast", "binary-value", None),
    ],
    "security-ctl": [
        (r"ebtn_(\d+)", "binary-input", ("IfcAlarm", "EmergencyButton")),
        (r"door_(\d+)\.open", "binary-input", ("IfcDoor", "DOOR")),
        (r"door_(\d+)\.forced", "binary-input", ("IfcDoor", "DOOR")),
        (r"door_(\d+)\.lock", "binary-output", ("IfcDoor", "DOOR")),
    ],
    "env-ctl": [
        (r"leak_(\d+)", "binary-input", ("IfcSensor", "MOISTURESENSOR")),
        (r"server_room_temp", "analog-input", ("IfcSensor", "TEMPERATURESENSOR")),
    ],
}
DEVICE_CLASSES = {
    K.POWER_METER: ("IfcFlowMeter", {"ENERGYMETER"}),
    K.UPS: ("IfcElectricFlowStorageDevice", {"UPS"}),
    K.AC_UNIT: ("IfcUnitaryEquipment", {"SPLITSYSTEM", "AIRCONDITIONINGUNIT"}),
    K.TEMP_HUMIDITY: ("IfcSensor", {"TEMPERATURESENSOR"}),
    K.PEOPLE_COUNTER: ("IfcSensor", {"PeopleCounter"}),
    K.FIRE_PANEL: ("IfcUnitaryControlElement", {"ALARMPANEL"}),
    K.ACCESS_DOOR: ("IfcController", {"AccessController"}),
    K.WATER_LEAK: ("IfcController", {"EnvironmentController"}),
    K.QUEUE_SYSTEM: ("IfcCommunicationsAppliance", {"QueueSystem"}),
    K.CAMERA: ("IfcAudioVisualAppliance", {"CAMERA"}),
    K.IP_SPEAKER: ("IfcAudioVisualAppliance", {"SPEAKER"}),
    K.QUEUE_DISPLAY: ("IfcAudioVisualAppliance", {"DISPLAY"}),
    K.KIOSK: ("IfcCommunicationsAppliance", {"GuidanceKiosk"}),
}
ROUGH_COUNTS = {K.POWER_METER: (4, 6), K.UPS: (2, 2), K.AC_UNIT: (6, 10), K.TEMP_HUMIDITY: (8, 12),
                K.PEOPLE_COUNTER: (2, 4)}  # fmt: skip


@pytest.fixture(scope="module")
def site() -> SiteConfig:
    demo_hall.ensure_demo_hall()
    return load_site(SITE)  # checks every ifc_guid against generated/demo_hall.ifc


@pytest.fixture(scope="module")
def model(site: SiteConfig) -> ifcopenshell.file:
    return ifcopenshell.open(str(SITE.parent / site.site.ifc))


def _suffix(device: Device, point_id: str) -> str:
    assert point_id.startswith(device.id + "."), point_id
    return point_id.removeprefix(device.id + ".")


def _room(element: ifcopenshell.entity_instance) -> str:
    """Name of the space an element is contained in."""
    container = ifcopenshell.util.element.get_container(element)
    assert container is not None and container.is_a("IfcSpace"), element
    return str(container.Name)


def _ifc_type(element: ifcopenshell.entity_instance) -> str:
    return str(ifcopenshell.util.element.get_predefined_type(element))


def test_committed_file_equals_a_fresh_generation(tmp_path: Path) -> None:
    assert SITE.read_text(encoding="utf-8") == make_site.site_text(), "run: python -m bim_models.make_site"
    assert make_site.main(["--check", "-o", str(SITE)]) == 0
    stale = tmp_path / "site.yaml"
    stale.write_text(SITE.read_text(encoding="utf-8").replace("port: 15020", "port: 15099"), encoding="utf-8")
    assert make_site.main(["--check", "-o", str(stale)]) == 1


def test_halltwin_check_accepts_it(site: SiteConfig) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "check", str(SITE)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "OK (" in result.stdout


def test_site_identity_and_broker(site: SiteConfig) -> None:
    assert site.site.id == "demo-hall" and site.site.ifc == "generated/demo_hall.ifc"
    assert site.site.name.zh and site.site.name.en
    assert (site.mqtt.host, site.mqtt.port) == ("127.0.0.1", 1883)
    assert 250 <= sum(len(d.points) for d in site.devices) <= 500


def test_zones_are_the_spaces(site: SiteConfig, model: ifcopenshell.file) -> None:
    assert len(site.zones) == len(model.by_type("IfcSpace"))
    for zone in site.zones:
        space = model.by_guid(zone.ifc_guid)
        props = ifcopenshell.util.element.get_pset(space, "Pset_HallTwin")
        assert space.is_a("IfcSpace") and space.Name.lower() == zone.id
        assert props["ZoneType"] == zone.zone_type and (props["NameZh"], props["NameEn"]) == (
            zone.name.zh,
            zone.name.en,
        )


def test_pa_zones_cover_every_zone_once_with_their_speakers(site: SiteConfig, model: ifcopenshell.file) -> None:
    assert {"pa-1f-hall", "pa-1f-rooms", "pa-2f", "pa-24h"} <= {pa.id for pa in site.pa_zones}
    covered = Counter(zone for pa in site.pa_zones for zone in pa.zones)
    assert covered == Counter(zone.id for zone in site.zones)
    ifc_zones = {z.Name: z for z in model.by_type("IfcZone") if z.ObjectType == "PAZone"}
    for pa in site.pa_zones:
        assert pa.speakers
        grouped = {s.Name.lower() for rel in ifc_zones[pa.id].IsGroupedBy for s in rel.RelatedObjects}
        assert grouped == set(pa.zones)
        for speaker in pa.speakers:
            element = model.by_guid(site.device(speaker).ifc_guid)
            assert _room(element).lower() in pa.zones
    speakers = {d.id for d in site.devices if d.kind == K.IP_SPEAKER}
    assert speakers == {s for pa in site.pa_zones for s in pa.speakers}


def test_every_kind_of_the_vocabulary_with_its_protocol(site: SiteConfig) -> None:
    kinds = Counter(d.kind for d in site.devices)
    for kind in (K.CAMERA, K.IP_SPEAKER, K.QUEUE_DISPLAY, K.KIOSK):
        # The two entrance cameras count people (bim_models/cameras.py); the other cameras only stand in the model.
        assert kinds[kind] >= 1 and all(d.connection is None for d in site.devices
                                        if d.kind == kind and d.id not in ("cam-1", "cam-5"))
    assert {d.id: d.connection.type for d in site.devices if d.kind == K.CAMERA and d.connection} == {
        "cam-1": "camera", "cam-5": "camera"}
    for kind, (low, high) in ROUGH_COUNTS.items():
        assert low <= kinds[kind] <= high, kind
    modbus = [(d, d.connection) for d in site.devices if isinstance(d.connection, ModbusConnection)]
    assert {d.kind for d, _ in modbus} == set(MODBUS_SUFFIXES)
    assert [c.port for _, c in modbus] == list(range(15020, 15020 + len(modbus)))
    for device, connection in modbus:
        assert connection.host == "127.0.0.1"
        suffixes = {_suffix(device, p.id) for p in device.points}
        assert suffixes == MODBUS_SUFFIXES[device.kind], device.id
        assert all(isinstance(p.address, ModbusAddress) for p in device.points)
        assert {_suffix(device, p.id) for p in device.points if p.writable} == WRITABLE & suffixes
    bacnet = [(d, d.connection) for d in site.devices if isinstance(d.connection, BacnetConnection)]
    assert [d.id for d, _ in bacnet] == ["fire-panel", "security-ctl", "env-ctl"]
    assert [d.kind for d, _ in bacnet] == [K.FIRE_PANEL, K.ACCESS_DOOR, K.WATER_LEAK]
    assert [c.address for _, c in bacnet] == ["127.0.0.1:47810", "127.0.0.1:47811", "127.0.0.1:47812"]
    for kind, branch in ((K.TEMP_HUMIDITY, "env"), (K.PEOPLE_COUNTER, "counter")):
        wanted = {"temperature", "humidity"} if kind == K.TEMP_HUMIDITY else {"count_in", "count_out"}
        for device in (d for d in site.devices if d.kind == kind):
            assert isinstance(device.connection, MqttConnection)
            assert device.connection.topic == f"hall/demo-hall/{branch}/{device.id}"
            assert {_suffix(device, p.id) for p in device.points} == wanted
    # The queue system's figures are computed by the queue analytics from its ticket events (monitoring/queues):
    # per window group the same measures, plus the hall's satisfaction.
    queue = site.device("queue")
    assert queue.kind == K.QUEUE_SYSTEM and queue.connection is not None and queue.connection.type == "computed"
    assert site.queues is not None
    groups = [group.id for group in site.queues.groups]
    measures = ("waiting", "wait_p90", "longest_wait", "forecast_arrivals", "windows_open", "windows_needed")
    expected = {(m, g) for m in measures for g in groups} | {("satisfaction", None)}
    assert {(p.address.measure, p.address.ref) for p in queue.points} == expected  # type: ignore[union-attr]


def test_bacnet_points_and_their_ifc_elements(site: SiteConfig, model: ifcopenshell.file) -> None:
    for device_id, patterns in BACNET_POINTS.items():
        device = site.device(device_id)
        seen: Counter[str] = Counter()
        instances: set[str] = set()
        for point in device.points:
            suffix = _suffix(device, point.id)
            matches = [(p, t, c) for p, t, c in patterns if re.fullmatch(p, suffix)]
            assert len(matches) == 1, point.id
            pattern, object_type, ifc = matches[0]
            seen[pattern] += 1
            assert isinstance(point.address, BacnetAddress) and point.address.object_type == object_type
            assert point.address.object not in instances, point.id
            instances.add(point.address.object)
            assert point.writable == (object_type == "binary-output"), point.id
            if ifc is None:
                assert point.ifc_guid is None
                continue
            assert point.ifc_guid is not None, point.id
            element = model.by_guid(point.ifc_guid)
            kind = element.ObjectType if element.is_a("IfcZone") else _ifc_type(element)
            assert (element.is_a(), kind) == ifc, point.id
            number = re.fullmatch(pattern, suffix)
            if element.is_a("IfcDoor") and number:
                props = ifcopenshell.util.element.get_pset(element, "Pset_HallTwin")
                assert props["AccessControlled"] and props["AccessDoorNo"] == int(number.group(1))
            elif element.is_a("IfcZone") and number:
                assert element.Name == f"zone_{number.group(1)}"
        assert set(seen) == {p for p, _, _ in patterns}, device_id
    security = site.device("security-ctl")
    doors = {re.sub(r"\.(open|forced|lock)$", "", p.id) for p in security.points if ".door_" in p.id}
    assert 4 <= len(doors) <= 6
    assert 6 <= sum(".ebtn_" in p.id for p in security.points) <= 10
    assert 4 <= sum(".leak_" in p.id for p in site.device("env-ctl").points) <= 6
    smoke_spaces = {
        _room(model.by_guid(p.ifc_guid)) for p in site.device("fire-panel").points if ".smoke_" in p.id and p.ifc_guid
    }
    assert smoke_spaces == {s.Name for s in model.by_type("IfcSpace")}  # a detector in every room


def test_device_elements_are_of_their_kinds_class_and_in_their_zone(site: SiteConfig, model: ifcopenshell.file) -> None:
    for device in site.devices:
        element = model.by_guid(device.ifc_guid)
        ifc_class, types = DEVICE_CLASSES[device.kind]
        assert element.is_a() == ifc_class and _ifc_type(element) in types, device.id
        assert _room(element).lower() == device.zone, device.id


def test_point_details_are_complete(site: SiteConfig) -> None:
    for _device, point in site.points().values():
        assert point.name.zh and point.name.en and point.brick[0].isupper(), point.id
        assert (point.kind == PointKind.MULTISTATE) == bool(point.states), point.id
        if isinstance(point.address, ModbusAddress) and point.kind == PointKind.BINARY:
            assert point.address.data_type == "bool", point.id
    # No two Modbus points of one device share a register, unless they take different bits of it.
    for device in site.devices:
        used: dict[tuple[str, int], set[int | None]] = defaultdict(set)
        for point in device.points:
            address = point.address
            if not isinstance(address, ModbusAddress):
                continue
            for register in range(address.offset, address.offset + address.width):
                bits = used[(address.table, register)]
                assert None not in bits and address.bit not in bits, point.id
                assert address.bit is not None or not bits, point.id
                bits.add(address.bit)
