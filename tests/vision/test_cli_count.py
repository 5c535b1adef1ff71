"""`halltwin count`: one JSON line per frame, crossings at the end; clear errors for bad input."""

from __future__ import annotations

import json

import pytest

from api.cli import main

SITE = """
site: {{id: t, name: {{zh: 测试, en: Test}}, ifc: none.ifc}}
zones:
  - {{id: hall, name: {{zh: 大厅, en: Hall}}, zone_type: waiting, ifc_guid: 0123456789abcdefABCDEF}}
devices:
  - id: cam1
    name: {{zh: 入口相机, en: Entrance camera}}
    kind: camera
    zone: hall
    ifc_guid: 0123456789abcdefABCDEG
    connection:
      type: camera
      source: {video}
      detector: motion
      homography:
        - {{image: [0, 0], floor: [2, 1]}}
        - {{image: [639, 0], floor: [8.39, 1]}}
        - {{image: [639, 479], floor: [8.39, 5.79]}}
        - {{image: [0, 479], floor: [2, 5.79]}}
      lines: [{{id: door, a: [320, 0], b: [320, 479], in_side: right}}]
    points:
      - id: cam1.people
        name: {{zh: 人数, en: People}}
        kind: analog
        brick: Occupancy_Count_Sensor
        address: {{type: camera, measure: people}}
"""


def test_json_lines_with_floor_positions_and_crossings(tmp_path, synthetic_video, capsys):
    site = tmp_path / "site.yaml"
    site.write_text(SITE.format(video=synthetic_video), encoding="utf-8")
    assert main(["count", str(synthetic_video), "--site", str(site), "--camera", "cam1", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    frames, last = lines[:-1], lines[-1]
    assert [f["frame"] for f in frames] == list(range(1, len(frames) + 1))
    assert last == {"frames": len(frames), "crossings": {"door": {"in": 3, "out": 1}}}
    busy = next(f for f in frames if f["count"] >= 2)
    assert len(busy["boxes"]) == busy["count"] and len(busy["floor"]) == busy["count"]
    x1, y1, x2, y2, score, track = busy["boxes"][0]
    assert x1 < x2 and y1 < y2 and 0 <= score <= 1 and isinstance(track, int)
    assert all(2 <= x <= 8.4 and 1 <= y <= 5.8 for x, y in busy["floor"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["count", "/nonexistent.avi", "--frames", "1"], "does not exist"),
        (["count", "x.avi", "--camera", "cam1"], "--camera needs --site"),
    ],
)
def test_bad_input_gets_a_clear_error(argv, message, capsys):
    assert main(argv) != 0
    assert message in capsys.readouterr().err


def test_unknown_camera_is_named(tmp_path, synthetic_video, capsys):
    site = tmp_path / "site.yaml"
    site.write_text(SITE.format(video=synthetic_video), encoding="utf-8")
    assert main(["count", str(synthetic_video), "--site", str(site), "--camera", "cam9"]) == 1
    err = capsys.readouterr().err
    assert "no camera 'cam9'" in err and "cam1" in err
