"""`halltwin check` warnings and GlobalId suggestions on real models: the demo hall and Duplex_A (../shared)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bim_models.demo_hall import SITE_PATH, ensure_demo_hall
from tests.peers import REPO_ROOT, SHARED
from twin.site.errors import SiteError
from twin.site.ifc_facts import ModelFacts, read_model_facts
from twin.site.loader import load_site, site_problems

DUPLEX = SHARED / "ifc" / "Duplex_A_20110907.ifc"
needs_shared = pytest.mark.skipif(not DUPLEX.is_file(), reason="../shared/ifc is not here")

# The demo hall's elements (bim_models/site.yaml, generated from bim_models/layout.py and devices.py).
POWER_ROOM = "2IdYtp1XvUZPgl54t1hg5H"  # zone 1f-power
METER = "1S9BLQZJHPgepKib6zI8NK"  # device pm-1, in the power room
SELF_SERVICE = "0C4MWXfM9TFxv8atTELmiR"  # zone 1f-self
SELF_SERVICE_24H = "3_YrBmdvzUsfqw7Q91AF5K"  # zone 1f-24h
GROUND_FLOOR = "2ysaCXAFHViuAauEg8WcwN"  # the IfcBuildingStorey: no body of its own


@pytest.fixture(scope="module")
def demo_facts() -> ModelFacts:
    ensure_demo_hall()
    return read_model_facts(SITE_PATH.parent / "generated" / "demo_hall.ifc", geometry=True)


def demo_text(tmp_path: Path) -> str:
    ifc = (SITE_PATH.parent / "generated" / "demo_hall.ifc").resolve()
    return SITE_PATH.read_text(encoding="utf-8").replace("ifc: generated/demo_hall.ifc", f"ifc: {ifc}")


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def check(tmp_path: Path, text: str, facts: ModelFacts) -> list[SiteError]:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    site, problems = site_problems(path, facts)
    return problems


def replace_once(text: str, old: str, new: str, after: str = "") -> str:
    """``text`` with the first ``old`` after ``after`` replaced."""
    start = text.index(after) if after else 0
    at = text.index(old, start)
    return text[:at] + new + text[at + len(old) :]


def test_the_demo_site_has_no_warnings(tmp_path: Path, demo_facts: ModelFacts) -> None:
    assert check(tmp_path, demo_text(tmp_path), demo_facts) == []


def test_warnings_on_the_demo_hall_load_and_come_in_line_order(tmp_path: Path, demo_facts: ModelFacts) -> None:
    text = demo_text(tmp_path)
    text = replace_once(text, f"ifc_guid: {SELF_SERVICE}", f"ifc_guid: {POWER_ROOM}")  # two zones, one space
    text = replace_once(text, "zone: 1f-power", "zone: 1f-24h", after="- id: pm-1\n")  # not the meter's room
    text = replace_once(text, "ifc_guid: ", f"ifc_guid: {GROUND_FLOOR}  #", after="- id: pm-2\n")  # a storey
    problems = check(tmp_path, text, demo_facts)
    assert all(p.is_warning for p in problems), problems
    assert [p.line for p in problems] == sorted(p.line or 0 for p in problems)
    found = {p.path: (p.line, p.message) for p in problems}
    # The self-service zone (zones[1]) now names the power room; the power room's own zone comes later.
    [(zones_line, zone_message)] = [v for path, v in found.items() if path.startswith("zones")]
    assert zones_line == line_of(text, "- id: 1f-power") + 3
    assert zone_message == f"space {POWER_ROOM} is also zones[1]'s ('1f-self'): a space belongs to one zone"
    device = next(m for path, (_, m) in found.items() if m.startswith("device 'pm-1'"))
    assert device == (
        f"device 'pm-1' is in IfcSpace '1F-POWER 动力环境机房 / Power and environment room' {POWER_ROOM}, "
        "zone '1f-power', "
        f"but its zone '1f-24h' is IfcSpace '1F-24H 24小时自助服务区 / 24-hour self-service zone' {SELF_SERVICE_24H}"
    )
    storey = next(m for m in (m for _, m in found.values()) if GROUND_FLOOR in m)
    assert storey.startswith(f"GlobalId {GROUND_FLOOR} is an IfcBuildingStorey '1F 一层 / Ground floor', which has no")
    # Warnings never stop a load: the site still serves.
    path = tmp_path / "site.yaml"
    assert load_site(path, demo_facts).site.id == "demo-hall"


def test_a_mistyped_or_case_shifted_guid_gets_the_nearest_of_the_right_class(
    tmp_path: Path, demo_facts: ModelFacts
) -> None:
    typo = POWER_ROOM[:5] + ("x" if POWER_ROOM[5] != "x" else "y") + POWER_ROOM[6:]
    text = replace_once(demo_text(tmp_path), f"ifc_guid: {POWER_ROOM}", f"ifc_guid: {typo}")
    text = replace_once(text, f"ifc_guid: {SELF_SERVICE}", f"ifc_guid: {SELF_SERVICE.upper()}")
    text = replace_once(text, f"ifc_guid: {METER}", f"ifc_guid: {METER[:-1]}")  # truncated: 21 characters
    problems = check(tmp_path, text, demo_facts)
    messages = {p.path: p.message for p in problems if not p.is_warning}
    zone_paths = sorted(path for path in messages if path.startswith("zones"))
    by_guid = {messages[path].split()[1]: messages[path] for path in zone_paths}
    assert by_guid[typo] == (
        f"GlobalId {typo} is not in {SITE_PATH.parent.resolve() / 'generated' / 'demo_hall.ifc'} (did you mean "
        f"{POWER_ROOM} (IfcSpace '1F-POWER 动力环境机房 / Power and environment room')?)"
    )
    assert by_guid[SELF_SERVICE.upper()].endswith(
        f"(did you mean {SELF_SERVICE} (IfcSpace '1F-SELF 自助服务区 / Self-service zone')?)"
    )
    meter = next(m for path, m in messages.items() if path.startswith("devices") and path.endswith("ifc_guid"))
    assert meter == (
        f"a GlobalId has 22 characters, this one has 21 ('{METER[:-1]}') "
        f"(did you mean {METER} (IfcFlowMeter '总进线电表 / Main incomer meter')?)"
    )


def test_check_exits_0_with_only_warnings_and_shows_them(tmp_path: Path) -> None:
    ensure_demo_hall()
    text = replace_once(demo_text(tmp_path), "ifc_guid: ", f"ifc_guid: {GROUND_FLOOR}  #", after="- id: pm-2\n")
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "check", str(path)], capture_output=True, text=True, cwd=REPO_ROOT,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"{path}:{line_of(text, f'ifc_guid: {GROUND_FLOOR}')}: devices[1].ifc_guid: warning: GlobalId {GROUND_FLOOR} "
        "is an IfcBuildingStorey '1F 一层 / Ground floor', which has no geometry of its own: the viewer cannot show "
        "or pick it"
    ]
    assert result.stdout.strip().endswith(", 1 warning(s)")
    assert "Traceback" not in result.stderr


DUPLEX_FOYER = "0BTBFw6f90Nfh9rP1dlXrr"  # A101 Foyer
DUPLEX_KITCHEN = "0BTBFw6f90Nfh9rP1dlXr$"  # A103 Kitchen
DUPLEX_OPENING = "1xS3BCk291UvhgP2dvNrY1"  # the opening of door 1hOSvn6df7F8_7GcBWlRGQ
DUPLEX_DOOR = "1hOSvn6df7F8_7GcBWlRGQ"
DUPLEX_CABINET = "0wkEuT1wr1kOyafLY4vy3H"  # a cabinet in A203 Bedroom 2


def duplex_site(devices: str, foyer: str = DUPLEX_FOYER) -> str:
    return f"""\
