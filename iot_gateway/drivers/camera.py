"""Camera driver: people counts, line crossings, zone occupancy and floor positions from a worker process."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

from iot_gateway.driver import DeviceUnavailable, WriteRejected
from iot_gateway.vision.worker import CameraWorker, Summary
from twin.clock import Clock, SystemClock
from twin.points import Quality, Reading, Value
from twin.site.camera_model import CameraAddress, CameraConnection
from twin.site.model import Device, Point

log = logging.getLogger(__name__)
SNAPSHOT_WAIT_S = 5.0  # the worker answers after its current frame
# Spawning Python and importing the tracker and detector take 2-7 s (more on a loaded node); opening an RTSP stream
# has its own 10 s limit in the worker, which reports it. This is the backstop for a worker that says nothing.
READY_TIMEOUT_S = 60.0


class SnapshotsDisabled(PermissionError):
    """The site does not allow stills from this camera (privacy: off unless `snapshots: true`)."""


class CameraDriver:
    """Starts the camera's worker at connect and turns its newest summary into readings at each poll.

    Decoding and detection never run on the event loop: the worker is a separate process (one core per camera);
    only a few numbers per frame cross back. No frame is stored; a still is produced on request, and only when
    the camera's `snapshots` is true.
    """

    def __init__(self, device: Device, clock: Clock | None = None, site_dir: Path | None = None, **_: Any) -> None:
        if not isinstance(device.connection, CameraConnection):
            raise TypeError(f"device {device.id} is not a camera")
        self.device = device
        self.connection: CameraConnection = device.connection
        self.clock = clock or SystemClock()
        self.site_dir = site_dir
        self.worker: CameraWorker | None = None
        self.latest: Summary | None = None
        self.last_frame_mono = 0.0
        self.started_mono = 0.0
        self.frame_size: tuple[int, int] | None = None

    async def connect(self) -> None:
        """Start the worker and return: it reports `ready` (or its error) at a later read, so a slow start (spawning
        Python and importing the detector take seconds on a loaded node) never trips the Poller's connect guard."""
        video = self.connection.video_file(self.site_dir)
        if video is not None and not video.is_file():  # said at once, without spawning a worker to find it out
            raise DeviceUnavailable(f"video file {video} does not exist")
        worker = CameraWorker.for_config(self.connection, self.site_dir)
        try:
            await asyncio.to_thread(worker.start)
        except BaseException:  # the Poller's guard may cancel us: never leave the process behind
            await asyncio.to_thread(worker.stop)
            raise
        self.worker = worker
        self.started_mono = time.monotonic()
        self.frame_size = None
        self.latest = None

    async def close(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            await asyncio.to_thread(worker.stop)

    async def read(self) -> list[Reading]:
        worker = self.worker
        if worker is None:
            raise DeviceUnavailable("camera not connected")
        for kind, payload in worker.drain():
            if kind == "ready":
                self.frame_size = (int(payload[0]), int(payload[1]))
                self.last_frame_mono = time.monotonic()
            elif kind == "frame":
                self.latest = payload
                self.last_frame_mono = time.monotonic()
            elif kind == "error":
                raise DeviceUnavailable(payload)
            elif kind == "end":
                raise DeviceUnavailable(f"video ended after frame {payload}")
        if not worker.process.is_alive():
            raise DeviceUnavailable(f"camera worker exited with code {worker.process.exitcode}")
        if self.frame_size is None:  # still starting: the source is being opened
            if time.monotonic() - self.started_mono > READY_TIMEOUT_S:
                raise DeviceUnavailable(f"camera did not start within {READY_TIMEOUT_S:g} s")
            return [Reading.bad(p.id, self.clock.time(), Quality.BAD, "camera starting: opening the video source")
                    for p in self.device.points]
        if time.monotonic() - self.last_frame_mono > self.connection.timeout_s:
            raise DeviceUnavailable(f"no frame for more than {self.connection.timeout_s:g} s")
        summary = self.latest
        if summary is None:
            return [Reading.bad(p.id, self.clock.time(), Quality.BAD, "no frame analysed yet")
                    for p in self.device.points]
        return [self._reading(point, summary) for point in self.device.points]

    def _reading(self, point: Point, summary: Summary) -> Reading:
        address = point.address
        assert isinstance(address, CameraAddress)
        value: Value
        if address.measure == "people":
            value = summary.people
        elif address.measure == "line_in":
            value = summary.lines[address.ref or ""][0]
        elif address.measure == "line_out":
            value = summary.lines[address.ref or ""][1]
        elif address.measure == "zone_occupancy":
            value = summary.zones[address.ref or ""]
        elif address.measure == "fps":
            value = round(summary.fps, 1)
        else:  # positions: compact JSON for the heatmap, [[x, y, track], ...] in floor metres
            value = json.dumps([list(p) for p in summary.positions], separators=(",", ":"))
        return Reading(point.id, value, Quality.GOOD, summary.ts)

    async def write(self, point: Point, value: Value) -> None:
        raise WriteRejected(f"camera point {point.id} is read-only")

    async def snapshot(self) -> bytes:
        """A JPEG of the latest analysed frame; SnapshotsDisabled unless the site allows it for this camera."""
        if not self.connection.snapshots:
            raise SnapshotsDisabled(f"snapshots are disabled for camera {self.device.id}")
        worker = self.worker
        if worker is None:
            raise DeviceUnavailable("camera not connected")
        jpeg = await asyncio.to_thread(worker.request_snapshot, SNAPSHOT_WAIT_S)
        if jpeg is None:
            raise DeviceUnavailable("the camera has no frame to show yet")
        return jpeg
