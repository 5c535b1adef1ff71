"""The camera worker process: decode, analyse, and send only numbers (and, when asked and allowed, a still)."""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import queue
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)
RESULT_QUEUE_SIZE = 4


@dataclass(frozen=True, slots=True)
class Summary:
    """One analysed frame as the driver needs it: counts, occupancy, floor positions; no pixels."""

    ts: float
    frame: int
    people: int
    lines: dict[str, tuple[int, int]]
    zones: dict[str, int]
    positions: list[tuple[float, float, int]] = field(default_factory=list)
    fps: float = 0.0


def _run(config_json: str, base_dir: str | None, results: Any, commands: Connection, stop: Any) -> None:
    """Worker main: one thread of analysis (the detector uses one core), exits when `stop` is set."""
    import cv2

    from iot_gateway.vision.pipeline import CameraPipeline
    from iot_gateway.vision.sources import FrameSource, SourceError
    from twin.site.camera_model import CameraConnection

    cv2.setNumThreads(1)
    config = CameraConnection.model_validate_json(config_json)
    try:
        source = FrameSource(config.source, base_dir=Path(base_dir) if base_dir else None, loop=config.loop,
                             max_fps=config.max_fps)
        pipeline = CameraPipeline(config, frame_rate=source.fps)
    except Exception as exc:  # the driver shows it as the device's reason
        results.put(("error", f"{type(exc).__name__}: {exc}"))
        return
    results.put(("ready", source.size))
    last_frame = None
    started, analysed = time.monotonic(), 0
    try:
        while not stop.is_set():
            try:
                frame = source.read()
            except SourceError as exc:
                results.put(("error", str(exc)))
                return
            if frame is None:
                results.put(("end", pipeline.frame_no))
                return
            result = pipeline.process(frame)
            analysed += 1
            if config.snapshots:
                last_frame = frame
            positions = []
            # The settled positions (half a walking step late, steadier: vision/settle.py); the instant ones only
            # for the first frames of a stream, before any frame has settled.
            floor: np.ndarray | None = result.floor
            tracks = result.boxes.track_ids
            if result.settled is not None:
                floor, tracks = result.settled.floor, result.settled.track_ids
            if floor is not None:
                positions = [(round(float(x), 2), round(float(y), 2), int(t))
                             for (x, y), t in zip(floor, tracks, strict=True)]
            summary = Summary(time.time(), result.frame, result.people, result.lines, result.zones, positions,
                              analysed / max(1e-6, time.monotonic() - started))
            try:
                results.put_nowait(("frame", summary))
            except queue.Full:  # the driver reads the newest; an old summary is worth nothing
                pass
            while commands.poll():
                request = commands.recv()
                if request == "snapshot":
                    ok, jpeg = (cv2.imencode(".jpg", last_frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
                                if last_frame is not None else (False, None))
                    commands.send(jpeg.tobytes() if ok and jpeg is not None else None)
    finally:
        source.close()
        # Nobody reads the results once the driver has asked us to stop: flushing a full queue at exit would
        # block until the driver's join timed out and it had to terminate us.
        results.cancel_join_thread()


class CameraWorker:
    """Owns one camera's worker process (spawned: no event loop or sockets inherited) and its channels."""

    def __init__(self, config_json: str, base_dir: Path | None) -> None:
        ctx = mp.get_context("spawn")
        self.results = ctx.Queue(maxsize=RESULT_QUEUE_SIZE)
        self._commands, child_commands = ctx.Pipe()
        self._stop = ctx.Event()
        self._snapshot_lock = threading.Lock()  # one request/answer on the pipe at a time
        self.process = ctx.Process(target=_run, name="camera-worker", daemon=True,
                                   args=(config_json, str(base_dir) if base_dir else None, self.results,
                                         child_commands, self._stop))

    @classmethod
    def for_config(cls, config: Any, base_dir: Path | None) -> CameraWorker:
        return cls(json.dumps(config.model_dump(mode="json")), base_dir)

    def start(self) -> None:
        self.process.start()

    def drain(self) -> list[tuple[str, Any]]:
        """Every message waiting, oldest first, without blocking."""
        out = []
        while True:
            try:
                out.append(self.results.get_nowait())
            except queue.Empty:
                return out

    def request_snapshot(self, timeout: float) -> bytes | None:
        """Blocking (run it in a thread): ask the worker for a JPEG of its latest frame."""
        with self._snapshot_lock:
            self._commands.send("snapshot")
            if not self._commands.poll(timeout):
                return None
            data = self._commands.recv()
        return data if isinstance(data, bytes) else None

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to stop, then end it by its own handle if it does not."""
        self._stop.set()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        self.results.close()
        self.results.cancel_join_thread()
        self._commands.close()
