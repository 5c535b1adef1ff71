"""`halltwin check` reports every problem at once, in line order, with 'did you mean' where a spelling is close."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers import REPO_ROOT
from tests.twin.test_site_errors import GUIDS, METER, VALID, line_of, problems, write_site
from twin.site import SiteFileError, load_site

BACNET_DEVICE = f"""\
  - id: fire-1
    name: {{zh: 火灾报警控制器, en: Fire panel}}
    kind: fire_panel
    zone: z-power
    ifc_guid: {METER}
    connection: {{type: bacnet_ip, address: "127.0.0.1:47809", device_instance: 1001}}
    points:
      - id: fire-1.alarm
        name: {{zh: 火警, en: Fire alarm}}
        kind: binary
        brick: Fire_Alarm
        address: {{type: bacnet, object: "binary-input:1"}}
      - id: fire-1.zone_state
        name: {{zh: 分区状态, en: Zone state}}
        kind: text
        brick: Point
        address: {{type: bacnet, object: "life-safety-zone:2", property: present-value}}
"""
WITH_BACNET = VALID + BACNET_DEVICE
PANEL_ZONE = "    zone: z-power\n    ifc_guid: " + METER + "\n    connection: {type: bacnet_ip"  # the fire panel's


def write_ifc(folder: Path) -> None:
    """hall.ifc with the elements GUIDS names, so that the CLI checks GlobalIds against a real IFC file."""
    import ifcopenshell

    model = ifcopenshell.file(schema="IFC4")
    for guid, ifc_class in GUIDS.items():
        model.create_entity(ifc_class, GlobalId=guid, Name=ifc_class)
    model.write(str(folder / "hall.ifc"))


def run_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "check", str(path)], capture_output=True, text=True, cwd=REPO_ROOT
    )


def test_misspelt_property_dangling_zone_and_wrong_type_in_one_run_in_line_order(tmp_path: Path) -> None:
    text = (
        WITH_BACNET.replace("port: 15020", "port: fast")  # the Modbus meter, line ~18
        .replace(PANEL_ZONE, PANEL_ZONE.replace("z-power", "z-powr"))
        .replace("property: present-value}", "property: present-valeu}")
    )
    path = write_site(tmp_path, text)
    write_ifc(tmp_path)
    result = run_check(path)
    assert result.returncode == 1
    # write_ifc's elements have no body: each device on one is also warned about, in its line's place.
    lines = [line for line in result.stderr.splitlines() if ": warning: " not in line]
    assert lines[-1] == f"3 problem(s), 2 warning(s) in {path}"
    assert lines[:3] == [
        f"{path}:{line_of(text, 'port: fast')}: devices[0].connection.port: "
        "Input should be a valid integer (got 'fast')",
        f"{path}:{line_of(text, 'zone: z-powr')}: devices[1].zone: "
        "zone 'z-powr' is not defined under zones: (did you mean 'z-power'?)",
        f"{path}:{line_of(text, 'present-valeu')}: devices[1].points[1].address.property: "
        "'present-valeu' is not a BACnet property name (did you mean 'present-value'?)",
    ]


def test_structure_references_and_guids_are_reported_together(tmp_path: Path) -> None:
    text = (
        VALID.replace("kind: power_meter", "kind: power_metre")
        .replace("id: pm-1.energy", "id: pm-1.voltage")
        .replace(f"    ifc_guid: {METER}", "    ifc_guid: 0123456789abcdefghijZZ")
    )
    found = problems(tmp_path, text)
    assert [m.split(": ", 2)[1] for m in found] == [
        "devices[0].kind",
        "devices[0].ifc_guid",
        "devices[0].points[1].id",
    ]
    assert "(did you mean 'power_meter'?)" in found[0]
    assert "GlobalId 0123456789abcdefghijZZ is not in hall.ifc" in found[1]
    assert "duplicate point id 'pm-1.voltage'" in found[2]


@pytest.mark.parametrize(
    ("before", "after", "place", "suggestion"),
    [
        ("      port: 15020\n", "      port: 15020\n      tiemout_s: 2\n", "devices[0].connection.tiemout_s",
         "unknown key 'tiemout_s' (did you mean 'timeout_s'?)"),
        ("    zone: z-power\n    ifc_guid", "    zoen: z-power\n    ifc_guid", "devices[0].zoen",
         "unknown key 'zoen' (did you mean 'zone'?)"),
        ("table: input, offset: 0", "table: inputs, offset: 0", "devices[0].points[0].address.table",
         "(did you mean 'input'?)"),
        ("type: modbus_tcp", "type: modbus_tpc", "devices[0].connection.type",
         "type must be one of modbus_tcp, bacnet_ip, mqtt, camera, computed, got 'modbus_tpc' "
         "(did you mean 'modbus_tcp'?)"),
        ("zone_type: power_room", "zone_type: powerroom", "zones[0].zone_type", "(did you mean 'power_room'?)"),
    ],
)  # fmt: skip
def test_did_you_mean_for_keys_and_enumerations(
    tmp_path: Path, before: str, after: str, place: str, suggestion: str
) -> None:
    assert before in VALID
    found = problems(tmp_path, VALID.replace(before, after, 1))
    assert any(f": {place}: " in m and suggestion in m for m in found), found


def test_no_suggestion_when_nothing_is_close(tmp_path: Path) -> None:
    [message] = problems(tmp_path, VALID.replace("      port: 15020\n", "      port: 15020\n      colour: red\n"))
    assert message.endswith("unknown key 'colour'")


def test_bacnet_object_types_and_properties_follow_the_standard(tmp_path: Path) -> None:
    text = (
        WITH_BACNET.replace('object: "binary-input:1"', 'object: "binary-inptu:1"')
        .replace("life-safety-zone:2", "trend-log:2")
    )  # fmt: skip
    found = problems(tmp_path, text)
    assert len(found) == 2, found
    assert "'binary-inptu' is not a BACnet object type (did you mean 'binary-input'?)" in found[0]
    assert "trend-log objects are not read as points; use one of analog-input" in found[1]
    # Every standard property name is accepted, not only present-value.
    ok = WITH_BACNET.replace("property: present-value}", "property: status-flags}")
    assert load_site(write_site(tmp_path, ok), guid_index=GUIDS).devices[1].points[1].address.property == (  # type: ignore[union-attr]
        "status-flags"
    )


def test_modbus_ranges_and_bits(tmp_path: Path) -> None:
    text = VALID.replace("offset: 0, data_type: float32", "offset: 65535, data_type: float32").replace(
        "offset: 2, data_type: uint32, scale: 0.1", "offset: 2, data_type: float32, bit: 3"
    )
    found = problems(tmp_path, text)
    assert len(found) == 2
    assert "devices[0].points[0].address" in found[0] and "runs past register 65535" in found[0]
    assert "devices[0].points[1].address" in found[1] and "bit: needs an integer register" in found[1]


def test_duplicate_device_endpoints(tmp_path: Path) -> None:
    second_meter = VALID[VALID.index("  - id: pm-1\n") :].replace("pm-1", "pm-2")
    second_panel = BACNET_DEVICE.replace("fire-1", "fire-2")
    text = WITH_BACNET + second_meter + second_panel
    found = problems(tmp_path, text)
    assert [m.split(": ", 2)[1:] for m in found] == [
        ["devices[2].connection.host",
         "Modbus 127.0.0.1:15020 unit 1 is also devices[0]'s: two devices cannot share one endpoint"],
        ["devices[3].connection.device_instance",
         "BACnet device instance 1001 is also devices[1]'s: two devices cannot share one endpoint"],
        ["devices[3].connection.address",
         "BACnet address 127.0.0.1:47809 is also devices[1]'s: two devices cannot share one endpoint"],
    ]  # fmt: skip
    assert f":{line_of(text, 'host: 127.0.0.1', 2)}: " in found[0]
    # Another unit id behind the same gateway address is a different device (an RS-485 bus behind one gateway).
    other_unit = second_meter.replace("port: 15020", "port: 15020\n      device_id: 2")
    assert not problems_or_none(tmp_path, WITH_BACNET + other_unit)


def problems_or_none(tmp_path: Path, text: str) -> list[str]:
    try:
        load_site(write_site(tmp_path, text), guid_index=GUIDS)
    except SiteFileError as exc:
        return [str(e) for e in exc.errors]
    return []


def test_door_references(tmp_path: Path) -> None:
    doors = """\
