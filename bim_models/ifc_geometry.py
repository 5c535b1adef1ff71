"""Small geometry kit for the demo hall: placements in world coordinates and extruded solids as Body shapes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import ifcopenshell
import ifcopenshell.api.geometry
import numpy as np

Entity = ifcopenshell.entity_instance
Point2 = tuple[float, float]


def _f(value: float) -> float:
    # Rounded so that the same layout always writes the same digits.
    return round(float(value), 6)


class Geometry:
    """Creates IfcLocalPlacements (relative to the element's container, as the API does) and Body solids."""

    def __init__(self, model: ifcopenshell.file, body: Entity) -> None:
        self.model = model
        self.body = body
        self._directions: dict[tuple[float, ...], Entity] = {}

    def direction(self, *ratios: float) -> Entity:
        key = tuple(_f(r) for r in ratios)
        if key not in self._directions:
            self._directions[key] = self.model.createIfcDirection(key)
        return self._directions[key]

    def place(self, product: Entity, x: float, y: float, z: float, angle_deg: float = 0.0) -> None:
        """Put ``product`` at world (x, y, z), its local x axis turned ``angle_deg`` from world x.

        Call after the product is contained or aggregated: the API then makes the placement relative to the
        container's placement, the usual IFC structure.
        """
        c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
        matrix = np.array(
            [[_f(c), _f(-s), 0.0, _f(x)], [_f(s), _f(c), 0.0, _f(y)], [0.0, 0.0, 1.0, _f(z)], [0.0, 0.0, 0.0, 1.0]]
        )
        ifcopenshell.api.geometry.edit_object_placement(self.model, product=product, matrix=matrix)

    def box(self, x0: float, y0: float, x1: float, y1: float, z0: float, height: float) -> Entity:
        """An axis-aligned box in the product's local coordinates."""
        profile = self.model.createIfcRectangleProfileDef(
            "AREA",
            None,
            self.model.createIfcAxis2Placement2D(
                self.model.createIfcCartesianPoint((_f((x0 + x1) / 2), _f((y0 + y1) / 2)))
            ),
            _f(abs(x1 - x0)),
            _f(abs(y1 - y0)),
        )
        return self._extrude(profile, (0.0, 0.0, z0), height)

    def prism(
        self, outline: Sequence[Point2], z0: float, height: float, holes: Sequence[Sequence[Point2]] = ()
    ) -> Entity:
        """A vertical extrusion of a polygon (optionally with holes) in local coordinates."""
        outer = self._polyline(outline)
        if holes:
            profile = self.model.createIfcArbitraryProfileDefWithVoids(
                "AREA", None, outer, [self._polyline(hole) for hole in holes]
            )
        else:
            profile = self.model.createIfcArbitraryClosedProfileDef("AREA", None, outer)
        return self._extrude(profile, (0.0, 0.0, z0), height)

    def side_profile(
        self, outline: Sequence[Point2], origin: tuple[float, float, float], run_sign: float, width: float
    ) -> Entity:
        """A profile drawn in a vertical plane (u along +-y, v up) and extruded sideways along +-x by ``width``.

        ``run_sign`` +1: u runs north and the solid extends east of ``origin``; -1: u runs south, solid extends west.
        """
        profile = self.model.createIfcArbitraryClosedProfileDef("AREA", None, self._polyline(outline))
        position = self.model.createIfcAxis2Placement3D(
            self.model.createIfcCartesianPoint(tuple(_f(v) for v in origin)),
            self.direction(run_sign, 0.0, 0.0),
            self.direction(0.0, run_sign, 0.0),
        )
        return self.model.createIfcExtrudedAreaSolid(profile, position, self.direction(0.0, 0.0, 1.0), _f(width))

    def set_body(self, product: Entity, items: Sequence[Entity]) -> None:
        representation = self.model.createIfcShapeRepresentation(self.body, "Body", "SweptSolid", list(items))
        ifcopenshell.api.geometry.assign_representation(self.model, product=product, representation=representation)

    def _polyline(self, points: Sequence[Point2]) -> Entity:
        closed = [*points, points[0]]
        return self.model.createIfcPolyline([self.model.createIfcCartesianPoint((_f(x), _f(y))) for x, y in closed])

    def _extrude(self, profile: Entity, origin: tuple[float, float, float], height: float) -> Entity:
        position = self.model.createIfcAxis2Placement3D(
            self.model.createIfcCartesianPoint(tuple(_f(v) for v in origin)), None, None
        )
        return self.model.createIfcExtrudedAreaSolid(profile, position, self.direction(0.0, 0.0, 1.0), _f(height))
