"""Background-subtraction person detector (MOG2): the baseline, and the detector for scenes without a model."""

from __future__ import annotations

import cv2
import numpy as np

from iot_gateway.vision.detections import Boxes


class MotionDetector:
    """Moving blobs of MOG2's foreground mask as person boxes.

    No learning of what a person looks like: a standing person fades into the background after `history`
    frames, a pair walking side by side is one blob. Good for the synthetic test scenes and as the bench's
    baseline; NanoDet is the detector for real cameras.
    """

    def __init__(self, *, min_area: int = 150, history: int = 300, var_threshold: float = 32.0,
                 learning_frames: int = 0) -> None:
        self.subtractor = cv2.createBackgroundSubtractorMOG2(history=history, varThreshold=var_threshold,
                                                             detectShadows=True)
        self.min_area = min_area
        self.kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self.learning_frames = learning_frames

    def detect(self, frame: np.ndarray) -> Boxes:
        mask = self.subtractor.apply(frame)
        mask = np.where(mask == 255, 255, 0).astype(np.uint8)  # 127 = shadow
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self.kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self.kernel, iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        rows = [s for s in stats[1:count] if s[cv2.CC_STAT_AREA] >= self.min_area]
        if not rows:
            return Boxes.empty()
        arr = np.array(rows, dtype=np.float32)
        xyxy = np.column_stack([arr[:, 0], arr[:, 1], arr[:, 0] + arr[:, 2], arr[:, 1] + arr[:, 3]])
        fill = arr[:, 4] / np.maximum(1.0, arr[:, 2] * arr[:, 3])
        scores = np.clip(0.5 + fill / 2, 0, 1).astype(np.float32)
        return Boxes(xyxy.astype(np.float32), scores, np.full(len(rows), -1, dtype=np.int64))