site:
  id: duplex
  name: {{zh: 复式住宅, en: Duplex}}
  ifc: {DUPLEX}
zones:
  - id: foyer
    name: {{zh: 门厅, en: Foyer}}
    zone_type: guidance
    ifc_guid: {foyer}
  - id: kitchen
    name: {{zh: 厨房, en: Kitchen}}
    zone_type: convenience
    ifc_guid: {DUPLEX_KITCHEN}
devices:
{devices}"""


def device(device_id: str, zone: str, guid: str) -> str:
    return f"""\
  - id: {device_id}
    name: {{zh: 设备, en: Device}}
    kind: temp_humidity
    zone: {zone}
    ifc_guid: {guid}
"""


@pytest.fixture(scope="module")
def duplex_facts() -> ModelFacts:
    return read_model_facts(DUPLEX, geometry=True)


@needs_shared
def test_duplex_device_on_an_opening_and_outside_its_room(tmp_path: Path, duplex_facts: ModelFacts) -> None:
    text = duplex_site(device("door-counter", "foyer", DUPLEX_OPENING) + device("cab", "kitchen", DUPLEX_CABINET))
    problems = check(tmp_path, text, duplex_facts)
    assert all(p.is_warning for p in problems), problems
    assert [(p.path, p.message) for p in problems] == [
        ("devices[0].ifc_guid",
         f"GlobalId {DUPLEX_OPENING} is an {duplex_facts.describe(DUPLEX_OPENING)}, which has no geometry of its "
         "own: the viewer cannot "
         f"show or pick it; bind it to {DUPLEX_DOOR} ({duplex_facts.describe(DUPLEX_DOOR)}), drawn in its place"),
        ("devices[1].ifc_guid",
         f"device 'cab' is in IfcSpace 'A203 Bedroom 2' 0BTBFw6f90Nfh9rP1dlXrb, in no zone, but its zone 'kitchen' "
         f"is IfcSpace 'A103 Kitchen' {DUPLEX_KITCHEN}"),
    ]  # fmt: skip


@needs_shared
def test_duplex_guid_typos_list_every_space_one_character_away(tmp_path: Path, duplex_facts: ModelFacts) -> None:
    # Revit GlobalIds of one model differ in their last characters: a typo there may be near several spaces.
    typo = DUPLEX_FOYER[:5] + "#" + DUPLEX_FOYER[6:]  # not in the alphabet: explained, not a regular expression
    problems = check(tmp_path, duplex_site("  []\n", foyer=typo), duplex_facts)
    [message] = [p.message for p in problems if p.path == "zones[0].ifc_guid"]
    assert message.startswith(f"a GlobalId is written with 0-9, A-Z, a-z, _ and $ only; '{typo}' has '#'")
    assert message.endswith(f"(did you mean {DUPLEX_FOYER} (IfcSpace 'A101 Foyer')?)")
    near_many = DUPLEX_FOYER[:-1] + "Q"  # every space of this storey is one character from it
    problems = check(tmp_path, duplex_site("  []\n", foyer=near_many), duplex_facts)
    [message] = [p.message for p in problems if p.path == "zones[0].ifc_guid"]
    suggested = re.findall(r"([0-9A-Za-z_$]{22}) \(IfcSpace '([^']*)'\)", message)
    assert len(suggested) == 3 and re.search(r", or one of \d+ more\?\)$", message), message
    lowered = check(tmp_path, duplex_site("  []\n", foyer=DUPLEX_FOYER.lower()), duplex_facts)
    [message] = [p.message for p in lowered if p.path == "zones[0].ifc_guid"]
    assert message.endswith(f"(did you mean {DUPLEX_FOYER} (IfcSpace 'A101 Foyer')?)")
