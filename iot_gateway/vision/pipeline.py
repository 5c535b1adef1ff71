"""One camera's analysis: detect people, track them, count line crossings and zone occupancy, map feet to floor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from iot_gateway.vision.counting import LineCounter, ZoneCounter, inside, polygon_array
from iot_gateway.vision.detections import Boxes
from iot_gateway.vision.settle import FootSettler
from iot_gateway.vision.tracking import PersonTracker
from twin.site.camera_model import CameraConnection
from twin.site.homography import project, solve_homography


class Detector(Protocol):
    def detect(self, frame: np.ndarray) -> Boxes: ...


@dataclass(frozen=True, slots=True)
class FrameResult:
    """What one analysed frame yields; only numbers leave the worker, never pixels."""

    frame: int
    people: int
    boxes: Boxes
    floor: np.ndarray | None  # (N, 2) metres, same order as boxes; None without a homography
    lines: dict[str, tuple[int, int]]  # line id -> (in, out) totals since start
    zones: dict[str, int]
    settled: SettledPositions | None = None  # the floor positions of an earlier frame, smoothed over a step


    def as_json(self) -> dict[str, object]:
        """The `halltwin count --json` line: 1-based frame, count, boxes [x1, y1, x2, y2, score, track]."""
        boxes = [[round(float(v), 1) for v in box] + [round(float(s), 3), int(t)]
                 for box, s, t in zip(self.boxes.xyxy, self.boxes.scores, self.boxes.track_ids, strict=True)]
        out: dict[str, object] = {"frame": self.frame, "count": self.people, "boxes": boxes}
        if self.floor is not None:
            out["floor"] = [[round(float(x), 3), round(float(y), 3)] for x, y in self.floor]
        if self.zones:
            out["zones"] = dict(self.zones)
        return out


@dataclass(frozen=True, slots=True)
class SettledPositions:
    """Floor positions (metres) of the people counted at `frame`, each track's foot point fitted over one walking
    step around it (iot_gateway/vision/settle.py): the positions the camera publishes, half a step late."""

    frame: int
    floor: np.ndarray  # (N, 2)
    track_ids: np.ndarray  # (N,)


def make_detector(config: CameraConnection, model_path: Path | None = None) -> Detector:
    if config.detector == "motion":
        from iot_gateway.vision.motion import MotionDetector

        return MotionDetector()
    from iot_gateway.vision.nanodet import NanoDetDetector

    # Boxes down to 0.3 go to the tracker: ByteTrack's second association keeps a half-hidden person's track.
    return NanoDetDetector(model_path, long_side=config.input_long_side,
                           score_threshold=min(0.3, config.score_threshold))


class CameraPipeline:
    """Frame in, FrameResult out; stateful (tracks, line memories, totals), one per camera, one thread."""

    def __init__(self, config: CameraConnection, *, frame_rate: float, detector: Detector | None = None,
                 model_path: Path | None = None, settle: bool = True) -> None:
        self.config = config
        self.detector = detector or make_detector(config, model_path)
        self.frame_rate = frame_rate
        self.tracker: PersonTracker | None = None  # made at the first frame, which gives the frame size
        self.homography = (solve_homography([(p.image, p.floor) for p in config.homography])
                           if config.homography else None)
        self.lines = [LineCounter(line) for line in config.lines]
        self.zones = [ZoneCounter(zone) for zone in config.zones]
        self.count_area = polygon_array(config.count_area) if config.count_area else None
        # settle=False: only the instant positions (FrameResult.floor), as before settling (bench comparisons).
        self.settler = FootSettler(frame_rate) if settle and self.homography is not None else None
        self.frame_no = 0

    def process(self, frame: np.ndarray) -> FrameResult:
        self.frame_no += 1
        found = self.detector.detect(frame)
        if self.config.min_aspect > 0 and len(found):
            wh = found.xyxy[:, 2:] - found.xyxy[:, :2]
            tall = wh[:, 1] >= self.config.min_aspect * np.maximum(wh[:, 0], 1.0)
            found = Boxes(found.xyxy[tall], found.scores[tall], found.track_ids[tall])
        if self.tracker is None:
            self.tracker = PersonTracker(frame_rate=self.frame_rate, track_threshold=self.config.score_threshold,
                                         confirm_score=max(self.config.score_threshold, 0.6),
                                         frame_size=(frame.shape[1], frame.shape[0]))
        tracked = self.tracker.track(found)
        feet = tracked.feet()
        live = {int(t.tracker_id) for t in self.tracker.tracker.tracks if t.tracker_id >= 0}
        # Lines see every track seen this frame (a line's ends may reach past the counting area), not the
        # coasting predictions: a prediction that drifts over the line is no crossing.
        seen = tracked.scores > 0
        seen_ids, seen_feet = tracked.track_ids[seen], feet[seen]
        for counter in self.lines:
            counter.update(seen_ids, seen_feet)
            counter.forget(live)
        if self.count_area is not None and len(tracked):
            keep = inside(self.count_area, feet)
            tracked = Boxes(tracked.xyxy[keep], tracked.scores[keep], tracked.track_ids[keep])
            feet = feet[keep]
        floor = project(self.homography, feet) if self.homography is not None else None
        settled = None
        if self.settler is not None and self.homography is not None:
            middle = self.settler.push(self.frame_no, seen_ids, seen_feet, tracked.track_ids, feet)
            if middle is not None:
                settled = SettledPositions(middle.frame, project(self.homography, middle.feet), middle.track_ids)
        return FrameResult(
            frame=self.frame_no,
            people=len(tracked),
            boxes=tracked,
            floor=floor,
            lines={c.line.id: (c.count_in, c.count_out) for c in self.lines},
            zones={z.zone.id: z.occupancy(feet) for z in self.zones},
            settled=settled,
        )
