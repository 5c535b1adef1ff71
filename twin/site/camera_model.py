"""site.yaml models of a people-counting camera: its source, counting lines, image zones and floor homography."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from twin.site.base_model import ID_PATTERN, Strict
from twin.site.homography import HomographyError, solve_homography

XY = Annotated[tuple[float, float], Field(strict=False)]  # YAML gives lists


def video_file(source: str, base_dir: Path | None) -> Path | None:
    """The video file a camera source names (relative to ``base_dir``), None for a stream or the synthetic scene."""
    if source.startswith("synthetic:") or ("://" in source and not source.startswith("file://")):
        return None
    path = Path(source.removeprefix("file://"))
    return base_dir / path if not path.is_absolute() and base_dir is not None else path



class CalibrationPair(Strict):
    image: XY = Field(description="Pixel (x, y) in the camera frame, origin top-left")
    floor: XY = Field(description="The same spot on the floor plan, metres (x, y) in the storey's coordinates")


class CountingLine(Strict):
    """A virtual line across a walking path; a person whose foot point crosses it counts once, in or out."""

    id: Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
    a: XY = Field(description="Line start, image pixels")
    b: XY = Field(description="Line end, image pixels")
    in_side: Literal["left", "right"] = Field(
        default="left", description="Walking from this side of a->b to the other counts as in (left: seen from a "
        "looking at b, in image coordinates with y down)")

    @model_validator(mode="after")
    def _length(self) -> CountingLine:
        if (self.a[0] - self.b[0]) ** 2 + (self.a[1] - self.b[1]) ** 2 < 4:
            raise ValueError(f"line {self.id}: a and b must be at least 2 px apart")
        return self


class ImageZone(Strict):
    """A polygon of the image (a queue, a waiting area) whose occupancy is published."""

    id: Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
    polygon: list[XY] = Field(min_length=3, description="Image pixels; foot points inside count as occupants")


class CameraConnection(Strict):
    """A camera analysed by the gateway: decoding and detection run in a worker process per camera."""

    type: Literal["camera"]
    source: str = Field(min_length=1, description="rtsp://..., http(s)://... (MJPEG) or a video file path "
                        "(relative to the site file); `synthetic:` renders a test scene")
    loop: bool = Field(default=False, description="Restart a video file at its end (demo, commissioning)")
    max_fps: float = Field(default=15.0, gt=0, le=60, description="Frames analysed per second at most; files play "
                           "at this rate (or their own, when lower)")
    detector: Literal["nanodet", "motion"] = Field(
        default="nanodet", description="nanodet: the CNN person detector; motion: background subtraction (scenes "
        "without a model, synthetic video)")
    score_threshold: float = Field(
        default=0.5, gt=0, lt=1, description="Person score a new track needs (0.5: measured on PETS09 frames 1-400)")
    input_long_side: int = Field(default=480, ge=128, le=1280, description="Detector input, long side in px "
                                 "(480: 23 frames/s on one core; 416 is faster, misses more of the far people)")
    min_aspect: float = Field(default=0.0, ge=0, le=5, description="Ignore boxes flatter than height/width < this "
                              "(oblique cameras: standing people are tall; 0 for overhead cameras)")
    count_area: list[XY] | None = Field(
        default=None, min_length=3, description="Image polygon of the floor where people are counted and "
        "positioned (the walkable area in view); feet outside it (a street through the glass, a far path) are "
        "left out. Counting lines still see every tracked person")
    homography: list[CalibrationPair] | None = Field(
        default=None, description="At least 4 image-to-floor pairs; enables floor positions")
    lines: list[CountingLine] = Field(default_factory=list)
    zones: list[ImageZone] = Field(default_factory=list)
    snapshots: bool = Field(default=False, description="Serve a still to the security role (privacy: off by "
                            "default; no frame is ever stored)")
    poll_interval_s: float = Field(default=1.0, gt=0, le=60, description="How often points are published")
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="No frame for this long: camera unavailable")

    def video_file(self, base_dir: Path | None) -> Path | None:
        """The video file this camera plays (relative to the site file's folder), None for a stream or the
        synthetic scene."""
        return video_file(self.source, base_dir)

    @field_validator("source")
    @classmethod
    def _scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme and scheme not in ("rtsp", "rtsps", "http", "https", "file"):
            raise ValueError(f"source scheme {scheme!r} is not one of rtsp, http(s), file")
        return value

    @model_validator(mode="after")
    def _checks(self) -> CameraConnection:
        if self.homography is not None:
            try:
                solve_homography([(p.image, p.floor) for p in self.homography])
            except HomographyError as exc:
                raise ValueError(f"homography: {exc}") from None
        for kind, ids in (("line", [x.id for x in self.lines]), ("zone", [z.id for z in self.zones])):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ValueError(f"{kind} ids must be unique, repeated: {', '.join(dup)}")
        return self


CameraMeasure = Literal["people", "line_in", "line_out", "zone_occupancy", "positions", "fps"]


class CameraAddress(Strict):
    """What a camera point publishes: people in view, a line's in/out totals, a zone's occupancy, the floor
    positions (JSON text `[[x, y, track], ...]` in metres) or the analysed frame rate."""

    type: Literal["camera"]
    measure: CameraMeasure
    ref: str | None = Field(default=None, description="The line id (line_in/line_out) or zone id (zone_occupancy)")

    @model_validator(mode="after")
    def _ref(self) -> CameraAddress:
        needs_ref = self.measure in ("line_in", "line_out", "zone_occupancy")
        if needs_ref and not self.ref:
            raise ValueError(f"measure {self.measure} needs ref: (the line or zone id)")
        if not needs_ref and self.ref is not None:
            raise ValueError(f"measure {self.measure} takes no ref:")
        return self


def check_camera_refs(connection: CameraConnection, points: list[tuple[str, object]]) -> None:
    """Every camera point's ref names a line or zone of its camera; positions need a homography."""
    lines = {line.id for line in connection.lines}
    zones = {zone.id for zone in connection.zones}
    for point_id, address in points:
        if not isinstance(address, CameraAddress):
            continue
        if address.measure in ("line_in", "line_out") and address.ref not in lines:
            raise ValueError(f"point {point_id}: no line {address.ref!r} on this camera (lines: "
                             f"{', '.join(sorted(lines)) or 'none'})")
        if address.measure == "zone_occupancy" and address.ref not in zones:
            raise ValueError(f"point {point_id}: no zone {address.ref!r} on this camera (zones: "
                             f"{', '.join(sorted(zones)) or 'none'})")
        if address.measure == "positions" and connection.homography is None:
            raise ValueError(f"point {point_id}: positions need the camera's homography: (4+ image-to-floor pairs)")
