"""Person boxes as one small numpy-backed value shared by detectors, tracker and counters."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class Boxes:
    """N boxes in image pixels: xyxy (N, 4) float32, scores (N,), optional track ids (N,) (-1 = not tracked)."""

    xyxy: np.ndarray
    scores: np.ndarray
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def empty(cls) -> Boxes:
        return cls(np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def feet(self) -> np.ndarray:
        """Foot points (bottom centre of each box), (N, 2): where a person stands on the floor."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1)
