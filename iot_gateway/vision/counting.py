"""Line-crossing counts per track and occupancy of image zones, from the foot points of tracked people."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from twin.site.camera_model import CountingLine, ImageZone


def _side(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> float:
    """>0 when p is left of a->b in image coordinates (y down: left is the counter-clockwise side on screen)."""
    return float((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]))


def _segments_cross(p: np.ndarray, q: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    d1, d2 = _side(a, b, p), _side(a, b, q)
    d3, d4 = _side(p, q, a), _side(p, q, b)
    return (d1 * d2 < 0) and (d3 * d4 <= 0)


@dataclass
class LineCounter:
    """Counts each track once per crossing of the segment a-b, as in or out by the side it came from.

    A track's foot point is compared with its last position that was clearly on one side (more than `hysteresis`
    px from the line), so a person standing on the line and jittering across it is not counted again and again.
    """

    line: CountingLine
    hysteresis: float = 3.0
    count_in: int = 0
    count_out: int = 0
    _last: dict[int, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._a = np.array(self.line.a, dtype=np.float64)
        self._b = np.array(self.line.b, dtype=np.float64)
        self._length = float(np.linalg.norm(self._b - self._a))
        # side() > 0 means "left of a->b" in a y-up frame; image y is down, so the sign is flipped for "left".
        self._in_sign = -1.0 if self.line.in_side == "left" else 1.0

    def update(self, track_ids: np.ndarray, feet: np.ndarray) -> None:
        for tid, foot in zip(track_ids.tolist(), feet, strict=True):
            if tid < 0:
                continue
            distance = _side(self._a, self._b, foot) / self._length
            if abs(distance) < self.hysteresis:
                continue
            previous = self._last.get(tid)
            self._last[tid] = foot.astype(np.float64)
            if previous is None or not _segments_cross(previous, foot, self._a, self._b):
                continue
            came_from = _side(self._a, self._b, previous) * self._in_sign
            if came_from > 0:
                self.count_in += 1
            else:
                self.count_out += 1

    def forget(self, live_ids: set[int]) -> None:
        """Drop the memory of tracks the tracker has ended."""
        for tid in [t for t in self._last if t not in live_ids]:
            del self._last[tid]


def inside(polygon: np.ndarray, feet: np.ndarray) -> np.ndarray:
    """Which foot points (N, 2) lie in an image polygon ((M, 1, 2) float32), edges included."""
    return np.array([cv2.pointPolygonTest(polygon, (float(x), float(y)), False) >= 0 for x, y in feet], dtype=bool)


def polygon_array(points: list[tuple[float, float]]) -> np.ndarray:
    return np.array(points, dtype=np.float32).reshape(-1, 1, 2)


class ZoneCounter:
    """How many foot points lie inside an image polygon."""

    def __init__(self, zone: ImageZone) -> None:
        self.zone = zone
        self._polygon = polygon_array(zone.polygon)

    def occupancy(self, feet: np.ndarray) -> int:
        return int(inside(self._polygon, feet).sum()) if len(feet) else 0
