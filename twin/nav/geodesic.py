"""Reference geodesic on a fine grid, to check (and benchmark) the visibility-graph routes against.

The walkable polygon is rasterised (cell centres inside it) and searched with 16 neighbours (knight moves too),
whose distance overestimates a straight line by at most ~2.7 %: an independent, slow, simple measure.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry.base import BaseGeometry

MOVES = [(1, 0), (0, 1), (1, 1), (1, -1), (2, 1), (1, 2), (2, -1), (1, -2)]


def grid_geodesic(walkable: BaseGeometry, a: tuple[float, float], b: tuple[float, float], cell: float = 0.1) -> float:
    """Length of the shortest 16-neighbour grid path from ``a`` to ``b`` inside ``walkable`` (inf: none)."""
    min_x, min_y, max_x, max_y = walkable.bounds
    xs = np.arange(min_x + cell / 2, max_x, cell)
    ys = np.arange(min_y + cell / 2, max_y, cell)
    gx, gy = np.meshgrid(xs, ys)
    inside = shapely.contains_xy(walkable, gx, gy)
    ids = -np.ones(inside.shape, dtype=np.int64)
    ids[inside] = np.arange(int(inside.sum()))
    rows, cols, weights = [], [], []
    h, w = inside.shape
    grown = walkable.buffer(1e-6)
    for dx, dy in MOVES:
        ys0 = slice(max(0, -dy), h - max(0, dy))
        xs0 = slice(max(0, -dx), w - max(0, dx))
        ys1 = slice(max(0, dy), h - max(0, -dy) if dy < 0 else h)
        xs1 = slice(max(0, dx), w)
        src, dst = ids[ys0, xs0], ids[ys1, xs1]
        both = (src >= 0) & (dst >= 0)
        if abs(dx) + abs(dy) == 3:  # a knight move must not cut a corner: its midpoint must be inside too
            mx, my = gx[ys0, xs0] + dx * cell / 2, gy[ys0, xs0] + dy * cell / 2
            both &= shapely.contains_xy(grown, mx, my)
        rows.append(src[both])
        cols.append(dst[both])
        weights.append(np.full(int(both.sum()), cell * float(np.hypot(dx, dy))))
    n = int(inside.sum())
    matrix = coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    centres = np.column_stack([gx[inside], gy[inside]])
    start = int(np.argmin(np.hypot(*(centres - np.array(a)).T)))
    goal = int(np.argmin(np.hypot(*(centres - np.array(b)).T)))
    distance = dijkstra(matrix.tocsr(), directed=False, indices=start)[goal]
    # The snap from a and b to their cell centres is added back, so that both measures join the same points.
    return float(distance + np.hypot(*(centres[start] - a)) + np.hypot(*(centres[goal] - b)))