doors:
  - id: door-1
    name: {zh: 机房门, en: Power room door}
    ifc_guid: 0123456789abcdefghijEF
    zone: z-power
    lock_point: pm-1.voltage
    open_point: fire-1.alarn
"""
    found = problems(tmp_path, WITH_BACNET + doors)
    assert [m.split(": ", 2)[1:] for m in found] == [
        ["doors[0].lock_point", "point 'pm-1.voltage' is analog, a door needs a binary point"],
        ["doors[0].open_point",
         "point 'fire-1.alarn' is not defined under any device's points: (did you mean 'fire-1.alarm'?)"],
    ]  # fmt: skip


def test_empty_file_and_only_yaml_syntax(tmp_path: Path) -> None:
    assert problems(tmp_path, "") == [f"{tmp_path / 'site.yaml'}:1: <document>: the site file is empty"]


def test_bacnet_names_match_the_installed_bacpypes3() -> None:
    sys.path.insert(0, str(REPO_ROOT / "tools"))
    try:
        import gen_bacnet_names
    finally:
        sys.path.pop(0)
    generated = (REPO_ROOT / "twin" / "site" / "bacnet_names.py").read_text(encoding="utf-8")
    assert generated == gen_bacnet_names.render(), "run tools/gen_bacnet_names.py after upgrading bacpypes3"
    from twin.site.bacnet_names import ENGINEERING_UNITS, OBJECT_TYPES, PROPERTIES

    assert OBJECT_TYPES["analog-input"] == 0 and PROPERTIES["present-value"] == 85
    assert ENGINEERING_UNITS[62] == "degrees-celsius"
