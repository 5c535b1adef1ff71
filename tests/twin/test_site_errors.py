"""Every kind of site.yaml error gives one clear message naming the file, the line and the place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers import REPO_ROOT
from twin.site import SiteFileError, load_site

SPACE = "0123456789abcdefghijAB"
METER = "0123456789abcdefghijCD"
DOOR = "0123456789abcdefghijEF"
GUIDS = {SPACE: "IfcSpace", METER: "IfcFlowMeter", DOOR: "IfcDoor"}

VALID = f"""\
site:
  id: test-hall
  name: {{zh: 测试大厅, en: Test hall}}
  ifc: hall.ifc
zones:
  - id: z-power
    name: {{zh: 动力机房, en: Power room}}
    zone_type: power_room
    ifc_guid: {SPACE}
devices:
  - id: pm-1
    name: {{zh: 电表1, en: Meter 1}}
    kind: power_meter
    zone: z-power
    ifc_guid: {METER}
    connection:
      type: modbus_tcp
      host: 127.0.0.1
      port: 15020
    points:
      - id: pm-1.voltage
        name: {{zh: 电压, en: Voltage}}
        kind: analog
        unit: V
        brick: Voltage_Sensor
        address: {{type: modbus, table: input, offset: 0, data_type: float32}}
      - id: pm-1.energy
        name: {{zh: 电能, en: Energy}}
        kind: analog
        unit: kWh
        brick: Energy_Sensor
        address: {{type: modbus, table: input, offset: 2, data_type: uint32, scale: 0.1}}
