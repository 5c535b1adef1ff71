"""IfcIndex: the storeys, spaces, doors, stairs, ramps, lifts and devices of an IFC2X3/IFC4 model, in metres.

Units come from the file (``calculate_unit_scale``); geometry comes from ifcopenshell.geom in world coordinates,
so every position, footprint and elevation is in one frame: IFC world axes (Z up), metres. Loading blocks for
a second or more: callers on an event loop use ``await asyncio.to_thread(IfcIndex.load, path)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from twin.bim.doors import SpaceOutline
from twin.bim.entities import Device, Door, Guess, Space, Storey, VerticalConnector
from twin.bim.geometry import MeshShape, tessellate
from twin.bim.ifc_file import OpenedIfc, open_ifc
from twin.bim.index_builder import (
    build_connector,
    build_devices,
    build_doors,
    build_spaces,
    connector_groups,
    index_elements,
    storey_elevations,
    storey_for_z,
)

IndexRecord = Storey | Space | Door | VerticalConnector | Device
# A point this close outside a footprint (m) still counts as in the room: devices sit on walls.
_SPACE_EDGE_TOLERANCE = 0.05


@dataclass(frozen=True)
class IfcIndex:
    """What the twin needs to know of a building model; every record is immutable and keyed by GlobalId."""

    source: str
    schema: str
    unit_scale: float  # metres per file length unit, as read from the file
    storeys: tuple[Storey, ...]  # ascending elevation
    spaces: tuple[Space, ...]
    doors: tuple[Door, ...]
    stairs: tuple[VerticalConnector, ...]
    ramps: tuple[VerticalConnector, ...]
    elevators: tuple[VerticalConnector, ...]
    devices: tuple[Device, ...]
    _plans: Mapping[str, BaseGeometry] = field(repr=False, compare=False)
    # What was derived from geometry because the model did not say it (door joins, exits): `halltwin nav-report`.
    guesses: tuple[Guess, ...] = ()
    _by_guid: Mapping[str, IndexRecord] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        records: dict[str, IndexRecord] = {}
        for group in (self.storeys, self.spaces, self.doors, self.stairs, self.ramps, self.elevators, self.devices):
            for record in group:
                records.setdefault(record.guid, record)
        object.__setattr__(self, "_by_guid", records)
        for plan in self._plans.values():
            shapely.prepare(plan)  # space_at is called per device and per visitor position

    @classmethod
    def load(cls, path: str | Path) -> IfcIndex:
        """Read ``path``; raise IfcLoadError naming the file if it is missing, unreadable or not IFC."""
        opened = open_ifc(path)
        return cls.build(opened, tessellate(opened.file, index_elements(opened.file)))

    @classmethod
    def build(cls, opened: OpenedIfc, meshes: Mapping[str, MeshShape]) -> IfcIndex:
        """Index an opened file given the meshes of (at least) its spaces, doors, stairs, ramps and lifts."""
        storeys = storey_elevations(opened)
        spaces, plans = build_spaces(opened, meshes, storeys)
        outlines = [SpaceOutline(s.guid, s.storey, s.floor_elevation, plans[s.guid]) for s in spaces]
        guesses: list[Guess] = []
        doors = build_doors(opened, meshes, storeys, outlines, guesses)
        groups = connector_groups(opened.file)
        connectors = {
            kind: tuple(build_connector(opened, group, meshes, storeys) for group in members)
            for kind, members in groups.items()
        }
        partial = cls(str(opened.path), str(opened.file.schema), opened.unit_scale, tuple(storeys), tuple(spaces),
                      tuple(doors), connectors["stairs"], connectors["ramps"], connectors["elevators"], (), plans,
                      tuple(guesses))
        devices = build_devices(opened, storeys, partial.space_at, meshes)
        return cls(partial.source, partial.schema, partial.unit_scale, partial.storeys, partial.spaces,
                   partial.doors, partial.stairs, partial.ramps, partial.elevators, tuple(devices), plans,
                   partial.guesses)

    def by_guid(self, guid: str) -> IndexRecord | None:
        """The storey, space, door, stair/ramp/lift or device with this GlobalId."""
        return self._by_guid.get(guid)

    def plan(self, space: str) -> BaseGeometry:
        """The full plan of a space (holes for columns and shafts kept); KeyError for an unknown guid."""
        return self._plans[space]

    def storey(self, guid: str) -> Storey | None:
        record = self._by_guid.get(guid)
        return record if isinstance(record, Storey) else None

    def space(self, guid: str) -> Space | None:
        record = self._by_guid.get(guid)
        return record if isinstance(record, Space) else None

    def storey_at(self, z: float) -> Storey | None:
        """The storey a point at height ``z`` (m) stands on."""
        return storey_for_z(list(self.storeys), z)

    def space_at(self, x: float, y: float, storey: str | None = None) -> Space | None:
        """The space whose footprint holds (x, y) on ``storey`` (any storey when None); smallest if nested."""
        point = Point(x, y)
        best: Space | None = None
        for space in self.spaces:
            if storey is not None and space.storey != storey:
                continue
            plan = self._plans[space.guid]
            if plan.covers(point) or plan.distance(point) <= _SPACE_EDGE_TOLERANCE:
                if best is None or space.area < best.area:
                    best = space
        return best

    def spaces_on(self, storey: str) -> tuple[Space, ...]:
        return tuple(s for s in self.spaces if s.storey == storey)

    def doors_of(self, space: str) -> tuple[Door, ...]:
        """The doors that open into ``space``."""
        return tuple(d for d in self.doors if space in d.spaces)
