"""Build the NavGraph of an IFC file: one tessellation pass feeds both the IfcIndex and the walkable regions."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely import STRtree

from twin.bim import IfcIndex
from twin.bim.geometry import tessellate
from twin.bim.ifc_file import open_ifc
from twin.bim.index_builder import connector_groups, index_elements
from twin.nav.graph import Crossing, EdgeKind, NavGraph, NodeKind, Region, StoreyInfo
from twin.nav.obstacles import obstacle_elements
from twin.nav.portals import door_lanes
from twin.nav.regions import build_regions, open_adjacencies, touching_pairs, wall_elements
from twin.nav.vertical import KINDS, connector_bodies, landings, travel_length
from twin.nav.visibility import grazing, reflex_corners, visible_pairs

log = logging.getLogger(__name__)
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Built:
    """What one build produced: the index of the model and its navigation graph."""

    index: IfcIndex
    graph: NavGraph
    seconds: float


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Nodes:
    """Growing node and edge lists."""

    def __init__(self) -> None:
        self.xy: list[tuple[float, float]] = []
        self.z: list[float] = []
        self.region: list[int] = []
        self.kind: list[int] = []
        self.crossing: list[int] = []
        self.edges: list[tuple[int, int, float, int, int]] = []

    def add(self, xy: tuple[float, float], z: float, region: int, kind: NodeKind, crossing: int = -1) -> int:
        self.xy.append((float(xy[0]), float(xy[1])))
        self.z.append(z)
        self.region.append(region)
        self.kind.append(int(kind))
        self.crossing.append(crossing)
        return len(self.xy) - 1

    def link(self, u: int, v: int, length: float, kind: EdgeKind, crossing: int = -1) -> None:
        self.edges.append((u, v, max(float(length), 1e-6), int(kind), crossing))


def build(path: str | Path) -> Built:
    """Read ``path`` and build its index and navigation graph (blocking: seconds; run it off the event loop)."""
    started = time.perf_counter()
    path = Path(path)
    opened = open_ifc(path)
    obstacles = obstacle_elements(opened.file)
    meshes = tessellate(opened.file, [*index_elements(opened.file), *obstacles])
    index = IfcIndex.build(opened, meshes)
    notes: list[str] = []
    touching = touching_pairs(index)
    open_pairs: list[tuple[str, str]] = []
    if touching:  # walls are tessellated only when rooms touch: their footprints tell open stretches from walls
        walls = wall_elements(opened.file)
        wall_meshes = tessellate(opened.file, walls)
        blockers = [w.GlobalId for w in walls] + [d.guid for d in index.doors]
        open_pairs = open_adjacencies(index, touching, {**meshes, **wall_meshes}, blockers)
    regions, region_notes = build_regions(index, opened.file, meshes, [o.GlobalId for o in obstacles], open_pairs)
    notes += region_notes
    space_region = {guid: region.index for region in regions for guid in region.spaces}
    nodes = _Nodes()
    crossings: list[Crossing] = []
    elevation = {r.index: r.elevation for r in regions}

    for door in index.doors:
        plans = {guid: index.plan(guid) for guid in door.spaces}
        lanes = door_lanes(door, plans, regions, space_region, notes)
        if not lanes:
            continue
        kind = "exit" if door.is_exit and len(door.spaces) == 1 else "door"
        crossing = len(crossings)
        crossings.append(Crossing(door.guid, kind, door.name, door.width, (door.storey or "",)))
        z = elevation[next(lane.region_a for lane in lanes)]
        for lane in lanes:
            a = nodes.add(lane.a, z, lane.region_a, NodeKind.PORTAL if lane.region_a >= 0 else NodeKind.OUTSIDE,
                          crossing)
            b = nodes.add(lane.b, z, lane.region_b, NodeKind.PORTAL if lane.region_b >= 0 else NodeKind.OUTSIDE,
                          crossing)
            length = float(np.hypot(lane.a[0] - lane.b[0], lane.a[1] - lane.b[1]))
            nodes.link(a, b, length, EdgeKind.EXIT if kind == "exit" else EdgeKind.DOOR, crossing)

    parts = {g.element.GlobalId: [g.element.GlobalId, *(p.GlobalId for p in g.parts)]
             for groups in connector_groups(opened.file).values() for g in groups}
    for group_name, connectors in (("stairs", index.stairs), ("ramps", index.ramps), ("elevators", index.elevators)):
        edge_kind = KINDS[group_name]
        for connector in connectors:
            if len(connector.storeys) < 2:
                continue  # a ramp to the forecourt joins one storey to the outside, not two storeys
            found = landings(index, connector, edge_kind, connector_bodies(parts, meshes, connector.guid),
                             regions, notes)
            if len(found) < 2:
                continue
            crossing = len(crossings)
            kind_name = {EdgeKind.STAIR: "stair", EdgeKind.RAMP: "ramp", EdgeKind.ELEVATOR: "elevator"}[edge_kind]
            crossings.append(Crossing(connector.guid, kind_name, connector.name, float("inf"), connector.storeys))
            ids = [nodes.add(f.point, f.elevation, f.region, NodeKind.VERTICAL, crossing) for f in found]
            for (lower, a), (upper, b) in zip(zip(found, ids, strict=True), list(zip(found, ids, strict=True))[1:],
                                              strict=False):
                nodes.link(a, b, travel_length(edge_kind, lower, upper), edge_kind, crossing)

    for region in regions:
        if region.walkable.is_empty:
            continue
        for corner in reflex_corners(region.walkable):
            nodes.add((float(corner[0]), float(corner[1])), region.elevation, region.index, NodeKind.CORNER)

    xy = np.asarray(nodes.xy, dtype=float).reshape(-1, 2)
    node_region = np.asarray(nodes.region, dtype=np.int64)
    for region in regions:
        members = np.flatnonzero(node_region == region.index)
        if len(members) < 2:
            continue
        i, j = visible_pairs(grazing(region.walkable), xy[members])
        for a, b in zip(members[i], members[j], strict=True):
            nodes.link(int(a), int(b), float(np.hypot(*(xy[a] - xy[b]))), EdgeKind.WALK)

    edges = _unique(np.asarray(nodes.edges, dtype=float).reshape(-1, 5))
    space_guids = tuple(s.guid for s in index.spaces)
    incidence = _incidence(index, regions, xy, np.asarray(nodes.z), edges, space_guids)
    graph = NavGraph(
        source=str(path),
        file_hash=file_hash(path),
        storeys=tuple(StoreyInfo(s.guid, s.name, s.elevation) for s in index.storeys),
        regions=tuple(regions),
        crossings=tuple(crossings),
        node_xy=xy,
        node_z=np.asarray(nodes.z, dtype=float),
        node_region=node_region,
        node_kind=np.asarray(nodes.kind, dtype=np.int8),
        node_crossing=np.asarray(nodes.crossing, dtype=np.int64),
        edge_u=edges[:, 0].astype(np.int64),
        edge_v=edges[:, 1].astype(np.int64),
        edge_length=edges[:, 2],
        edge_kind=edges[:, 3].astype(np.int8),
        edge_crossing=edges[:, 4].astype(np.int64),
        incidence_edge=incidence[0],
        incidence_space=incidence[1],
        incidence_length=incidence[2],
        space_guids=space_guids,
        space_region=space_region,
        space_plans={s.guid: index.plan(s.guid) for s in index.spaces},
        notes=tuple(notes),
    )
    seconds = time.perf_counter() - started
    log.info("navigation graph of %s: %d nodes, %d edges, %d regions in %.2f s", path.name, graph.node_count,
             graph.edge_count, len(regions), seconds)
    return Built(index, graph, seconds)


def _unique(edges: np.ndarray) -> np.ndarray:
    """One edge per node pair (the shortest): scipy would add duplicate entries of a sparse matrix together."""
    if len(edges) == 0:
        return edges
    lo = np.minimum(edges[:, 0], edges[:, 1])
    hi = np.maximum(edges[:, 0], edges[:, 1])
    edges = np.column_stack([lo, hi, edges[:, 2:]])
    order = np.lexsort((edges[:, 2], hi, lo))
    edges = edges[order]
    first = np.ones(len(edges), dtype=bool)
    first[1:] = (edges[1:, 0] != edges[:-1, 0]) | (edges[1:, 1] != edges[:-1, 1])
    return edges[first]


def _incidence(
    index: IfcIndex, regions: list[Region], xy: np.ndarray, z: np.ndarray, edges: np.ndarray,
    space_guids: tuple[str, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(edge, space, metres inside it) for every planar edge and space it crosses on its own storey; vertical
    edges count half their length in the space at each end."""
    if len(edges) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    plans = [index.plan(g) for g in space_guids]
    space_z = np.asarray([index.space(g).floor_elevation for g in space_guids])  # type: ignore[union-attr]
    u, v = edges[:, 0].astype(np.int64), edges[:, 1].astype(np.int64)
    kind = edges[:, 3].astype(np.int64)
    planar = ~np.isin(kind, [EdgeKind.STAIR, EdgeKind.RAMP, EdgeKind.ELEVATOR])
    rows_e: list[np.ndarray] = []
    rows_s: list[np.ndarray] = []
    rows_l: list[np.ndarray] = []
    flat = np.flatnonzero(planar)
    lines = shapely.linestrings(np.stack([xy[u[flat]], xy[v[flat]]], axis=1))
    tree = STRtree(plans)
    line_i, space_i = tree.query(lines, predicate="intersects")
    same_level = np.abs(space_z[space_i] - z[u[flat[line_i]]]) < 1.0
    line_i, space_i = line_i[same_level], space_i[same_level]
    lengths = shapely.length(shapely.intersection(lines[line_i], np.asarray(plans, dtype=object)[space_i]))
    rows_e.append(flat[line_i])
    rows_s.append(space_i)
    rows_l.append(lengths)
    vertical = np.flatnonzero(~planar)
    for end in (u, v):
        points = shapely.points(xy[end[vertical]])
        p_i, s_i = tree.query(points, predicate="dwithin", distance=1.0)
        keep = np.abs(space_z[s_i] - z[end[vertical[p_i]]]) < 1.0
        p_i, s_i = p_i[keep], s_i[keep]
        _, first = np.unique(p_i, return_index=True)  # one space per landing
        rows_e.append(vertical[p_i[first]])
        rows_s.append(s_i[first])
        rows_l.append(edges[vertical[p_i[first]], 2] / 2)
    return (np.concatenate(rows_e).astype(np.int64), np.concatenate(rows_s).astype(np.int64),
            np.concatenate(rows_l).astype(float))
