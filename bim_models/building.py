"""The building part of the demo hall IFC: storeys, spaces, walls, slabs, doors, windows, stairs, lift, ramp, furniture.

Doors and windows stand in holes the walls are built with (solid pieces beside them, a lintel above and, for a
window, a sill below), rather than in IfcOpeningElements the exporter would subtract: the same look, no boolean
operations when the model is converted for the viewer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bim_models.devices import pa_zone_of_space
from bim_models.hall_model import PSET, HallModel
from bim_models.ifc_geometry import Entity
from bim_models.layout import (
    BUILDING_X,
    BUILDING_Y,
    COUNTER_SIZE,
    EXTERIOR_WALL,
    FURNITURE,
    GLAZING_HEIGHTS,
    GLAZING_HIGH_STRIP,
    GLAZING_MARGIN,
    GLAZING_NONE_ZONES,
    GLAZING_PIER,
    GLAZING_PRIVATE_ZONES,
    GLAZING_WIDTH,
    LIFT_CAR,
    LIFT_SHAFT,
    RAMP,
    RAMP_RISE,
    SLAB,
    SPACE_BY_CODE,
    SPACES,
    STAIRS,
    STOREY_BY_CODE,
    STOREYS,
    WINDOWS,
    Rect,
    Stair,
)
from bim_models.plan import EPS, Edge, Opening, edges, openings, same_edge, wall_pieces

WINDOW_KIND_NAMES = {
    "integrated": ("综合窗口", "Integrated window"),
    "domain": ("专业窗口", "Domain window"),
    "cross_province": ("跨省通办窗口", "Cross-province window"),
    "pickup": ("取件窗口", "Result pick-up window"),
}


class BuildingParts:
    """Entities later steps need: storeys and spaces by code."""

    def __init__(self) -> None:
        self.storeys: dict[str, Entity] = {}
        self.spaces: dict[str, Entity] = {}


def build_structure(hall: HallModel) -> BuildingParts:
    parts = BuildingParts()
    site = hall.create("IfcSite", "site", "演示场地 / Demo site")
    building = hall.create("IfcBuilding", "building", "市民服务中心 / City service centre")
    hall.aggregate([site], hall.project)
    hall.aggregate([building], site)
    hall.geometry.place(site, 0, 0, 0)
    hall.geometry.place(building, 0, 0, 0)
    for storey in STOREYS:
        entity = hall.create("IfcBuildingStorey", f"storey:{storey.code}", storey.code)
        entity.LongName = f"{storey.name_zh} / {storey.name_en}"
        entity.Elevation = storey.elevation
        hall.aggregate([entity], building)
        hall.geometry.place(entity, 0, 0, storey.elevation)
        parts.storeys[storey.code] = entity
    for space in SPACES:
        storey = STOREY_BY_CODE[space.storey]
        entity = hall.create("IfcSpace", f"space:{space.code}", space.code, "SPACE")
        entity.LongName = space.long_name
        hall.aggregate([entity], parts.storeys[space.storey])
        r = space.rect
        hall.geometry.place(entity, r.x0, r.y0, storey.elevation)
        hall.geometry.set_body(entity, [hall.geometry.box(0, 0, r.x1 - r.x0, r.y1 - r.y0, 0, storey.clear_height)])
        pa = pa_zone_of_space(space.code)
        hall.pset(entity, PSET, {
            "ZoneType": space.zone_type.value, "NameZh": space.name_zh, "NameEn": space.name_en,
            "PaZone": pa.id, "FireZone": pa.fire_zone,
        })  # fmt: skip
        parts.spaces[space.code] = entity
    return parts


@dataclass(frozen=True, slots=True)
class Glazing:
    """An exterior window: ``width`` centred at ``at`` along ``edge``, from ``sill`` to ``head`` above the floor."""

    key: str
    code: str  # e.g. 1F-ENT-S2: room, facade, number along it
    edge: Edge
    at: float
    width: float
    sill: float
    head: float

    def cut(self) -> Opening:
        """The hole it needs in the wall (wall_pieces and the lintel read ``at``, ``width`` and ``height``)."""
        return Opening(self.key, self.edge, self.at, self.width, self.head, None)


def _facade(edge: Edge) -> str:
    if edge.horizontal:
        return "S" if abs(edge.line) < EPS else "N"
    return "W" if abs(edge.line) < EPS else "E"


def glazing() -> list[Glazing]:
    """Windows along every outer wall of a room, evenly spaced between its corners and doorways."""
    doorways = openings()
    result: list[Glazing] = []
    for edge in edges():
        code = edge.spaces[0]
        if not edge.exterior or not code:  # inner walls and the lift shaft's own wall
            continue
        zone = SPACE_BY_CODE[code].zone_type
        if zone in GLAZING_NONE_ZONES:
            continue
        sill, head = GLAZING_HIGH_STRIP if zone in GLAZING_PRIVATE_ZONES else GLAZING_HEIGHTS[edge.storey]
        blocked = [
            (o.at - o.width / 2 - GLAZING_MARGIN, o.at + o.width / 2 + GLAZING_MARGIN)
            for o in doorways
            if same_edge(o.edge, edge)
        ]
        free = [(edge.lo + GLAZING_MARGIN, edge.hi - GLAZING_MARGIN)]
        for b0, b1 in sorted(blocked):
            free = [p for a, b in free for p in ((a, min(b, b0)), (max(a, b1), b)) if p[1] - p[0] >= GLAZING_WIDTH]
        number = 0
        for a, b in (p for p in free if p[1] - p[0] >= GLAZING_WIDTH):
            count = max(1, int((b - a + GLAZING_PIER + EPS) // (GLAZING_WIDTH + GLAZING_PIER)))
            pitch = (b - a) / count  # spread the windows over the whole stretch, equal piers
            for i in range(count):
                number += 1
                name = f"{code}-{_facade(edge)}{number}"
                at = round(a + pitch * (i + 0.5), 3)
                result.append(Glazing(f"glazing:{name}", name, edge, at, GLAZING_WIDTH, sill, head))
    return result


def build_walls_and_doors(hall: HallModel, parts: BuildingParts) -> None:
    """Walls along every closed edge, doors and windows in their gaps, virtual elements along open edges."""
    all_openings = openings()
    windows = glazing()
    for edge in edges():
        storey = STOREY_BY_CODE[edge.storey]
        if edge.open:
            _virtual_boundary(hall, parts, edge)
            continue
        cuts = [o for o in all_openings if same_edge(o.edge, edge) and edge.lo <= o.at <= edge.hi]
        glazed = [w for w in windows if w.edge == edge]
        cuts += [w.cut() for w in glazed]
        wall = hall.create(
            "IfcWall", f"wall:{edge.key}", _wall_name(edge), "PARTITIONING" if not edge.exterior else "SOLIDWALL"
        )
        hall.contain([wall], parts.storeys[edge.storey])
        x, y = edge.point(edge.lo)
        hall.geometry.place(wall, x, y, storey.elevation, 0.0 if edge.horizontal else 90.0)
        half = edge.thickness / 2
        height = storey.clear_height
        items = [
            hall.geometry.box(a - edge.lo, -half, b - edge.lo, half, 0, height) for a, b in wall_pieces(edge, cuts)
        ]
        for cut in cuts:  # the lintel over each doorway and window
            a, b = cut.at - cut.width / 2 - edge.lo, cut.at + cut.width / 2 - edge.lo
            items.append(hall.geometry.box(a, -half, b, half, cut.height, height - cut.height))
        for window in glazed:  # and the parapet under each window
            a, b = window.at - window.width / 2 - edge.lo, window.at + window.width / 2 - edge.lo
            items.append(hall.geometry.box(a, -half, b, half, 0, window.sill))
        hall.geometry.set_body(wall, items)
        hall.pset(wall, "Pset_WallCommon", {"IsExternal": edge.exterior, "LoadBearing": edge.exterior})
        for code in edge.spaces:
            if code:
                hall.boundary(parts.spaces[code], wall, external=edge.exterior)
    for opening in all_openings:
        if opening.door is not None:
            _door(hall, parts, opening)
    for window in windows:
        _window(hall, parts, window)


def _window(hall: HallModel, parts: BuildingParts, window: Glazing) -> None:
    edge = window.edge
    storey = STOREY_BY_CODE[edge.storey]
    code = window.code
    entity = hall.create("IfcWindow", window.key, f"外窗 {code} / Exterior window {code}", "WINDOW")
    entity.OverallWidth = window.width
    entity.OverallHeight = round(window.head - window.sill, 3)
    entity.PartitioningType = "DOUBLE_PANEL_VERTICAL"
    hall.contain([entity], parts.storeys[edge.storey])
    x, y = edge.point(window.at)
    hall.geometry.place(entity, x, y, storey.elevation, 0.0 if edge.horizontal else 90.0)
    w = window.width / 2
    frame, pane = 0.06, 0.02
    sill, head = window.sill, window.head
    hall.geometry.set_body(entity, [
        hall.geometry.box(-w, -frame, w, frame, sill, frame),  # bottom rail
        hall.geometry.box(-w, -frame, w, frame, head - frame, frame),  # top rail
        hall.geometry.box(-w, -frame, -w + frame, frame, sill, head - sill),  # jambs and the middle mullion
        hall.geometry.box(w - frame, -frame, w, frame, sill, head - sill),
        hall.geometry.box(-frame / 2, -frame, frame / 2, frame, sill, head - sill),
        hall.geometry.box(-w, -pane, w, pane, sill, head - sill),  # the glass
    ])  # fmt: skip
    hall.pset(entity, "Pset_WindowCommon", {"IsExternal": True})
    hall.boundary(parts.spaces[edge.spaces[0]], entity, external=True)


def _wall_name(edge: Edge) -> str:
    a, b = edge.spaces
    return f"{a} | {b}" if b else f"{a or 'shaft'} | {'outside' if edge.exterior else 'shaft'}"


def _virtual_boundary(hall: HallModel, parts: BuildingParts, edge: Edge) -> None:
    element = hall.create("IfcVirtualElement", f"virtual:{edge.key}", f"{edge.spaces[0]} ~ {edge.spaces[1]}")
    element.Description = "Open boundary between two zones of one hall"
    hall.contain([element], parts.storeys[edge.storey])
    x, y = edge.midpoint
    hall.geometry.place(element, x, y, STOREY_BY_CODE[edge.storey].elevation, 0.0 if edge.horizontal else 90.0)
    hall.pset(element, PSET, {"Length": round(edge.hi - edge.lo, 3)})
    for code in edge.spaces:
        if code is not None:
            hall.boundary(parts.spaces[code], element, virtual=True)


def _door(hall: HallModel, parts: BuildingParts, opening: Opening) -> None:
    door_spec = opening.door
    assert door_spec is not None
    edge = opening.edge
    storey = STOREY_BY_CODE[edge.storey]
    other = door_spec.other or "outside"
    door = hall.create("IfcDoor", f"door:{door_spec.key}", f"{door_spec.space} > {other}", "DOOR")
    door.OverallWidth = door_spec.width
    door.OverallHeight = door_spec.height
    door.OperationType = "DOUBLE_DOOR_SINGLE_SWING" if door_spec.width >= 1.5 else "SINGLE_SWING_LEFT"
    hall.contain([door], parts.storeys[edge.storey])
    x, y = edge.point(opening.at)
    hall.geometry.place(door, x, y, storey.elevation, 0.0 if edge.horizontal else 90.0)
    w = door_spec.width / 2
    hall.geometry.set_body(door, [hall.geometry.box(-w, -0.05, w, 0.05, 0, door_spec.height)])
    external = door_spec.other is None
    hall.pset(door, "Pset_DoorCommon", {"FireExit": door_spec.exit, "IsExternal": external})
    twin_props: dict[str, object] = {"AccessControlled": door_spec.access_no is not None}
    if door_spec.access_no is not None:
        twin_props["AccessDoorNo"] = door_spec.access_no
    hall.pset(door, PSET, twin_props)
    hall.boundary(parts.spaces[door_spec.space], door, external=external)
    if door_spec.other is not None:
        hall.boundary(parts.spaces[door_spec.other], door)


def _rect_points(r: Rect) -> list[tuple[float, float]]:
    return [(r.x0, r.y0), (r.x1, r.y0), (r.x1, r.y1), (r.x0, r.y1)]


def build_slabs(hall: HallModel, parts: BuildingParts) -> None:
    """A ground slab, the 2F floor slab with holes for the stairs and the lift shaft, and the roof."""
    e = EXTERIOR_WALL / 2
    outline = _rect_points(Rect(-e, -e, BUILDING_X + e, BUILDING_Y + e))
    voids = [_rect_points(stair.footprint) for stair in STAIRS] + [_rect_points(LIFT_SHAFT)]
    top = STOREYS[-1]
    slabs = [
        ("slab:1F", "一层地坪 / Ground slab", "FLOOR", STOREYS[0], -SLAB, []),
        ("slab:2F", "二层楼板 / 2F floor slab", "FLOOR", top, -SLAB, voids),
        ("slab:roof", "屋面板 / Roof slab", "ROOF", top, top.clear_height, []),
    ]
    for key, name, kind, storey, z0, holes in slabs:
        slab = hall.create("IfcSlab", key, name, kind)
        hall.contain([slab], parts.storeys[storey.code])
        hall.geometry.place(slab, 0, 0, storey.elevation)
        hall.geometry.set_body(slab, [hall.geometry.prism(outline, z0, SLAB, holes)])


def _flight_profile(stair: Stair, rise: float) -> list[tuple[float, float]]:
    """Side view of one flight: a saw-tooth top of treads and risers, a straight soffit underneath."""
    n, going = stair.risers_per_flight, stair.going
    points = [(0.0, 0.0)]
    for i in range(n):
        points += [(i * going, (i + 1) * rise), ((i + 1) * going, (i + 1) * rise)]
    points += [(n * going, n * rise - 0.25), (going, 0.0)]
    return points


def build_vertical_circulation(hall: HallModel, parts: BuildingParts) -> None:
    """Two stairs and the lift join 1F and 2F; the entrance ramp makes 1F step-free from the street."""
    lower, upper = STOREYS[0], STOREYS[1]
    for stair in STAIRS:
        element = hall.create("IfcStair", f"stair:{stair.key}", f"{stair.name_zh} / {stair.name_en}", "HALF_TURN_STAIR")
        hall.contain([element], parts.storeys[lower.code])
        hall.reference([element], parts.storeys[upper.code])
        hall.geometry.place(element, stair.x, stair.y, lower.elevation)
        half = lower.height / 2
        rise = half / stair.risers_per_flight
        run = stair.risers_per_flight * stair.going
        width = stair.flight_width
        profile = _flight_profile(stair, rise)
        items = [
            hall.geometry.side_profile(profile, (0, 0, 0), 1.0, width),
            hall.geometry.box(0, run, 2 * width + 0.2, run + stair.landing_depth, half - SLAB, SLAB),
            hall.geometry.side_profile(profile, (2 * width + 0.2, run, half), -1.0, width),
        ]
        hall.geometry.set_body(element, items)
        hall.pset(element, "Pset_StairCommon", {
            "NumberOfRiser": 2 * stair.risers_per_flight, "RiserHeight": round(rise, 4),
            "TreadLength": stair.going, "FireExit": True,
        })  # fmt: skip
        hall.pset(element, PSET, {"FromStorey": lower.code, "ToStorey": upper.code})
        hall.boundary(parts.spaces[stair.lower_space], element)
        hall.boundary(parts.spaces[stair.upper_space], element)

    lift = hall.create("IfcTransportElement", "lift:1", "无障碍电梯 / Accessible lift", "ELEVATOR")
    hall.contain([lift], parts.storeys[lower.code])
    hall.reference([lift], parts.storeys[upper.code])
    hall.geometry.place(lift, LIFT_CAR.x0, LIFT_CAR.y0, lower.elevation)
    travel = lower.height + upper.clear_height
    hall.geometry.set_body(
        lift, [hall.geometry.box(0, 0, LIFT_CAR.x1 - LIFT_CAR.x0, LIFT_CAR.y1 - LIFT_CAR.y0, 0, travel)]
    )
    hall.pset(lift, PSET, {"FromStorey": lower.code, "ToStorey": upper.code, "Accessible": True})
    for code in ("1F-LOBBY-W", "2F-LOBBY-W"):
        hall.boundary(parts.spaces[code], lift)

    ramp = hall.create("IfcRamp", "ramp:entrance", "无障碍坡道 / Accessible entrance ramp", "STRAIGHT_RUN_RAMP")
    hall.contain([ramp], parts.storeys[lower.code])
    hall.geometry.place(ramp, RAMP.x0, RAMP.y0, lower.elevation - RAMP_RISE)
    length = RAMP.y1 - RAMP.y0
    wedge = [(0.0, 0.0), (length, 0.0), (length, RAMP_RISE)]
    hall.geometry.set_body(ramp, [hall.geometry.side_profile(wedge, (0, 0, 0), 1.0, RAMP.x1 - RAMP.x0)])
    hall.pset(ramp, "Pset_RampCommon", {"IsExternal": True, "RequiredSlope": round(RAMP_RISE / length, 4)})
    hall.pset(ramp, PSET, {"Accessible": True})
    hall.boundary(parts.spaces["1F-ENT"], ramp, external=True)


def build_furniture(hall: HallModel, parts: BuildingParts) -> None:
    """Service counters (numbered windows of four kinds) and the hall's fixed furniture."""
    width, depth, height = COUNTER_SIZE
    placed: list[tuple[Entity, str, Rect, float]] = []  # entity, space, footprint, height
    for window in WINDOWS:
        zh, en = WINDOW_KIND_NAMES[window.kind]
        name = f"{window.number}号窗口 / Window {window.number}"
        counter = hall.create("IfcFurniture", f"window:{window.number}", name, "ServiceWindow")
        counter.Description = f"{zh} / {en}"
        props: dict[str, object] = {"WindowNo": window.number, "WindowKind": window.kind}
        if window.domain_zh:
            props |= {"DomainZh": window.domain_zh, "DomainEn": window.domain_en}
        hall.pset(counter, PSET, props)
        footprint = Rect(window.x - width / 2, window.y - depth / 2, window.x + width / 2, window.y + depth / 2)
        placed.append((counter, window.space, footprint, height))
    for item in FURNITURE:
        name = f"{item.name_zh} / {item.name_en}"
        furniture = hall.create("IfcFurniture", f"furniture:{item.key}", name, item.object_type)
        placed.append((furniture, item.space, item.rect, item.height))
    by_space: dict[str, list[Entity]] = defaultdict(list)
    for entity, code, _, _ in placed:
        by_space[code].append(entity)
    for code, items in by_space.items():
        hall.contain(items, parts.spaces[code])
    for entity, code, r, item_height in placed:
        elevation = STOREY_BY_CODE[code.split("-", 1)[0]].elevation
        hall.geometry.place(entity, r.x0, r.y0, elevation)
        hall.geometry.set_body(entity, [hall.geometry.box(0, 0, r.x1 - r.x0, r.y1 - r.y0, 0, item_height)])
