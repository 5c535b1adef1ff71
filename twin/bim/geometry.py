"""Tessellate IFC elements in world metres (single-process ifcopenshell.geom) and derive plan footprints.

Plain blocking functions: callers on an event loop run them in a worker thread (house rule 1).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import ifcopenshell
import ifcopenshell.geom
import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon
from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

# Triangles whose plan projection is smaller than this (m^2) are walls' vertical faces: they add nothing to a footprint.
_MIN_TRIANGLE_AREA = 1e-8
# Drop footprint vertices closer than 1 mm to a straight line (tessellation noise).
_SIMPLIFY_TOLERANCE = 0.001


@dataclass(frozen=True, eq=False)
class MeshShape:
    """One element's triangulated geometry in world coordinates, metres, IFC axes (Z up)."""

    guid: str
    ifc_class: str
    verts: np.ndarray  # (N, 3) float
    faces: np.ndarray  # (M, 3) int, indices into verts

    @property
    def bbox_min(self) -> np.ndarray:
        return np.asarray(self.verts.min(axis=0))

    @property
    def bbox_max(self) -> np.ndarray:
        return np.asarray(self.verts.max(axis=0))

    @property
    def centre(self) -> tuple[float, float, float]:
        """Centre of the axis-aligned bounding box."""
        mid = (self.bbox_min + self.bbox_max) / 2.0
        return (float(mid[0]), float(mid[1]), float(mid[2]))


def geometry_settings() -> ifcopenshell.geom.settings:
    """World coordinates, default materials, GlobalIds as names: what both the index and the GLB writer need."""
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    settings.set("apply-default-materials", True)
    settings.set("use-element-guids", True)
    return settings


def mesh_from_shape(shape: object) -> MeshShape | None:
    """A MeshShape from an iterator's triangulation element, or None when it has no triangles."""
    geometry = shape.geometry  # type: ignore[attr-defined]
    verts = np.asarray(geometry.verts, dtype=float).reshape(-1, 3)
    faces = np.asarray(geometry.faces, dtype=np.int64).reshape(-1, 3)
    if len(verts) == 0 or len(faces) == 0:
        return None
    return MeshShape(str(shape.guid), str(shape.type), verts, faces)  # type: ignore[attr-defined]


def iterate_shapes(
    model: ifcopenshell.file,
    settings: ifcopenshell.geom.settings,
    include: Sequence[ifcopenshell.entity_instance] | None = None,
    exclude: Sequence[ifcopenshell.entity_instance] | None = None,
) -> Iterator[object]:
    """Yield the iterator's triangulation elements one by one (one process: faster than two on 2 cores)."""
    if include is not None and not include:
        return
    if include is not None:
        iterator = ifcopenshell.geom.iterator(settings, model, 1, include=list(include))
    elif exclude:
        iterator = ifcopenshell.geom.iterator(settings, model, 1, exclude=list(exclude))
    else:
        iterator = ifcopenshell.geom.iterator(settings, model, 1)
    if not iterator.initialize():
        return  # nothing tessellates: the caller decides whether that is an error
    while True:
        yield iterator.get()
        if not iterator.next():
            return


def tessellate(model: ifcopenshell.file, elements: Iterable[ifcopenshell.entity_instance]) -> dict[str, MeshShape]:
    """GlobalId -> MeshShape for those of ``elements`` that have a body; elements that fail are skipped."""
    wanted = [e for e in elements if getattr(e, "Representation", None) is not None]
    meshes: dict[str, MeshShape] = {}
    for shape in iterate_shapes(model, geometry_settings(), include=wanted):
        mesh = mesh_from_shape(shape)
        if mesh is not None:
            meshes[mesh.guid] = mesh
    return meshes


def plan_projection(mesh: MeshShape) -> BaseGeometry:
    """Union of the mesh's triangles projected on the XY plane (the area the element covers in plan)."""
    triangles = mesh.verts[mesh.faces][:, :, :2]  # (M, 3, 2)
    doubled_area = np.abs(
        (triangles[:, 1, 0] - triangles[:, 0, 0]) * (triangles[:, 2, 1] - triangles[:, 0, 1])
        - (triangles[:, 2, 0] - triangles[:, 0, 0]) * (triangles[:, 1, 1] - triangles[:, 0, 1])
    )
    flat = triangles[doubled_area / 2.0 > _MIN_TRIANGLE_AREA]
    if len(flat) == 0:
        return Polygon()
    polygons = shapely.polygons(flat)
    # A tiny buffer welds triangles that touch only through float noise, then is taken back off.
    merged = shapely.union_all(shapely.buffer(polygons, 1e-6, join_style="mitre"))
    return merged.buffer(-1e-6, join_style="mitre").simplify(_SIMPLIFY_TOLERANCE)


def largest_polygon(geometry: BaseGeometry) -> Polygon:
    """The polygon of largest area in ``geometry`` (an empty Polygon when there is none)."""
    if isinstance(geometry, Polygon):
        return geometry
    parts = [g for g in getattr(geometry, "geoms", ()) if isinstance(g, Polygon)]
    return max(parts, key=lambda p: p.area) if parts else Polygon()


def ring_coords(polygon: Polygon) -> tuple[tuple[float, float], ...]:
    """The exterior ring as (x, y) pairs, without the repeated closing point, rounded to 0.1 mm."""
    coords = list(polygon.exterior.coords)[:-1] if not polygon.is_empty else []
    return tuple((round(float(x), 4), round(float(y), 4)) for x, y, *_ in coords)


def plan_rectangle(mesh: MeshShape) -> tuple[float, float, tuple[float, float]]:
    """Long side, short side and the unit direction of the long side of the mesh's minimum plan rectangle."""
    rectangle = MultiPoint(mesh.verts[:, :2]).minimum_rotated_rectangle
    if not isinstance(rectangle, Polygon):  # degenerate mesh: a line or a point in plan
        xs, ys = mesh.verts[:, 0], mesh.verts[:, 1]
        dx, dy = float(np.ptp(xs)), float(np.ptp(ys))
        return (max(dx, dy), min(dx, dy), (1.0, 0.0) if dx >= dy else (0.0, 1.0))
    corners = np.asarray(rectangle.exterior.coords)[:3]
    edge_a, edge_b = corners[1] - corners[0], corners[2] - corners[1]
    len_a, len_b = float(np.hypot(*edge_a)), float(np.hypot(*edge_b))
    long_edge, long_len, short_len = (edge_a, len_a, len_b) if len_a >= len_b else (edge_b, len_b, len_a)
    direction = long_edge / long_len if long_len > 0 else np.array([1.0, 0.0])
    return (long_len, short_len, (float(direction[0]), float(direction[1])))
