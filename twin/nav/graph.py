"""The navigation graph: walkable regions per storey, nodes on them, and edges (walks, doors, stairs, lifts, exits).

Plain numpy arrays so that a route query costs a few vector operations and one Dijkstra in C, and so that the
whole graph pickles into the cache in one piece. Lengths are metres, coordinates IFC world metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from shapely.geometry.base import BaseGeometry

GRAPH_VERSION = 4  # bump when the graph's content or its builder's rules change: cached graphs are rebuilt


class NodeKind(IntEnum):
    CORNER = 0  # a concave corner of the walkable area: where taut paths bend
    PORTAL = 1  # in front of a door, on one side
    VERTICAL = 2  # the foot or head of a stair/ramp, or a lift landing
    OUTSIDE = 3  # just outside an exit door


class EdgeKind(IntEnum):
    WALK = 0  # a straight walk inside one walkable region
    DOOR = 1  # through a door between two rooms
    STAIR = 2
    RAMP = 3
    ELEVATOR = 4
    EXIT = 5  # through an exit door to the outside


@dataclass(frozen=True)
class Crossing:
    """A door, stair, ramp or lift that edges pass through."""

    guid: str
    kind: str  # door, exit, stair, ramp, elevator
    name: str
    width: float  # clear width (m); inf where the model gives none (lifts, stairs)
    storeys: tuple[str, ...]


@dataclass(frozen=True)
class Region:
    """One walkable area of a storey: a room, or rooms of one open hall joined by virtual boundaries."""

    index: int
    storey: str
    elevation: float
    spaces: tuple[str, ...]
    walkable: BaseGeometry  # the floor less obstacles, shrunk by the walker's clearance


@dataclass(frozen=True)
class StoreyInfo:
    guid: str
    name: str
    elevation: float


@dataclass
class NavGraph:
    """Nodes, edges and what they stand for; see the module docstring."""

    source: str
    file_hash: str
    storeys: tuple[StoreyInfo, ...]
    regions: tuple[Region, ...]
    crossings: tuple[Crossing, ...]
    node_xy: np.ndarray  # (N, 2)
    node_z: np.ndarray  # (N,) floor elevation
    node_region: np.ndarray  # (N,) region index, -1 outside
    node_kind: np.ndarray  # (N,) NodeKind
    node_crossing: np.ndarray  # (N,) crossing index for portals/vertical/outside nodes, -1 otherwise
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray  # metres walked (along the slope on stairs and ramps; the lift's travel)
    edge_kind: np.ndarray  # EdgeKind
    edge_crossing: np.ndarray  # crossing index, -1 for walks
    # Which spaces each edge runs through and for how long: rows (edge, space index, metres).
    incidence_edge: np.ndarray
    incidence_space: np.ndarray
    incidence_length: np.ndarray
    space_guids: tuple[str, ...]
    space_region: dict[str, int]
    space_plans: dict[str, BaseGeometry] = field(repr=False)
    notes: tuple[str, ...] = ()  # what the builder could not use, and why
    version: int = GRAPH_VERSION

    @property
    def node_count(self) -> int:
        return int(len(self.node_xy))

    @property
    def edge_count(self) -> int:
        return int(len(self.edge_u))

    def storey(self, guid: str) -> StoreyInfo | None:
        return next((s for s in self.storeys if s.guid == guid), None)

    def exit_nodes(self) -> np.ndarray:
        return np.flatnonzero(self.node_kind == NodeKind.OUTSIDE)

    def region_nodes(self, region: int) -> np.ndarray:
        return np.flatnonzero(self.node_region == region)
