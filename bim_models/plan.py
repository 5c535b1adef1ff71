"""Walls, doorways and open boundaries derived from the floor plans in layout.py.

Each wall runs along one edge between two spaces (or a space and the outside / a shaft). Doors and gaps cut
that wall: the wall keeps solid pieces beside the doorway and a lintel above it, so a door really stands in
a hole of the wall between the spaces it joins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bim_models.layout import (
    BUILDING_X,
    BUILDING_Y,
    DOORS,
    EXTERIOR_WALL,
    GAPS,
    INTERIOR_WALL,
    OPEN_BOUNDARIES,
    SPACE_BY_CODE,
    SPACES,
    Door,
    Side,
    Space,
)

EPS = 1e-6
DOOR_MARGIN = 0.3  # a doorway keeps this much solid wall to the ends of its edge


@dataclass(frozen=True, slots=True)
class Edge:
    """A straight stretch of boundary: along x (``horizontal``: y = ``line``) or along y (x = ``line``)."""

    storey: str
    horizontal: bool
    line: float
    lo: float
    hi: float
    spaces: tuple[str, str | None]  # (space, neighbour); None: outside or a shaft; "": no space (shaft side)

    @property
    def key(self) -> str:
        first, other = self.spaces[0] or "SHAFT", self.spaces[1] or "OUT"
        return f"{self.storey}:{first}|{other}|{'h' if self.horizontal else 'v'}{self.line:g}:{self.lo:g}"

    @property
    def exterior(self) -> bool:
        if self.spaces[1] is not None:
            return False
        outline = (0.0, BUILDING_Y) if self.horizontal else (0.0, BUILDING_X)
        return any(abs(self.line - edge) < EPS for edge in outline)

    @property
    def open(self) -> bool:
        return self.spaces[1] is not None and frozenset(self.spaces) in _OPEN

    @property
    def thickness(self) -> float:
        return EXTERIOR_WALL if self.exterior else INTERIOR_WALL

    def point(self, along: float) -> tuple[float, float]:
        return (along, self.line) if self.horizontal else (self.line, along)

    @property
    def midpoint(self) -> tuple[float, float]:
        return self.point((self.lo + self.hi) / 2)


@dataclass(frozen=True, slots=True)
class Opening:
    """A doorway cut into ``edge``: a door (``door`` set) or a gap without a leaf."""

    key: str
    edge: Edge
    at: float
    width: float
    height: float
    door: Door | None


_OPEN = {frozenset(pair) for pair in OPEN_BOUNDARIES}


def _overlap(a0: float, a1: float, b0: float, b1: float) -> tuple[float, float] | None:
    lo, hi = max(a0, b0), min(a1, b1)
    return (lo, hi) if hi - lo > EPS else None


def _subtract(lo: float, hi: float, cuts: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    pieces = [(lo, hi)]
    for c0, c1 in sorted(cuts):
        pieces = [p for a, b in pieces for p in ((a, min(b, c0)), (max(a, c1), b)) if p[1] - p[0] > EPS]
    return pieces


def _side_of(space: Space, side: Side) -> tuple[bool, float, float, float]:
    """(horizontal, line, lo, hi) of one side of a space."""
    r = space.rect
    return {
        "S": (True, r.y0, r.x0, r.x1),
        "N": (True, r.y1, r.x0, r.x1),
        "W": (False, r.x0, r.y0, r.y1),
        "E": (False, r.x1, r.y0, r.y1),
    }[side]


def shared_edge(a: Space, b: Space) -> Edge | None:
    """The boundary two spaces of one storey share, if any."""
    if a.storey != b.storey:
        return None
    ra, rb = a.rect, b.rect
    for line_a, line_b, horizontal in ((ra.x1, rb.x0, False), (ra.x0, rb.x1, False)):
        if abs(line_a - line_b) < EPS and (span := _overlap(ra.y0, ra.y1, rb.y0, rb.y1)):
            return Edge(a.storey, horizontal, line_a, *span, (a.code, b.code))
    for line_a, line_b in ((ra.y1, rb.y0), (ra.y0, rb.y1)):
        if abs(line_a - line_b) < EPS and (span := _overlap(ra.x0, ra.x1, rb.x0, rb.x1)):
            return Edge(a.storey, True, line_a, *span, (a.code, b.code))
    return None


def edges() -> list[Edge]:
    """Every boundary stretch of every storey, each once, in a stable order."""
    result: list[Edge] = []
    for i, a in enumerate(SPACES):
        for b in SPACES[i + 1 :]:
            if (edge := shared_edge(a, b)) is not None:
                result.append(edge)
    for space in SPACES:
        for side in ("S", "N", "W", "E"):
            horizontal, line, lo, hi = _side_of(space, side)
            covered = [
                (e.lo, e.hi)
                for e in result
                if space.code in e.spaces and e.horizontal == horizontal and abs(e.line - line) < EPS
            ]
            for piece in _subtract(lo, hi, covered):
                result.append(Edge(space.storey, horizontal, line, *piece, (space.code, None)))
    result += _uncovered_outline(result)
    return result


def _uncovered_outline(found: list[Edge]) -> list[Edge]:
    """Outer wall where no space meets the outline (the lift shaft), so the envelope stays closed."""
    result: list[Edge] = []
    storeys = sorted({space.storey for space in SPACES})
    sides = ((True, 0.0, BUILDING_X), (True, BUILDING_Y, BUILDING_X), (False, 0.0, BUILDING_Y),
             (False, BUILDING_X, BUILDING_Y))  # fmt: skip
    for storey in storeys:
        for horizontal, line, length in sides:
            covered = [
                (e.lo, e.hi)
                for e in found
                if e.storey == storey and e.horizontal == horizontal and abs(e.line - line) < EPS
            ]
            for piece in _subtract(0.0, length, covered):
                result.append(Edge(storey, horizontal, line, *piece, ("", None)))
    return result


def doorway_edge(space: str, other: str | None, side: Side | None, at: float, width: float, what: str) -> Edge:
    """The wall edge a doorway of ``width`` centred at ``at`` cuts; ValueError naming ``what`` if it cannot."""
    here = SPACE_BY_CODE[space]
    if other is not None:
        edge = shared_edge(here, SPACE_BY_CODE[other])
        if edge is None:
            raise ValueError(f"{what}: {space} and {other} share no wall")
    else:
        if side is None:
            raise ValueError(f"{what}: a doorway to the outside needs side:")
        horizontal, line, _, _ = _side_of(here, side)
        candidates = [
            e
            for e in edges()
            if e.spaces == (space, None) and e.horizontal == horizontal and abs(e.line - line) < EPS
            and e.lo <= at <= e.hi
        ]  # fmt: skip
        if not candidates:
            raise ValueError(f"{what}: no outer wall of {space} on side {side} at {at}")
        edge = candidates[0]
    if not edge.lo + width / 2 + DOOR_MARGIN <= at <= edge.hi - width / 2 - DOOR_MARGIN:
        raise ValueError(f"{what}: a {width} m doorway at {at} does not fit the wall {edge.lo}-{edge.hi}")
    if edge.open:
        raise ValueError(f"{what}: {space} and {other} are open to each other; a door there has no wall")
    return edge


def openings() -> list[Opening]:
    """Every door and gap with the wall edge it cuts."""
    result = [
        Opening(d.key, doorway_edge(d.space, d.other, d.side, d.at, d.width, f"door {d.key}"), d.at, d.width,
                d.height, d)
        for d in DOORS
    ]  # fmt: skip
    result += [
        Opening(
            g.key, doorway_edge(g.space, None, g.side, g.at, g.width, f"gap {g.key}"), g.at, g.width, g.height, None
        )
        for g in GAPS
    ]
    return result


def same_edge(a: Edge, b: Edge) -> bool:
    return (
        a.storey == b.storey
        and a.horizontal == b.horizontal
        and abs(a.line - b.line) < EPS
        and frozenset(a.spaces) == frozenset(b.spaces)
        and _overlap(a.lo, a.hi, b.lo, b.hi) is not None
    )


def wall_pieces(edge: Edge, cuts: list[Opening]) -> list[tuple[float, float]]:
    """Solid stretches of the wall along ``edge``, lengthened by half a wall at each end to close corners."""
    extend = edge.thickness / 2
    holes = [(c.at - c.width / 2, c.at + c.width / 2) for c in cuts]
    return _subtract(edge.lo - extend, edge.hi + extend, holes)
