"""Shared fixtures of the camera tests: the synthetic scene as a video file, the real PETS09 video when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from iot_gateway.vision import synthetic
from iot_gateway.vision.nanodet import default_model_path

SHARED_VIDEO = Path(__file__).resolve().parents[2].parent / "shared" / "video"


@pytest.fixture(scope="session")
def synthetic_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.write_video(tmp_path_factory.mktemp("video") / "scene.avi")


@pytest.fixture(scope="session")
def nanodet_model() -> Path:
    path = default_model_path()
    if not path.is_file():
        pytest.skip(f"{path} missing: run `make models`")
    return path


@pytest.fixture(scope="session")
def pets_video() -> Path:
    path = SHARED_VIDEO / "pets09_s2l1.avi"
    if not path.is_file():
        pytest.skip("../shared/video is not here")
    return path
