"""EDE import: files in the published B.I.G.-EU layout (UTF-8 and GBK), companions, clear errors, and a fragment
that becomes a valid site once the user fills in what an EDE file cannot know."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from iot_gateway.ede import EdeError, load_ede, parse_ede
from tests.peers import REPO_ROOT
from twin.site import load_site

HEADER = """\
# Proposal_Engineering-Data-Exchange - B.I.G.-EU
PROJECT_NAME;政务大厅
VERSION_OF_REFERENCEFILE;3
TIMESTAMP_OF_LAST_CHANGE;2026-11-30
AUTHOR_OF_LAST_CHANGE;集成商 Integrator
VERSION_OF_LAYOUT;2.3
#mandatory;mandatory;mandatory;mandatory;mandatory;optional;optional;optional;optional;optional;optional;optional;\
optional;optional;optional;optional
# keyname;device obj.-instance;object-name;object-type;object-instance;description;present-value-default;\
min-present-value;max-present-value;settable;supports COV;hi-limit;low-limit;state-text-reference;unit-code;\
vendor-specific-address
"""
ROWS = """\
DEV-2601;2601;一层空调控制器;8;2601;AHU-1 controller;;;;;;;;;;
AI-1;2601;回风温度;0;1;Return air temperature;21;-20;60;N;Y;35;5;;62;
AI-2;2601;回风湿度;0;2;Return air humidity;;;;N;Y;;;;29;
AI-3;2601;风机功率;0;3;;;;;N;N;;;;48;
AV-4;2601;温度设定;2;4;Setpoint;24;16;30;Y;N;;;;62;
BI-5;2601;过滤网报警;3;5;Filter alarm;0;;;N;Y;;;0;;
MSV-6;2601;运行模式;19;6;Mode;1;1;3;Y;N;;;1;;
AI-7;2601;CO2 浓度;0;7;;;;;N;N;;;;300;0x40007
TL-8;2601;趋势;20;8;trend log;;;;;;;;;;
AI-1;2602;Lobby temperature;0;1;;;;;N;Y;;;;62;
"""
STATE_TEXTS = """\
#State Text Reference
#Reference Number;Text 1 or Inactive-Text;Text 2 or Active-Text;Text 3
0;正常;报警
1;制冷;制热;通风
"""
UNITS = """\
#Encoding of BACnet Engineering Units
#Code;Unit Text
62;degrees-Celsius
300;ppm-vendor
"""


def write_set(folder: Path, encoding: str = "utf-8", rows: str = ROWS) -> Path:
    main = folder / "hall_EDE.csv"
    main.write_bytes((HEADER + rows).replace("\n", "\r\n").encode(encoding))
    (folder / "hall_StateTexts.csv").write_bytes(STATE_TEXTS.encode(encoding))
    (folder / "hall_Units.csv").write_bytes(UNITS.encode(encoding))
    return main


def import_ede(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "import-ede", *args],
        capture_output=True, text=True, cwd=REPO_ROOT, encoding="utf-8",
    )  # fmt: skip


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_published_layout_in_utf8_and_gbk(tmp_path: Path, encoding: str) -> None:
    project = load_ede(write_set(tmp_path, encoding))
    assert (project.name, project.layout_version) == ("政务大厅", "2.3")
    ahu, lobby = project.devices
    assert (ahu.instance, ahu.name, lobby.instance, lobby.name) == (2601, "一层空调控制器", 2602, "")
    objects = {obj.object: obj for obj in ahu.objects}
    assert list(objects) == [
        "analog-input:1", "analog-input:2", "analog-input:3", "analog-value:4", "binary-input:5",
        "multi-state-value:6", "analog-input:7", "trend-log:8",
    ]  # fmt: skip
    assert objects["analog-input:1"].name == "回风温度" and objects["analog-input:1"].units == "degrees-celsius"
    assert objects["analog-input:2"].units == "percent-relative-humidity"
    assert objects["analog-input:3"].units == "kilowatts"
    assert objects["analog-input:7"].units == "ppm-vendor"  # a proprietary code, named by the units file
    assert objects["binary-input:5"].state_texts == ("正常", "报警")
    assert objects["multi-state-value:6"].state_texts == ("制冷", "制热", "通风")


def test_cli_prints_a_fragment_with_site_units_that_becomes_a_valid_site(tmp_path: Path) -> None:
    result = import_ede(str(write_set(tmp_path, "gbk")), "--device-id-prefix", "f1-")
    assert result.returncode == 0, result.stderr
    fragment = result.stdout
    assert fragment.startswith("# from hall_EDE.csv: project 政务大厅, EDE layout 2.3; 2 device(s), 9 object(s)\n")
    assert 'name: {zh: "回风温度", en: "回风温度"}' in fragment
    for unit in ('"°C"', '"%RH"', '"kW"'):
        assert f"unit: {unit}" in fragment
    assert "connection: {type: bacnet_ip, device_instance: 2601}" in fragment
    assert 'states: ["制冷", "制热", "通风"]' in fragment
    assert "# not points of the twin: trend-log:8" in fragment
    device_ids = re.findall(r"^  - id: (\S+)", fragment, flags=re.M)
    assert device_ids == ["f1-bacnet-2601", "f1-bacnet-2602"]  # a Chinese device name leaves no id: the instance

    # What no EDE file can know is left to the user; filled in, the fragment is a site halltwin check accepts.
    guid = "0123456789abcdefghijAB"
    filled = (
        fragment.replace("kind: null", "kind: ac_unit")
        .replace("zone: null", "zone: hall")
        .replace("ifc_guid: null", f"ifc_guid: {guid}")
        .replace("brick: null", "brick: Point")
    )
    site = tmp_path / "site.yaml"
    site.write_text(
        "site: {id: t, name: {zh: 测试, en: Test}, ifc: hall.ifc}\n"
        f"zones:\n  - {{id: hall, name: {{zh: 大厅, en: Hall}}, zone_type: waiting, ifc_guid: {guid}}}\n" + filled,
        encoding="utf-8",
    )
    loaded = load_site(site, guid_index={guid: "IfcSpace"})
    points = loaded.points()
    assert len(points) == 8  # nine objects less the trend log
    assert {p.unit for _, p in points.values()} >= {"°C", "%RH", "kW"}


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    rows = ROWS.replace("AI-3;2601;风机功率;0;3;", "AI-3;2601;风机功率;zero;3;")
    path = write_set(tmp_path, rows=rows)
    line = (HEADER + rows).splitlines().index(next(r for r in rows.splitlines() if r.startswith("AI-3"))) + 1
    result = import_ede(str(path))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        f"halltwin import-ede: {path}:{line}: object-type must be a whole number, got 'zero'"
    )


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("X;2601;short", "expected at least 5 fields (keyname;device obj.-instance;object-name;object-type;"
                         "object-instance), got 3"),
        ("X;9999999;n;0;1", "device obj.-instance 9999999 is outside 0..4194302"),
        ("X;2601;n;99;1", "object-type 99 is not a BACnet object type"),
        ("X;2601;n;0;1;;;;;;;;;;62", "analog-input:1 of device 2601 is also on line 9"),
        ("X;2601;n;0;11;;;;;;;;;;9999", "unit-code 9999 is not a BACnet engineering unit (and no units file names it)"),
        ("X;2601;n;19;12;;;;;;;;;7;", "state-text-reference 7 is not in the state-text file"),
    ],
)  # fmt: skip
def test_each_bad_line_is_refused_with_its_line_number(tmp_path: Path, row: str, message: str) -> None:
    rows = "AI-1;2601;回风温度;0;1;;;;;;;;;;62\n" + row + "\n"
    with pytest.raises(EdeError) as caught:
        load_ede(write_set(tmp_path, rows=rows))
    assert caught.value.line == HEADER.count("\n") + 2
    assert caught.value.message == message


def test_not_an_ede_file_and_undecodable_bytes(tmp_path: Path) -> None:
    with pytest.raises(EdeError, match="no object lines"):
        parse_ede(HEADER, "empty.csv")
    latin = tmp_path / "x_EDE.csv"
    latin.write_bytes("PROJECT_NAME;Halle\nAI-1;1;T\xe4mp\xff\xfe;0;1\n".encode("latin-1"))
    with pytest.raises(EdeError, match=r"is not utf-8-sig or gb18030 text \(give --encoding\)"):
        load_ede(latin)
    assert load_ede(latin, encoding="latin-1").devices[0].objects[0].name.startswith("Tämp")
    with pytest.raises(EdeError, match="cannot read the file"):
        load_ede(tmp_path / "missing_EDE.csv")


def test_without_companions_multistate_states_are_left_to_the_user(tmp_path: Path) -> None:
    main = tmp_path / "plain.csv"  # not named X_EDE.csv: no companions are looked for
    main.write_text(HEADER + ROWS.replace(";300;0x40007", ";;0x40007"), encoding="utf-8")
    result = import_ede(str(main))
    assert result.returncode == 0, result.stderr
    assert "states: null  # TODO name the states 1..n" in result.stdout


def test_bad_prefix_is_refused(tmp_path: Path) -> None:
    result = import_ede(str(write_set(tmp_path)), "--device-id-prefix", "Floor 1/")
    assert result.returncode == 2 and "--device-id-prefix 'Floor 1/'" in result.stderr
