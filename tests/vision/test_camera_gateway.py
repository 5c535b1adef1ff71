"""Cameras under the gateway: the driver's worker process, polled points on /api/points, and the snapshot route.

One runtime for the module (each camera is a worker process; starting them is the expensive part): `cam-door`
plays the synthetic scene of known walkers from a video file (50 frames/s) in a loop, `cam-private` keeps
snapshots off (the default), `cam-missing` names a file that is not there.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import pytest_asyncio

from api.runtime import HallRuntime
from iot_gateway.drivers.camera import CameraDriver
from iot_gateway.vision import synthetic
from store import Role
from tests.api.auth_helpers import staff_headers
from tests.api.server import running_app
from twin.site.model import SiteConfig

pytestmark = pytest.mark.asyncio(loop_scope="module")
GUID = "0123456789abcdefABCDEF"
LIVE_DEADLINE_S = 60.0  # spawning a worker and importing OpenCV and the tracker: seconds on a loaded CI node
# The synthetic camera: 1 px = 1 cm on a floor seen from straight above, offset by (2 m, 1 m).
CALIBRATION = [{"image": [x, y], "floor": [2 + x / 100, 1 + y / 100]} for x, y in
               ((0, 0), (639, 0), (639, 479), (0, 479))]


def _point(device: str, suffix: str, measure: str, ref: str | None = None, kind: str = "analog") -> dict[str, Any]:
    address: dict[str, Any] = {"type": "camera", "measure": measure}
    if ref:
        address["ref"] = ref
    return {"id": f"{device}.{suffix}", "name": {"zh": suffix, "en": suffix}, "kind": kind,
            "brick": "Occupancy_Count_Sensor", "address": address}


def _camera(device_id: str, connection: dict[str, Any], points: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": device_id, "name": {"zh": "摄像机", "en": "Camera"}, "kind": "camera", "zone": "hall",
            "ifc_guid": GUID, "connection": connection, "points": points}


def camera_site(video: Path) -> SiteConfig:
    door = {
        "type": "camera", "source": video.name, "loop": True, "max_fps": 50, "detector": "motion",
        "snapshots": True, "poll_interval_s": 0.2, "homography": CALIBRATION,
        "lines": [{"id": "door", "a": [320, 0], "b": [320, 479], "in_side": "right"}],
        "zones": [{"id": "queue", "polygon": [[0, 400], [260, 400], [260, 479], [0, 479]]}],
    }
    private = {"type": "camera", "source": "synthetic:", "max_fps": 2, "detector": "motion"}
    missing = {"type": "camera", "source": "no-such-video.avi", "detector": "motion"}
    return SiteConfig.model_validate({
        "site": {"id": "cam-hall", "name": {"zh": "测试大厅", "en": "Test hall"}, "ifc": "hall.ifc"},
        "zones": [{"id": "hall", "name": {"zh": "大厅", "en": "Hall"}, "zone_type": "waiting", "ifc_guid": GUID}],
        "devices": [
            _camera("cam-door", door, [
                _point("cam-door", "people", "people"), _point("cam-door", "in", "line_in", "door"),
                _point("cam-door", "out", "line_out", "door"), _point("cam-door", "queue", "zone_occupancy", "queue"),
                _point("cam-door", "positions", "positions", kind="text"), _point("cam-door", "fps", "fps"),
            ]),
            _camera("cam-private", private, [_point("cam-private", "people", "people")]),
            _camera("cam-missing", missing, [_point("cam-missing", "people", "people")]),
        ],
    })  # fmt: skip


@dataclass
class CameraHall:
    url: str
    runtime: HallRuntime
    headers: dict[Role, dict[str, str]]


@pytest.fixture(scope="module")
def fast_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic scene at 50 frames/s: files play at their own rate, and the first pass takes 5 s."""
    return synthetic.write_video(tmp_path_factory.mktemp("video") / "scene50.avi", fps=50.0)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hall(tmp_path_factory: pytest.TempPathFactory, fast_video: Path) -> AsyncIterator[CameraHall]:
    site_dir = fast_video.parent  # the camera's relative `source:` is found beside the site file
    runtime = HallRuntime(camera_site(fast_video), site_dir / "site.yaml", tmp_path_factory.mktemp("data"))
    async with running_app(runtime) as url:
        roles = (Role.FACILITY, Role.MANAGER, Role.SECURITY)
        headers = await asyncio.gather(*(staff_headers(runtime, url, role) for role in roles))
        yield CameraHall(url, runtime, dict(zip(roles, headers, strict=True)))
        assert runtime.gateway is not None
        workers = [w.process for p in runtime.gateway.pollers.values() if (w := getattr(p.driver, "worker", None))]
        assert workers, "no camera worker was running"
    # Stopping the runtime ends every camera's worker process (checked here: a leftover fails the module).
    assert all(not process.is_alive() and process.exitcode is not None for process in workers)


