"""The demo hall's people-counting cameras: sources, counting lines, zones and floor calibration (site.yaml data).

Two cameras, kept light for a small machine (5 analysed frames/s each, one worker process each):

- cam-1 watches the main entrance (1F-ENT). `halltwin demo` plays the real PETS 2009 S2.L1 video on it, looped,
  with the NanoDet detector, when the video is next to the project (``../shared/video``, or HALLTWIN_DEMO_VIDEO)
  and the converted model is there (``make models``); its calibration pairs map the video's pavement onto the
  entrance floor. They were derived once from the video's MOTChallenge ground truth (frames 1-400: foot pixels
  and ground-plane metres, a least-squares homography), then scaled by 0.34 and moved onto the entrance: the
  people of the video walk, smaller, across the demo's entrance. Without the video or the model the demo says
  why in its log and keeps what site.yaml holds: the synthetic scene with the motion detector.
- cam-5 watches the 24-hour zone's street door (1F-24H): the synthetic scene (figures walking known paths) with
  the motion detector, which needs neither the video nor the model.

site.yaml holds the synthetic scene for both, so the file works on every clone (and the tests that run the demo
hall need no video and no model); the video is the demo's upgrade (api/demo_cameras.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bim_models.yaml_style import Flow, FlowList

PROJECT = Path(__file__).resolve().parents[1]
PETS_VIDEO = PROJECT.parent / "shared" / "video" / "pets09_s2l1.avi"  # beside the project, never copied into it
VIDEO_ENV = "HALLTWIN_DEMO_VIDEO"  # another copy of the PETS S2.L1 video (the calibration is for that view)
DEMO_FPS = 5.0  # frames analysed per second: live counts at a fraction of a core per camera

# Image pixel -> entrance floor metres (storey coordinates), see the module docstring for how they were derived.
PETS_CALIBRATION = (
    ((40, 170), (31.09, 9.55)), ((380, 160), (32.95, 6.17)), ((740, 170), (33.75, 2.44)),
    ((750, 410), (27.87, 0.72)), ((380, 400), (27.13, 2.47)), ((40, 400), (26.27, 4.15)),
    ((200, 280), (28.47, 4.89)), ((600, 280), (29.68, 2.25)),
)  # fmt: skip
# The pavement and lawn (the far path at the top left and the frame's right edge left out), as in bench_camera.
PETS_COUNT_AREA = ((0, 200), (690, 150), (750, 150), (750, 576), (0, 576))
SYNTHETIC_CM_PER_PX = 1.5  # the synthetic scene's 640x480 px is a 9.6 m x 7.2 m patch of floor seen from above


def _synthetic_calibration(x0: float, y0: float) -> list[dict[str, Any]]:
    scale = SYNTHETIC_CM_PER_PX / 100
    corners = ((0, 0), (639, 0), (639, 479), (0, 479))
    return [Flow(image=FlowList([x, y]), floor=FlowList([round(x0 + x * scale, 3), round(y0 + y * scale, 3)]))
            for x, y in corners]


def _points(device: str, lines: list[str], zones: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    from bim_models.site_points import point

    points = [point(f"{device}.people", "画面内人数", "People in view", "analog", "Occupancy_Count_Sensor",
                    {"type": "camera", "measure": "people"})]
    for line in lines:
        points += [
            point(f"{device}.{line}_in", "进入人数", "People in", "analog", "Occupancy_Count_Sensor",
                  {"type": "camera", "measure": "line_in", "ref": line}),
            point(f"{device}.{line}_out", "离开人数", "People out", "analog", "Occupancy_Count_Sensor",
                  {"type": "camera", "measure": "line_out", "ref": line}),
        ]
    for zone, zh, en in zones:
        points.append(point(f"{device}.{zone}", f"{zh}人数", f"People at the {en}", "analog",
                            "Occupancy_Count_Sensor", {"type": "camera", "measure": "zone_occupancy", "ref": zone}))
    points += [
        point(f"{device}.positions", "人员位置", "Floor positions", "text", "Status",
              {"type": "camera", "measure": "positions"}),
        point(f"{device}.fps", "分析帧率", "Analysed frame rate", "analog", "Frequency_Sensor",
              {"type": "camera", "measure": "fps"}, "Hz"),
    ]
    return points  # fmt: skip


def synthetic_connection(x0: float, y0: float, zone: str) -> dict[str, Any]:
    """The synthetic scene (motion detector), its top-left pixel at floor (x0, y0); walkers cross the door line,
    ``zone`` is the image's bottom-left corner."""
    return {
        "type": "camera", "source": "synthetic:", "max_fps": DEMO_FPS, "detector": "motion", "snapshots": True,
        "homography": _synthetic_calibration(x0, y0),
        "lines": [Flow(id="door", a=FlowList([320, 0]), b=FlowList([320, 479]), in_side="right")],
        "zones": [Flow(id=zone, polygon=FlowList(FlowList(p) for p in ((0, 400), (260, 400), (260, 479),
                                                                        (0, 479))))],
    }  # fmt: skip


def pets_connection(video: Path) -> dict[str, Any]:
    """cam-1 in `halltwin demo`: the PETS video looped, NanoDet, a line across the pavement, the calibration above."""
    return {
        "type": "camera", "source": str(video), "loop": True, "max_fps": DEMO_FPS, "detector": "nanodet",
        "snapshots": True,  # the demo's video is a public data set; a real site keeps snapshots off unless needed
        "count_area": FlowList(FlowList(p) for p in PETS_COUNT_AREA),
        "homography": [Flow(image=FlowList(i), floor=FlowList(f)) for i, f in PETS_CALIBRATION],
        "lines": [Flow(id="door", a=FlowList([384, 150]), b=FlowList([384, 430]), in_side="left")],
        "zones": [Flow(id="desk", polygon=FlowList(FlowList(p) for p in ((420, 180), (620, 180), (620, 260),
                                                                         (420, 260))))],
    }  # fmt: skip


ENTRANCE_FLOOR_ORIGIN = (25.2, 1.4)  # the synthetic patch on the entrance floor (1F-ENT: 24-36 x 0-10)
STREET_DOOR_FLOOR_ORIGIN = (1.2, 1.4)  # cam-5's patch on the 24-hour zone (1F-24H: 0-12 x 0-10)
CAMERAS: dict[str, tuple[tuple[float, float], tuple[str, str, str]]] = {
    "cam-1": (ENTRANCE_FLOOR_ORIGIN, ("desk", "导办台附近", "guidance desk")),
    "cam-5": (STREET_DOOR_FLOOR_ORIGIN, ("kiosks", "自助终端前", "kiosks")),
}
VIDEO_CAMERA = "cam-1"


def camera_connection(device: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The site.yaml connection and points of a demo camera; None for cameras that only stand in the model."""
    spec = CAMERAS.get(device)
    if spec is None:
        return None
    origin, zone = spec
    connection = synthetic_connection(*origin, zone[0])
    return connection, _points(device, [line["id"] for line in connection["lines"]], [zone])

