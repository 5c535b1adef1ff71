"""Open a camera source for decoding: RTSP, HTTP MJPEG, a video file (optionally looped) or the synthetic scene."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from iot_gateway.vision import synthetic
from twin.site.camera_model import video_file


class SourceError(OSError):
    """The source cannot be opened or stopped giving frames."""


class FrameSource:
    """Frames from one source, paced for files to real time at `fps` (a live stream paces itself)."""

    def __init__(self, source: str, *, base_dir: Path | None = None, loop: bool = False, max_fps: float = 15.0,
                 open_timeout_s: float = 10.0) -> None:
        self.source = source
        self.loop = loop
        self.synthetic = source.startswith("synthetic:")
        self.is_file = False
        self._synthetic_frame = 0
        self._base = synthetic.background() if self.synthetic else None
        self.capture: cv2.VideoCapture | None = None
        if self.synthetic:
            self.fps = min(max_fps, 10.0)
            self.size = (synthetic.WIDTH, synthetic.HEIGHT)
        else:
            target = source
            path = video_file(source, base_dir)
            if path is not None:
                if not path.is_file():
                    raise SourceError(f"video file {path} does not exist")
                target, self.is_file = str(path), True
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout_s * 1000),
                      cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(open_timeout_s * 1000)]
            self.capture = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
            if not self.capture.isOpened():
                raise SourceError(f"cannot open camera source {source}")
            native = self.capture.get(cv2.CAP_PROP_FPS) or max_fps
            self.fps = min(max_fps, native if 0 < native < 200 else max_fps)
            self.size = (int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                         int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self._next = time.monotonic()

    def read(self, *, paced: bool = True) -> np.ndarray | None:
        """The next frame; None at the end of a file that does not loop. Raises SourceError on a broken stream."""
        if paced and (self.is_file or self.synthetic):
            delay = self._next - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._next = max(self._next + 1 / self.fps, time.monotonic() - 1)
        if self.synthetic:
            self._synthetic_frame = self._synthetic_frame % synthetic.LENGTH + 1
            return synthetic.render(self._synthetic_frame, base=self._base)
        assert self.capture is not None
        ok, frame = self.capture.read()
        if ok:
            return frame
        if self.is_file and self.loop:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.capture.read()
            if ok:
                return frame
        if self.is_file:
            return None
        raise SourceError(f"camera source {self.source} stopped sending frames")

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()