async def points(hall: CameraHall) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=hall.url, timeout=10.0, headers=hall.headers[Role.FACILITY]) as client:
        response = await client.get("/api/points")
    response.raise_for_status()
    return {p["id"]: p for p in response.json()}


async def test_line_counts_and_positions_reach_the_points_api(hall: CameraHall) -> None:
    """Three walkers cross the door line left to right (in), one right to left (out), on the first pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIVE_DEADLINE_S
    seen_people: set[int] = set()
    positions: list[list[float]] = []
    while True:
        pts = await points(hall)
        counts = (pts["cam-door.in"]["value"], pts["cam-door.out"]["value"])
        if pts["cam-door.people"]["quality"] == "GOOD":
            seen_people.add(pts["cam-door.people"]["value"])
            positions += json.loads(pts["cam-door.positions"]["value"])
            if counts[0] >= 3:
                break
        assert loop.time() < deadline, f"no line counts within {LIVE_DEADLINE_S:g} s: {pts['cam-door.in']}"
        await asyncio.sleep(0.1)
    # The second pass of the loop adds its first crossing ~115 frames after the first pass's last one.
    assert counts == (3, 1)
    assert pts["cam-door.fps"]["quality"] == "GOOD" and pts["cam-door.fps"]["value"] > 0
    # Up to three walkers are in view at once; played 5x faster than they walk, a track coasting for its second
    # may stand beside its own successor now and then (the 10 frames/s scene is checked exactly elsewhere).
    assert 2 <= max(seen_people) <= 4
    assert positions and all(2 <= x <= 8.4 and 1 <= y <= 5.8 and isinstance(t, int) for x, y, t in positions)


async def test_a_missing_video_is_named_and_starts_no_worker(hall: CameraHall) -> None:
    deadline = asyncio.get_running_loop().time() + 10.0
    while (point := (await points(hall))["cam-missing.people"])["quality"] != "UNAVAILABLE":
        assert asyncio.get_running_loop().time() < deadline, point
        await asyncio.sleep(0.1)
    assert "no-such-video.avi does not exist" in point["reason"]
    gateway = hall.runtime.gateway
    assert gateway is not None
    driver = gateway.pollers["cam-missing"].driver
    assert isinstance(driver, CameraDriver) and driver.worker is None


async def snapshot(hall: CameraHall, camera: str, role: Role) -> httpx.Response:
    async with httpx.AsyncClient(base_url=hall.url, timeout=15.0, headers=hall.headers[role]) as client:
        return await client.get(f"/api/cameras/{camera}/snapshot")


async def test_snapshot_for_security_only_when_the_site_allows_it_and_audited(hall: CameraHall) -> None:
    for role in (Role.FACILITY, Role.MANAGER):  # the access matrix test checks every role against the route
        response = await snapshot(hall, "cam-door", role)
        assert response.status_code == 403, (role, response.text)
    deadline = asyncio.get_running_loop().time() + LIVE_DEADLINE_S
    while (response := await snapshot(hall, "cam-door", Role.SECURITY)).status_code == 503:
        assert asyncio.get_running_loop().time() < deadline, response.text
        await asyncio.sleep(0.2)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg" and response.headers["cache-control"] == "no-store"
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (480, 640, 3)

    refused = await snapshot(hall, "cam-private", Role.SECURITY)
    assert refused.status_code == 403 and "snapshots are disabled for camera cam-private" in refused.text
    assert (await snapshot(hall, "cam-nowhere", Role.SECURITY)).status_code == 404

    entries = await hall.runtime.store.audit.query(action="camera.snapshot")
    by_target = {(e.target, e.actor, e.result) for e in entries}
    assert ("cam-door", "security", "ok") in by_target
    assert ("cam-private", "security", "refused") in by_target
    assert not any(e.actor in ("facility", "manager") and e.result == "ok" for e in entries)
