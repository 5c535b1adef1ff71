"""`halltwin nav-report`: graph size, exits, storeys joined, what was guessed, and every room that cannot be
reached from an exit (with the reason)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from twin.nav.builder import Built
from twin.nav.costs import base_seconds
from twin.nav.graph import EdgeKind
from twin.nav.modes import Mode


def report(built: Built) -> dict[str, Any]:
    """Everything the report prints, as JSON."""
    graph, index = built.graph, built.index
    storey_names = {s.guid: s.name for s in graph.storeys}
    joined = [
        {"guid": c.guid, "kind": c.kind, "name": c.name, "storeys": [storey_names.get(s, s) for s in c.storeys]}
        for c in graph.crossings if c.kind in ("stair", "ramp", "elevator")
    ]  # fmt: skip
    exits = [{"guid": d.guid, "name": d.name, "width_m": d.width, "source": d.exit_source}
             for d in index.doors if d.is_exit]
    unreachable = []
    for mode in (Mode.WALK, Mode.ACCESSIBLE):
        labels = _components(built, mode)
        exit_nodes = graph.exit_nodes()
        reachable = set(labels[exit_nodes].tolist())
        for space in index.spaces:
            region = graph.space_region.get(space.guid, -1)
            nodes = graph.region_nodes(region) if region >= 0 else np.zeros(0, dtype=np.int64)
            if len(nodes) == 0:
                reason = "no walkable floor (too narrow or filled by furniture)"
            elif not index.doors_of(space.guid) and len(graph.regions[region].spaces) == 1 and not any(
                    graph.node_kind[nodes] == 2):
                reason = "no door, stair or lift opens into it in the model"
            elif not exit_nodes.size:
                reason = "the model has no exit door"
            elif not reachable & set(labels[nodes].tolist()):
                reason = ("only stairs or doors narrower than 0.80 m lead to it" if mode == Mode.ACCESSIBLE
                          else "its doors lead only to rooms that are not connected to an exit")
            else:
                continue
            unreachable.append({"guid": space.guid, "name": space.name, "long_name": space.long_name,
                                "mode": mode.value, "reason": reason})
    return {
        "source": graph.source,
        "build_s": round(built.seconds, 2),
        "nodes": graph.node_count,
        "edges": graph.edge_count,
        "regions": len(graph.regions),
        "doors": sum(1 for c in graph.crossings if c.kind == "door"),
        "exits": exits,
        "storeys": [{"guid": s.guid, "name": s.name, "elevation": s.elevation} for s in graph.storeys],
        "joined_by": joined,
        "guesses": [{"kind": g.kind, "guid": g.guid, "name": g.name, "detail": g.detail} for g in index.guesses],
        "notes": list(graph.notes),
        "unreachable": unreachable,
    }


def _components(built: Built, mode: Mode) -> np.ndarray:
    graph = built.graph
    usable = np.isfinite(base_seconds(graph, mode))
    n = graph.node_count
    matrix = csr_matrix((np.ones(int(usable.sum())), (graph.edge_u[usable], graph.edge_v[usable])), shape=(n, n))
    _, labels = connected_components(matrix, directed=False)
    return np.asarray(labels)


def format_report(data: dict[str, Any]) -> str:
    """The report as text for a terminal."""
    lines = [
        f"model      {data['source']}",
        f"graph      {data['nodes']} nodes, {data['edges']} edges, {data['regions']} walkable regions, "
        f"{data['doors']} doors (built in {data['build_s']} s)",
        f"storeys    {', '.join(s['name'] for s in data['storeys'])}",
    ]
    for item in data["joined_by"]:
        lines.append(f"  {item['kind']:<9} {item['name'] or item['guid']}: {' - '.join(item['storeys'])}")
    if not data["joined_by"] and len(data["storeys"]) > 1:
        lines.append("  no stair, ramp or lift joins the storeys")
    lines.append(f"exits      {len(data['exits'])}")
    for item in data["exits"]:
        how = "IsExternal" if item["source"] == "pset" else "guessed from geometry"
        lines.append(f"  {item['name'] or item['guid']} ({item['width_m']:.2f} m, {how})")
    lines.append(f"guesses    {len(data['guesses'])}")
    for item in data["guesses"]:
        lines.append(f"  {item['kind']}: {item['name'] or item['guid']}: {item['detail']}")
    for note in data["notes"]:
        lines.append(f"note       {note}")
    lines.append(f"unreachable from an exit: {len(data['unreachable'])}")
    for item in data["unreachable"]:
        lines.append(f"  [{item['mode']}] {item['name']} {item['long_name'] or ''}: {item['reason']}")
    return "\n".join(lines)


__all__ = ["EdgeKind", "format_report", "report"]
