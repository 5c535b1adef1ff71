"""Immutable records of the IfcIndex: storeys, spaces, doors, vertical connectors and devices (metres, IFC world XY)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Point3 = tuple[float, float, float]
Ring = tuple[tuple[float, float], ...]
SpacesSource = Literal["boundary", "geometry", "none"]
ExitSource = Literal["pset", "geometry"]


@dataclass(frozen=True)
class Storey:
    """An IfcBuildingStorey; ``elevation`` is the world Z of its placement in metres."""

    guid: str
    name: str
    elevation: float


@dataclass(frozen=True)
class Space:
    """An IfcSpace with its plan footprint (exterior ring, world XY metres) and floor level."""

    guid: str
    name: str
    long_name: str | None
    storey: str | None
    footprint: Ring
    floor_elevation: float
    area: float  # m^2 of the plan footprint


@dataclass(frozen=True)
class Door:
    """An IfcDoor and the one or two spaces it joins.

    ``spaces_source`` tells how the spaces were found: ``boundary`` (IfcRelSpaceBoundary), ``geometry``
    (footprints within reach of the door on either side), or ``none`` when the model has no space to join.
    """

    guid: str
    name: str
    position: Point3  # centre of the door's bounding box
    width: float
    storey: str | None
    spaces: tuple[str, ...]
    is_exit: bool
    spaces_source: SpacesSource
    # How is_exit was decided: Pset_DoorCommon.IsExternal (``pset``) or the building's outline (``geometry``).
    exit_source: ExitSource = "pset"
    fire_exit: bool = False  # Pset_DoorCommon.FireExit: on an escape route (not necessarily leading outside)
    normal: tuple[float, float] = (1.0, 0.0)  # unit plan vector through the leaf
    wall_thickness: float = 0.0  # of the host wall (m); the door's crossing is this long


@dataclass(frozen=True)
class Guess:
    """Something the index derived from geometry because the model did not state it (kind, element, why)."""

    kind: str  # door_joined_by_geometry, door_one_side, door_unjoined, door_boundaries_trimmed, exit_by_geometry
    guid: str
    name: str
    detail: str


@dataclass(frozen=True)
class VerticalConnector:
    """A stair, ramp or elevator and the storeys it joins, lowest first."""

    guid: str
    ifc_class: str  # IfcStair, IfcRamp, IfcTransportElement (or a lone IfcStairFlight / IfcRampFlight)
    name: str
    position: Point3  # plan centre of its geometry, at its lowest point
    storeys: tuple[str, ...]


@dataclass(frozen=True)
class Device:
    """A distribution or furnishing element (sensor, alarm, meter, AC unit, UPS, speaker, furniture ...)."""

    guid: str
    ifc_class: str
    predefined_type: str | None
    name: str
    position: Point3  # centre of its body's bounding box (its placement origin if it has no body)
    storey: str | None
    space: str | None
