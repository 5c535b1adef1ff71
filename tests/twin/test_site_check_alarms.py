"""`halltwin check` finds the alarms: section's bad references with the line and the nearest id, as the rest of
the check does, instead of an AlarmConfigError when the engine starts."""

from __future__ import annotations

from pathlib import Path

from tests.twin.test_site_check import WITH_BACNET, run_check, write_ifc
from tests.twin.test_site_errors import line_of, problems, write_site

ALARMS = """\
alarms:
  rules:
    - id: over-voltage
      name: {zh: 过压, en: Over-voltage}
      alarm_class: power
      priority: high
      point: pm-1.voltag
      zone: z-powr
      plan: no-such-plan
      suppressed_by: [over-voltag, comm_loss, leak.pm-1.voltage]
      condition: {type: threshold, high: 250}
    - id: two-detectors
      name: {zh: 两个探测器, en: Two detectors}
      alarm_class: fire
      priority: critical
      device: fire-2
      condition: {type: k_of_n, points: [fire-1.alarm, fire-1.alarms], equals: true}
  overrides:
    - device: fire-l
      priority: low
    - point: pm-1.energie
      suppressed_by: [two-detector]
"""


def test_every_dangling_alarm_reference_with_line_and_suggestion(tmp_path: Path) -> None:
    text = WITH_BACNET + ALARMS
    found = problems(tmp_path, text)
    assert [m.split(": ", 2)[1:] for m in found] == [
        ["alarms.rules[0].point", "point 'pm-1.voltag' is not defined under any device's points: "
                                  "(did you mean 'pm-1.voltage'?)"],
        ["alarms.rules[0].zone", "zone 'z-powr' is not defined under zones: (did you mean 'z-power'?)"],
        ["alarms.rules[0].plan", "plan 'no-such-plan' is not defined under plans:"],
        ["alarms.rules[0].suppressed_by[0]", "'over-voltag' is neither a rule of alarms.rules nor a template "
                                             "(did you mean 'over-voltage'?)"],
        ["alarms.rules[1].device", "device 'fire-2' is not defined under devices: (did you mean 'fire-1'?)"],
        ["alarms.rules[1].condition.points[1]", "point 'fire-1.alarms' is not defined under any device's points: "
                                                "(did you mean 'fire-1.alarm'?)"],
        ["alarms.overrides[0].device", "device 'fire-l' is not defined under devices: (did you mean 'fire-1'?)"],
        ["alarms.overrides[1].point", "point 'pm-1.energie' is not defined under any device's points: "
                                      "(did you mean 'pm-1.energy'?)"],
        ["alarms.overrides[1].suppressed_by[0]", "'two-detector' is neither a rule of alarms.rules nor a template "
                                                 "(did you mean 'two-detectors'?)"],
    ]  # fmt: skip
    lines = [int(m.split(": ", 1)[0].rsplit(":", 1)[1]) for m in found]
    assert lines[0] == line_of(text, "point: pm-1.voltag")
    assert lines[5] == line_of(text, "fire-1.alarms")
    assert lines[-1] == line_of(text, "[two-detector]")


def test_priorities_classes_and_template_names_are_the_schema_s_with_suggestions(tmp_path: Path) -> None:
    text = (
        WITH_BACNET
        + """\
alarms:
  rules:
    - id: hot
      name: {zh: 热, en: Hot}
      alarm_class: temprature
      priority: urgent
      point: pm-1.voltage
      condition: {type: threshold, high: 250}
  overrides:
    - template: smok
      priority: hihg
"""
    )
    found = "\n".join(problems(tmp_path, text))
    assert f":{line_of(text, 'alarm_class: temprature')}: alarms.rules[0].alarm_class" in found
    assert "'temperature'" in found
    assert f":{line_of(text, 'priority: urgent')}: alarms.rules[0].priority" in found
    assert f":{line_of(text, 'template: smok')}: alarms.overrides[0].template" in found and "'smoke'" in found
    assert f":{line_of(text, 'priority: hihg')}: alarms.overrides[0].priority" in found and "'high'" in found


def test_the_cli_runs_the_engine_s_own_check_once_references_resolve(tmp_path: Path) -> None:
    """An override that names real things but matches no rule the templates made: only the engine knows."""
    text = (
        WITH_BACNET
        + """\
alarms:
  overrides:
    - template: leak
      device: pm-1
      priority: low
"""
    )
    write_ifc(tmp_path)
    result = run_check(write_site(tmp_path, text))
    assert result.returncode == 1, result.stdout
    assert "alarms: alarms.overrides[0]: matches no rule the templates made" in result.stderr, result.stderr
    assert "1 problem(s)" in result.stderr
