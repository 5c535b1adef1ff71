"""Corners where taut paths bend, and which pairs of points see each other inside a walkable region."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

# Segments may graze the walkable boundary: the test polygon is this much larger (m) to absorb float noise.
GRAZE = 1e-3
# Fewer segments than this are tested in one vectorised call; more are chunked to bound memory.
CHUNK = 50_000


def reflex_corners(walkable: BaseGeometry) -> np.ndarray:
    """(K, 2) vertices where the walkable area turns concave (the walker's side on the left of each ring)."""
    points: list[np.ndarray] = []
    for polygon in getattr(walkable, "geoms", [walkable]):
        if polygon.is_empty or polygon.geom_type != "Polygon":
            continue
        for ring in (polygon.exterior, *polygon.interiors):
            coords = np.asarray(ring.coords)[:-1, :2]
            if len(coords) < 3:
                continue
            before, after = np.roll(coords, 1, axis=0), np.roll(coords, -1, axis=0)
            a, b = coords - before, after - coords
            cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
            points.append(coords[cross < -1e-9])  # a right turn: the free space bends around this vertex
    return np.vstack(points) if points else np.zeros((0, 2))


def grazing(walkable: BaseGeometry) -> BaseGeometry:
    """The polygon visibility is tested against: slightly grown, prepared for many queries."""
    grown = walkable.buffer(GRAZE, quad_segs=1, join_style="mitre")
    shapely.prepare(grown)
    return grown


def visible(area: BaseGeometry, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For segment rows a[i]-b[i]: True where the segment stays inside ``area`` (a grazing polygon)."""
    result = np.zeros(len(a), dtype=bool)
    for start in range(0, len(a), CHUNK):
        stop = start + CHUNK
        coords = np.stack([a[start:stop], b[start:stop]], axis=1)
        lines = shapely.linestrings(coords)
        result[start:stop] = shapely.covers(area, lines)
    return result


def visible_pairs(area: BaseGeometry, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of ``points`` that see each other inside ``area``."""
    n = len(points)
    if n < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    i, j = np.triu_indices(n, k=1)
    keep = visible(area, points[i], points[j])
    return i[keep], j[keep]
