"""`halltwin check` checks computed points against their source: a queue figure's ref is a service or window group
of queues:, a crowding figure's ref a zone, each measure its source's, with the line and the nearest id."""

from __future__ import annotations

from pathlib import Path

from tests.twin.test_site_check import run_check, write_ifc
from tests.twin.test_site_errors import GUIDS, METER, VALID, line_of, problems, write_site
from twin.site import load_site

QUEUES = """\
queues:
  groups:
    - id: integrated
      name: {zh: 综合窗口, en: Integrated windows}
      zone: z-power
      windows: ['1', '2']
  services:
    - id: social-security
      name: {zh: 社保, en: Social security}
      prefix: A
      group: integrated
"""


def computed(source: str, points: list[tuple[str, str | None]]) -> str:
    """A computed device of `source` with one point per (measure, ref)."""
    lines = [f"""\
  - id: {source}-figures
    name: {{zh: 计算, en: Computed}}
    kind: queue_system
    zone: z-power
    ifc_guid: {METER}
    connection: {{type: computed, source: {source}}}
    points:
"""]
    for i, (measure, ref) in enumerate(points):
        where = f", ref: {ref}" if ref is not None else ""
        lines.append(f"""\
      - id: {source}.p{i}
        name: {{zh: 点{i}, en: Point {i}}}
        kind: analog
        brick: Occupancy_Count_Sensor
        address: {{type: computed, measure: {measure}{where}}}
""")
    return "".join(lines)


def test_good_refs_pass(tmp_path: Path) -> None:
    text = VALID + computed("queues", [("waiting", "integrated"), ("waiting", "social-security"),
                                       ("windows_open", "integrated"), ("wait_p90", "social-security"),
                                       ("satisfaction", None)]) \
        + computed("crowding", [("density", "z-power"), ("people", None)]) + QUEUES
    site = load_site(write_site(tmp_path, text), guid_index=GUIDS)
    assert len(site.device("queues-figures").points) == 5


def test_dangling_and_misplaced_refs_with_line_and_suggestion(tmp_path: Path) -> None:
    text = VALID + computed("queues", [
        ("windows_open", "integrated-"),  # a typo of a window group
        ("wait_p90", "social-securty"),  # a typo of a service
        ("wait_p50", "integrated"),  # a group where a service is meant
        ("waiting", "nobody"),  # neither, nothing close
        ("forecast_wait", None),  # no ref at all
        ("density", "z-power"),  # a crowding figure on the queue device
    ]) + computed("crowding", [("density", "z-powr"), ("wait_p90", None)]) + QUEUES  # fmt: skip
    found = problems(tmp_path, text)
    assert [m.split(": ", 2)[1:] for m in found] == [
        ["devices[1].points[0].address.ref",
         "window group 'integrated-' is not defined under queues.groups: (did you mean 'integrated'?)"],
        ["devices[1].points[1].address.ref",
         "service 'social-securty' is not defined under queues.services: (did you mean 'social-security'?)"],
        ["devices[1].points[2].address.ref", "service 'integrated' is not defined under queues.services: (it is a "
                                             "window group; this figure is per service)"],
        ["devices[1].points[3].address.ref", "'nobody' is neither a service nor a window group under queues:"],
        ["devices[1].points[4].address", "measure 'forecast_wait' needs ref: (a service id under queues:)"],
        ["devices[1].points[5].address.measure", "measure 'density' is not a queue figure (queue measures: "
         "waiting, wait_p50, wait_p90, longest_wait, service_p50, issued_today, served_today, forecast_arrivals, "
         "forecast_wait, windows_open, windows_needed, satisfaction)"],
        ["devices[2].points[0].address.ref", "zone 'z-powr' is not defined under zones: (did you mean 'z-power'?)"],
        ["devices[2].points[1].address.measure",
         "measure 'wait_p90' is not a crowding figure (crowding measures: people, density)"],
    ]  # fmt: skip
    lines = [int(m.split(": ", 1)[0].rsplit(":", 1)[1]) for m in found]
    assert lines[0] == line_of(text, "ref: integrated-")
    assert lines[6] == line_of(text, "ref: z-powr")


def test_the_cli_exits_1_naming_the_ref(tmp_path: Path) -> None:
    write_ifc(tmp_path)
    path = write_site(tmp_path, VALID + computed("queues", [("windows_needed", "integratd")]) + QUEUES)
    result = run_check(path)
    assert result.returncode == 1
    assert "window group 'integratd' is not defined under queues.groups: (did you mean 'integrated'?)" in result.stderr
