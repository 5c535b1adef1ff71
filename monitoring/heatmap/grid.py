"""FloorGrid: people per cell of one storey's plan (numpy), with Gaussian splats for seen people, even spreading
over a room's footprint for counted ones, and the compact wire form (base64 of uint8 cells)."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

Ring = list[tuple[float, float]]


@dataclass
class FloorGrid:
    """``cells[row, col]``: people in the cell whose lower-left corner is origin + (col, row) * cell (metres)."""

    origin: tuple[float, float]
    cell: float
    cells: NDArray[np.float32]

    @classmethod
    def covering(cls, xmin: float, ymin: float, xmax: float, ymax: float, cell: float) -> FloorGrid:
        cols = max(1, math.ceil((xmax - xmin) / cell))
        rows = max(1, math.ceil((ymax - ymin) / cell))
        return cls((xmin, ymin), cell, np.zeros((rows, cols), dtype=np.float32))

    def empty(self) -> FloorGrid:
        return FloorGrid(self.origin, self.cell, np.zeros_like(self.cells))

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.cells.shape
        return rows, cols

    def centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        rows, cols = self.shape
        xs = self.origin[0] + (np.arange(cols) + 0.5) * self.cell
        ys = self.origin[1] + (np.arange(rows) + 0.5) * self.cell
        return np.meshgrid(xs, ys)

    def splat(self, x: float, y: float, people: float, sigma: float) -> None:
        """Add ``people`` at (x, y) spread by a Gaussian of ``sigma`` metres (cut at 3 sigma, renormalised so the
        grid gains exactly ``people`` when the point is inside)."""
        rows, cols = self.shape
        col = (x - self.origin[0]) / self.cell
        row = (y - self.origin[1]) / self.cell
        if not (0 <= col < cols and 0 <= row < rows):
            return
        reach = max(1, math.ceil(3 * sigma / self.cell))
        c0, c1 = max(0, int(col) - reach), min(cols, int(col) + reach + 1)
        r0, r1 = max(0, int(row) - reach), min(rows, int(row) + reach + 1)
        cx = (np.arange(c0, c1) + 0.5 - col) * self.cell
        cy = (np.arange(r0, r1) + 0.5 - row) * self.cell
        kernel = np.exp(-(cy[:, None] ** 2 + cx[None, :] ** 2) / (2 * sigma * sigma))
        total = float(kernel.sum())
        if total > 0:
            self.cells[r0:r1, c0:c1] += (kernel * (people / total)).astype(np.float32)

    def mask(self, ring: Ring) -> NDArray[np.bool_]:
        """Cells whose centre lies inside ``ring`` (a room's footprint)."""
        xs, ys = self.centres()
        return np.asarray(shapely.contains_xy(shapely.Polygon(ring), xs, ys), dtype=bool)

    def spread(self, mask: NDArray[np.bool_], people: float) -> None:
        """Add ``people`` evenly over the cells of ``mask``."""
        count = int(mask.sum())
        if count and people > 0:
            self.cells[mask] += np.float32(people / count)

    def density(self) -> NDArray[np.float32]:
        """People per square metre in each cell."""
        return (self.cells / np.float32(self.cell * self.cell)).astype(np.float32)

    def wire(self, scale: float) -> dict[str, object]:
        """{origin, cell, width, height, scale, data}: ``data`` is base64 of uint8 row-major cells, row 0 at the
        lowest y, 255 meaning ``scale`` people per m2 or more."""
        rows, cols = self.shape
        levels = np.clip(self.density() / np.float32(scale) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return {
            "origin": [round(self.origin[0], 3), round(self.origin[1], 3)], "cell": self.cell, "width": cols,
            "height": rows, "scale": scale, "people": round(float(self.cells.sum()), 1),
            "data": base64.b64encode(levels.tobytes()).decode("ascii"),
        }  # fmt: skip
