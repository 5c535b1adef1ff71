"""`halltwin demo`'s entrance camera: the real PETS video with NanoDet when both are here, else the synthetic scene."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bim_models.cameras import PETS_VIDEO, VIDEO_CAMERA, VIDEO_ENV, pets_connection
from iot_gateway.vision.nanodet import default_model_path
from twin.site.camera_model import CameraConnection
from twin.site.model import SiteConfig

log = logging.getLogger(__name__)


def demo_video() -> tuple[Path | None, str]:
    """The video for the entrance camera if it and the model are there; else None. With the reason either way."""
    video = Path(os.environ.get(VIDEO_ENV) or PETS_VIDEO)
    if not video.is_file():
        return None, (f"{video} not found (set {VIDEO_ENV} or put the shared video beside the project): "
                      f"{VIDEO_CAMERA} shows the synthetic scene with the motion detector")
    model = default_model_path()
    if not model.is_file():
        return None, (f"NanoDet model {model} missing (run `make models`): {VIDEO_CAMERA} shows the synthetic "
                      "scene with the motion detector")
    return video, f"{VIDEO_CAMERA} plays {video} (looped, NanoDet)"


def with_demo_video(site: SiteConfig) -> tuple[SiteConfig, str]:
    """The site with the entrance camera on the PETS video when available (the same points), and what was done."""
    video, reason = demo_video()
    if video is None or not any(d.id == VIDEO_CAMERA for d in site.devices):
        return site, reason
    connection = CameraConnection.model_validate(pets_connection(video), strict=False)
    devices = [d.model_copy(update={"connection": connection}) if d.id == VIDEO_CAMERA else d for d in site.devices]
    return site.model_copy(update={"devices": devices}), reason
