"""What stands on a floor and cannot be walked through: furniture, counters, service windows, columns.

An element blocks walking where its body reaches from near the floor to above the knees; its footprint is the
convex hull of its plan (a chair's legs block the area between them too). Hanging or flat things do not block.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import ifcopenshell
import numpy as np
from shapely.geometry import MultiPoint
from shapely.geometry.base import BaseGeometry

from twin.bim.geometry import MeshShape

# IFC classes that stand in rooms (IfcFurniture is an IfcFurnishingElement in IFC4; IFC2X3 has only the latter).
OBSTACLE_CLASSES = ("IfcFurnishingElement", "IfcColumn", "IfcTransportElement")
# A body must start below this (m above its floor) and reach above ANKLE to block walking.
BELOW = 1.8
ANKLE = 0.1


def obstacle_elements(model: ifcopenshell.file) -> list[ifcopenshell.entity_instance]:
    """Every element of an obstacle class (those without a body are dropped later, by tessellation)."""
    found: dict[int, ifcopenshell.entity_instance] = {}
    for name in OBSTACLE_CLASSES:
        try:
            elements = model.by_type(name)
        except RuntimeError:  # not in this schema
            continue
        for element in elements:
            found[element.id()] = element
    return [found[k] for k in sorted(found)]


def footprints_on(
    meshes: Mapping[str, MeshShape], guids: Iterable[str], floor: float, ceiling: float
) -> list[BaseGeometry]:
    """Plan footprints of the obstacles among ``guids`` that stand on the floor at ``floor`` (below ``ceiling``)."""
    shapes: list[BaseGeometry] = []
    for guid in guids:
        mesh = meshes.get(guid)
        if mesh is None:
            continue
        low, high = float(mesh.bbox_min[2]), float(mesh.bbox_max[2])
        if high < floor + ANKLE or low > floor + BELOW or low > ceiling:
            continue
        hull = MultiPoint(np.asarray(mesh.verts[:, :2])).convex_hull
        if hull.area > 1e-4:
            shapes.append(hull)
    return shapes
