"""A synthetic camera scene of figures walking known straight paths: exact ground truth for tests and the demo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 640, 480


@dataclass(frozen=True, slots=True)
class Walker:
    """A figure walking from `start` to `end` (foot point, pixels) over frames [first, last]."""

    start: tuple[float, float]
    end: tuple[float, float]
    first: int
    last: int
    colour: tuple[int, int, int]
    height: float = 90.0

    def foot(self, frame: int) -> tuple[float, float] | None:
        if not self.first <= frame <= self.last:
            return None
        t = (frame - self.first) / max(1, self.last - self.first)
        return (self.start[0] + t * (self.end[0] - self.start[0]), self.start[1] + t * (self.end[1] - self.start[1]))


# Three people cross the entrance line x=320 left-to-right (in), one right-to-left (out), one walks along it.
DEFAULT_WALKERS = (
    Walker((60, 300), (580, 320), 5, 85, (40, 40, 200)),
    Walker((80, 400), (600, 380), 30, 110, (200, 60, 40)),
    Walker((600, 250), (40, 260), 50, 140, (40, 160, 40)),
    Walker((100, 200), (560, 220), 120, 200, (160, 40, 160)),
    Walker((120, 440), (200, 440), 150, 230, (0, 140, 200)),
)
LENGTH = 240


def background() -> np.ndarray:
    """A textured floor (tiles) so the scene is not flat colour."""
    frame = np.full((HEIGHT, WIDTH, 3), (170, 180, 185), dtype=np.uint8)
    for x in range(0, WIDTH, 40):
        cv2.line(frame, (x, 0), (x, HEIGHT), (150, 160, 165), 1)
    for y in range(0, HEIGHT, 40):
        cv2.line(frame, (0, y), (WIDTH, y), (150, 160, 165), 1)
    return frame


def draw_walker(frame: np.ndarray, foot: tuple[float, float], walker: Walker) -> None:
    """A person-like figure standing on `foot`: legs, torso, arms, head."""
    x, y, h = int(round(foot[0])), int(round(foot[1])), walker.height
    w = int(h * 0.28)
    hip, shoulder, head_r = y - int(h * 0.45), y - int(h * 0.8), int(h * 0.09)
    cv2.line(frame, (x - w // 4, y), (x, hip), (50, 50, 60), 5)
    cv2.line(frame, (x + w // 4, y), (x, hip), (50, 50, 60), 5)
    cv2.rectangle(frame, (x - w // 2, shoulder), (x + w // 2, hip), walker.colour, -1)
    cv2.line(frame, (x - w // 2, shoulder + 2), (x - w // 2 - 4, hip), walker.colour, 4)
    cv2.line(frame, (x + w // 2, shoulder + 2), (x + w // 2 + 4, hip), walker.colour, 4)
    cv2.circle(frame, (x, shoulder - head_r), head_r, (120, 160, 200), -1)


def render(frame_no: int, walkers: tuple[Walker, ...] = DEFAULT_WALKERS, base: np.ndarray | None = None) -> np.ndarray:
    """Frame `frame_no` (1-based) of the scene."""
    frame = (base if base is not None else background()).copy()
    for walker in sorted(walkers, key=lambda w: (w.foot(frame_no) or (0, 0))[1]):
        foot = walker.foot(frame_no)
        if foot is not None:
            draw_walker(frame, foot, walker)
    return frame


def write_video(path: Path, frames: int = LENGTH, walkers: tuple[Walker, ...] = DEFAULT_WALKERS,
                fps: float = 10.0) -> Path:
    """Write the scene as an MJPEG AVI (decodable by every OpenCV/FFmpeg build)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise OSError(f"cannot write video {path}")
    base = background()
    try:
        for n in range(1, frames + 1):
            writer.write(render(n, walkers, base))
    finally:
        writer.release()
    return path
