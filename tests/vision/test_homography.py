"""Floor homography: solved exactly from clean pairs, refused with a message naming the fault otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from twin.site.camera_model import CameraConnection
from twin.site.homography import HomographyError, project, solve_homography

TRUE_H = np.array([[0.02, 0.004, -1.0], [0.0, 0.05, -2.0], [0.0, 0.0008, 1.0]])
IMAGE = [(100.0, 300.0), (540.0, 300.0), (600.0, 470.0), (40.0, 470.0), (320.0, 380.0)]


def pairs(points=IMAGE):
    floor = project(TRUE_H, np.array(points))
    return [(tuple(i), tuple(f)) for i, f in zip(points, floor.tolist(), strict=True)]


def test_recovers_a_known_mapping():
    matrix = solve_homography(pairs())
    probe = np.array([[200.0, 350.0], [500.0, 450.0]])
    assert np.allclose(project(matrix, probe), project(TRUE_H, probe), atol=1e-6)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (pairs()[:3], "at least 4"),
        (pairs([(0, 0), (100, 100), (200, 200), (300, 300)]), "degenerate"),
        ([pairs()[0], pairs()[0], *pairs()[2:4]], "same image point"),
        ([*pairs()[:4], (pairs()[4][0], (50.0, 50.0))], "pair #5 is inconsistent"),
        ([((0, 0), (float("nan"), 0)), *pairs()[1:4]], "finite"),
    ],
)
def test_degenerate_input_is_refused_with_the_reason(bad, message):
    with pytest.raises(HomographyError, match=message):
        solve_homography(bad)


def test_the_site_model_refuses_a_bad_homography():
    collinear = [{"image": (float(x), float(x)), "floor": (float(x), 0.5 * x)} for x in (0, 100, 200, 300)]
    with pytest.raises(ValidationError, match="homography: image points are degenerate"):
        CameraConnection.model_validate({"type": "camera", "source": "x.avi", "homography": collinear},
                                        strict=False)
