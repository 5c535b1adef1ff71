"""Image-to-floor homography from calibration pairs: solved by normalised DLT and checked for degenerate input."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

Pair = tuple[tuple[float, float], tuple[float, float]]
# Below this (in units of the normalised spread) three points count as collinear: 1 px in a 100 px spread.
COLLINEAR_TOLERANCE = 0.01


class HomographyError(ValueError):
    """The calibration pairs cannot define a floor mapping; the message names the pair(s) at fault."""


def _normaliser(points: np.ndarray) -> np.ndarray:
    """Hartley normalisation: centroid to the origin, mean distance sqrt(2); keeps the DLT well conditioned."""
    centre = points.mean(axis=0)
    spread = np.sqrt(((points - centre) ** 2).sum(axis=1)).mean()
    if spread <= 0:
        raise HomographyError("all calibration points coincide")
    s = np.sqrt(2) / spread
    return np.array([[s, 0, -s * centre[0]], [0, s, -s * centre[1]], [0, 0, 1]])


def _collinear_triples(points: np.ndarray) -> list[tuple[int, int, int]]:
    norm = _normaliser(points)
    p = points @ norm[:2, :2].T + norm[:2, 2]
    bad = []
    for i, j, k in combinations(range(len(p)), 3):
        u, v = p[j] - p[i], p[k] - p[i]
        area = abs(u[0] * v[1] - u[1] * v[0]) / 2
        if area < COLLINEAR_TOLERANCE:
            bad.append((i, j, k))
    return bad


def _general_position(points: np.ndarray, plane: str) -> None:
    """At least four points with no three on one line: otherwise the mapping is not determined."""
    bad = _collinear_triples(points)
    n = len(points)
    # Some collinear triples are fine with more than 4 points, as long as 4 points in general position remain.
    for quad in combinations(range(n), 4):
        if not any(set(t) <= set(quad) for t in bad):
            return
    names = ", ".join("/".join(f"#{i + 1}" for i in t) for t in bad[:3])
    raise HomographyError(f"{plane} points are degenerate: pairs {names} lie on one line (need 4 in general position)")


def solve_homography(pairs: Sequence[Pair], *, max_error_m: float = 0.25) -> np.ndarray:
    """The 3x3 matrix mapping image pixels to floor metres; HomographyError on too few, degenerate or
    inconsistent pairs (with more than four, the worst reprojection error must stay under `max_error_m`)."""
    if len(pairs) < 4:
        raise HomographyError(f"a homography needs at least 4 image-to-floor pairs, got {len(pairs)}")
    img = np.array([p[0] for p in pairs], dtype=np.float64)
    flr = np.array([p[1] for p in pairs], dtype=np.float64)
    if not (np.isfinite(img).all() and np.isfinite(flr).all()):
        raise HomographyError("calibration points must be finite numbers")
    for a, b in combinations(range(len(pairs)), 2):
        if np.allclose(img[a], img[b]):
            raise HomographyError(f"pairs #{a + 1} and #{b + 1} have the same image point")
    _general_position(img, "image")
    _general_position(flr, "floor")
    t_img, t_flr = _normaliser(img), _normaliser(flr)
    a_img = np.c_[img, np.ones(len(img))] @ t_img.T
    a_flr = np.c_[flr, np.ones(len(flr))] @ t_flr.T
    rows = []
    for (x, y, _), (u, v, _) in zip(a_img, a_flr, strict=True):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    _, sing, vt = np.linalg.svd(np.array(rows))
    h_norm = vt[-1].reshape(3, 3)
    matrix = np.linalg.inv(t_flr) @ h_norm @ t_img
    if abs(matrix[2, 2]) < 1e-12 or abs(np.linalg.det(matrix)) < 1e-15:
        raise HomographyError("the calibration pairs give a singular mapping")
    matrix = matrix / matrix[2, 2]
    projected = project(matrix, img)
    if not np.isfinite(projected).all():
        raise HomographyError("a calibration point maps to infinity (it lies on the horizon of the floor plane)")
    errors = np.linalg.norm(projected - flr, axis=1)
    worst = int(errors.argmax())
    if errors[worst] > max_error_m:
        raise HomographyError(
            f"pair #{worst + 1} is inconsistent with the others: it projects {errors[worst]:.2f} m from its floor "
            f"point (limit {max_error_m:g} m); check that image and floor points are in the same order"
        )
    # The foot points of the camera's view must stay on one side of the horizon, or image order flips on the floor.
    w = np.c_[img, np.ones(len(img))] @ matrix[2]
    if (w > 0).any() and (w < 0).any():
        raise HomographyError("the calibration points straddle the floor plane's horizon: some pairs are swapped")
    return matrix


def project(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a homography to (N, 2) points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    h = np.c_[pts, np.ones(len(pts))] @ matrix.T
    with np.errstate(divide="ignore", invalid="ignore"):
        return h[:, :2] / h[:, 2:3]