"""


def write_site(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write_site(tmp_path, text)
    with pytest.raises(SiteFileError) as caught:
        load_site(path, guid_index=GUIDS)
    return [str(error) for error in caught.value.errors]


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    found = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            found += 1
            if found == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in the text")


def test_valid_site_loads(tmp_path: Path) -> None:
    site = load_site(write_site(tmp_path, VALID), guid_index=GUIDS)
    assert [p for p in site.points()] == ["pm-1.voltage", "pm-1.energy"]
    assert site.device("pm-1").comm_point_id == "pm-1.comm_lost"


def test_public_url_is_an_http_address(tmp_path: Path) -> None:
    """site.public_url (where phones reach the server: the visitor page's QR codes) is kept without its trailing
    slash; anything but http(s)://host[:port][/path] is an error naming the key and what is wrong."""

    def with_url(url: str) -> str:
        return VALID.replace("  ifc: hall.ifc\n", f"  ifc: hall.ifc\n  public_url: {url}\n")

    site = load_site(write_site(tmp_path, with_url("https://hall.example.cn/twin/")), guid_index=GUIDS)
    assert site.site.public_url == "https://hall.example.cn/twin"
    assert load_site(write_site(tmp_path, VALID), guid_index=GUIDS).site.public_url is None
    for bad, reason in (
        ("hall.example.cn", "must start with http:// or https://"),
        ("ftp://hall.example.cn", "must start with http:// or https://"),
        ("'https://'", "has no host name"),
        ("http://hall.example.cn:99999", "bad port"),
        ("'http://hall.example.cn/?kiosk=1'", "without a query"),
    ):
        text = with_url(bad)
        [message] = problems(tmp_path, text)
        assert f":{line_of(text, 'public_url:')}: site.public_url:" in message and reason in message, message


def test_unknown_key_names_file_line_and_place(tmp_path: Path) -> None:
    text = VALID.replace("      port: 15020\n", "      port: 15020\n      prot: 1\n")
    [message] = problems(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'site.yaml'}:{line_of(text, 'prot: 1')}: ")
    assert "devices[0].connection.prot" in message and "unknown key 'prot'" in message


def test_wrong_type(tmp_path: Path) -> None:
    text = VALID.replace("port: 15020", 'port: "15020"')
    [message] = problems(tmp_path, text)
    assert f":{line_of(text, 'port:')}: devices[0].connection.port:" in message
    assert "integer" in message and "'15020'" in message


def test_missing_key(tmp_path: Path) -> None:
    text = VALID.replace("        brick: Energy_Sensor\n", "")
    [message] = problems(tmp_path, text)
    assert "devices[0].points[1].brick: missing required key 'brick'" in message


def test_duplicate_point_id(tmp_path: Path) -> None:
    text = VALID.replace("id: pm-1.energy", "id: pm-1.voltage")
    [message] = problems(tmp_path, text)
    assert f":{line_of(text, 'id: pm-1.voltage', 2)}: devices[0].points[1].id: duplicate point id" in message
    assert "devices[0].points[0]" in message


def test_duplicate_device_and_zone_ids(tmp_path: Path) -> None:
    device = VALID[VALID.index("  - id: pm-1\n") :]
    zone = VALID[VALID.index("  - id: z-power") : VALID.index("devices:")]
    text = VALID.replace("devices:\n", zone + "devices:\n") + device.replace("pm-1.", "pm-2.")
    found = problems(tmp_path, text)
    assert any("zones[1].id: duplicate zone id 'z-power'" in m for m in found)
    assert any("devices[1].id: duplicate device id 'pm-1'" in m for m in found)


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = VALID.replace("      host: 127.0.0.1\n", "      host: 127.0.0.1\n      host: 127.0.0.2\n")
    [message] = problems(tmp_path, text)
    assert f":{line_of(text, 'host: 127.0.0.2')}: devices[0].connection.host: duplicate key 'host'" in message


def test_dangling_zone_reference(tmp_path: Path) -> None:
    text = VALID.replace("    zone: z-power", "    zone: z-nowhere")
    [message] = problems(tmp_path, text)
    assert f":{line_of(text, 'zone: z-nowhere')}: devices[0].zone: zone 'z-nowhere' is not defined" in message


def test_dangling_pa_zone_references(tmp_path: Path) -> None:
    text = VALID.replace(
        "devices:\n",
        "pa_zones:\n  - id: pa-1\n    name: {zh: 一楼, en: 1F}\n    zones: [z-lost]\n    speakers: [pm-1, spk-9]\n"
        "devices:\n",
    )
    found = problems(tmp_path, text)
    assert any("pa_zones[0].zones[0]: zone 'z-lost' is not defined" in m for m in found)
    assert any("pa_zones[0].speakers[0]: device 'pm-1' is not an ip_speaker" in m for m in found)
    assert any("pa_zones[0].speakers[1]: device 'spk-9' is not defined" in m for m in found)


def test_guid_absent_from_ifc(tmp_path: Path) -> None:
    text = VALID.replace(f"ifc_guid: {METER}", "ifc_guid: 0123456789abcdefghijZZ")
    [message] = problems(tmp_path, text)
    assert "devices[0].ifc_guid: GlobalId 0123456789abcdefghijZZ is not in hall.ifc" in message


def test_zone_guid_must_be_a_space(tmp_path: Path) -> None:
    text = VALID.replace(f"    ifc_guid: {SPACE}", f"    ifc_guid: {DOOR}")
    [message] = problems(tmp_path, text)
    assert "zones[0].ifc_guid" in message and "is an IfcDoor, not an IfcSpace" in message


def test_malformed_guid_and_bad_enum(tmp_path: Path) -> None:
    text = VALID.replace(f"ifc_guid: {METER}", "ifc_guid: not-a-guid").replace("kind: power_meter", "kind: toaster")
    found = problems(tmp_path, text)
    assert any("devices[0].ifc_guid: a GlobalId has 22 characters, this one has 10 ('not-a-guid')" in m for m in found)
    assert any("devices[0].kind" in m and "'toaster'" in m for m in found)


def test_address_must_fit_connection(tmp_path: Path) -> None:
    text = VALID.replace(
        "address: {type: modbus, table: input, offset: 0, data_type: float32}",
        "address: {type: bacnet, object: 'analog-input:1'}",
    )
    [message] = problems(tmp_path, text)
    assert "devices[0].points[0].address.type: a modbus_tcp device needs modbus addresses, not bacnet" in message


def test_inconsistent_modbus_address(tmp_path: Path) -> None:
    text = VALID.replace("table: input, offset: 0, data_type: float32", "table: coil, offset: 0, data_type: float32")
    [message] = problems(tmp_path, text)
    assert "devices[0].points[0].address" in message and "coil points are single bits" in message


def test_read_only_point_cannot_be_writable(tmp_path: Path) -> None:
    text = VALID.replace("        unit: V\n", "        unit: V\n        writable: true\n")
    [message] = problems(tmp_path, text)
    assert "devices[0].points[0].writable: Modbus input registers are read-only" in message


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = VALID.replace("  name: {zh: 测试大厅, en: Test hall}", "  name: {zh: 测试大厅, en: Test hall")
    [message] = problems(tmp_path, text)
    assert "YAML syntax" in message and f"{tmp_path / 'site.yaml'}:" in message


def test_not_a_mapping_and_unreadable(tmp_path: Path) -> None:
    assert "must be a mapping" in problems(tmp_path, "- just\n- a list\n")[0]
    with pytest.raises(SiteFileError, match="cannot read the site file"):
        load_site(tmp_path / "missing.yaml")


def test_missing_ifc_file_is_reported(tmp_path: Path) -> None:
    path = write_site(tmp_path, VALID)
    with pytest.raises(SiteFileError, match=r"site\.ifc: the building model .*hall\.ifc does not exist"):
        load_site(path)


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    text = VALID.replace("zone: z-power", "zone: z-x").replace("id: pm-1.energy", "id: pm-1.voltage")
    assert len(problems(tmp_path, text)) == 2


def test_cli_check_prints_errors_and_fails(tmp_path: Path) -> None:
    text = VALID.replace("zone: z-power", "zone: z-x")
    path = write_site(tmp_path, text)
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "check", str(path)], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.returncode == 1
    assert f"{path}:{line_of(text, 'zone: z-x')}: devices[0].zone" in result.stderr


def test_cli_schema_is_json_schema() -> None:
    import json

    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "schema"], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    schema = json.loads(result.stdout)
    assert schema["additionalProperties"] is False
    assert {"ModbusConnection", "BacnetConnection", "MqttConnection"} <= set(schema["$defs"])


def test_schema_text_is_stable() -> None:
    # Guard against accidental loosening: every model forbids unknown keys.
    from twin.site.model import SiteConfig

    for name, definition in SiteConfig.model_json_schema()["$defs"].items():
        if definition.get("type") == "object":
            assert definition.get("additionalProperties") is False, name


def test_guids_checked_against_a_real_ifc(tmp_path: Path, shared_dir: Path) -> None:
    import ifcopenshell

    ifc = shared_dir / "ifc" / "AC20-FZK-Haus.ifc"
    model = ifcopenshell.open(str(ifc))
    space = model.by_type("IfcSpace")[0].GlobalId
    door = model.by_type("IfcDoor")[0].GlobalId
    text = VALID.replace("ifc: hall.ifc", f"ifc: {ifc}").replace(SPACE, space).replace(METER, door)
    site = load_site(write_site(tmp_path, text))
    assert site.zones[0].ifc_guid == space
    broken = text.replace(f"ifc_guid: {door}", "ifc_guid: 0123456789abcdefghijZZ")
    with pytest.raises(SiteFileError, match=r"devices\[0\]\.ifc_guid: GlobalId 0123456789abcdefghijZZ is not in"):
        load_site(write_site(tmp_path, broken))
