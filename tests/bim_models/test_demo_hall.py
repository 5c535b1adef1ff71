"""The demo hall IFC: reproducible, metric, the counts of EXPECTED, doors in wall gaps, every room reachable."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.geom
import ifcopenshell.util.element
import ifcopenshell.util.placement
import ifcopenshell.util.unit
import numpy as np
import pytest

from bim_models import demo_hall
from bim_models.hall_model import HallModel
from bim_models.plan import doorway_edge
from twin.site.model import ZoneType

Entity = ifcopenshell.entity_instance
# The zone types of HALL.md's reference hall (DB31/T 862 4.3, T/ZAS 6.6.2.3, 7.2.9).
HALL_ZONE_TYPES = {t for t in ZoneType if t not in (ZoneType.OTHER,)}
# How each device category must be written: class and predefined type (or ObjectType when USERDEFINED).
DEVICE_TYPES = {
    "power_meter": ("IfcFlowMeter", "ENERGYMETER"),
    "ups": ("IfcElectricFlowStorageDevice", "UPS"),
    "ac_unit": ("IfcUnitaryEquipment", "SPLITSYSTEM"),
    "precision_ac": ("IfcUnitaryEquipment", "AIRCONDITIONINGUNIT"),
    "temp_humidity": ("IfcSensor", "TEMPERATURESENSOR"),
    "temperature_sensor": ("IfcSensor", "TEMPERATURESENSOR"),
    "water_leak": ("IfcSensor", "MOISTURESENSOR"),
    "smoke_detector": ("IfcSensor", "SMOKESENSOR"),
    "fire_panel": ("IfcUnitaryControlElement", "ALARMPANEL"),
    "emergency_button": ("IfcAlarm", "EmergencyButton"),
    "access_controller": ("IfcController", "AccessController"),
    "environment_controller": ("IfcController", "EnvironmentController"),
    "people_counter": ("IfcSensor", "PeopleCounter"),
    "camera": ("IfcAudioVisualAppliance", "CAMERA"),
    "ip_speaker": ("IfcAudioVisualAppliance", "SPEAKER"),
    "queue_display": ("IfcAudioVisualAppliance", "DISPLAY"),
    "queue_system": ("IfcCommunicationsAppliance", "QueueSystem"),
    "kiosk": ("IfcCommunicationsAppliance", "GuidanceKiosk"),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_hall.build_demo_hall(tmp_path_factory.mktemp("hall") / "demo_hall.ifc")


@pytest.fixture(scope="module")
def model(built: Path) -> ifcopenshell.file:
    return ifcopenshell.open(str(built))


def _type(element: Entity) -> str:
    predefined = ifcopenshell.util.element.get_predefined_type(element)
    return str(predefined)


def _pset(element: Entity, name: str) -> dict[str, object]:
    return dict(ifcopenshell.util.element.get_pset(element, name) or {})


def _container(element: Entity) -> Entity:
    container = ifcopenshell.util.element.get_container(element)
    assert container is not None, element
    return container


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    timings = []
    for name in ("first.ifc", "second.ifc"):
        started = time.perf_counter()
        demo_hall.build_demo_hall(tmp_path / name)
        timings.append(time.perf_counter() - started)
    print(
        f"demo hall build: {timings[0]:.2f} s and {timings[1]:.2f} s, {(tmp_path / 'first.ifc').stat().st_size} bytes"
    )
    assert (tmp_path / "first.ifc").read_bytes() == (tmp_path / "second.ifc").read_bytes()
    assert not list(tmp_path.glob(".*.tmp")), "the atomic write left its temporary file"


def test_ifc4_in_metres_with_stable_ids(model: ifcopenshell.file) -> None:
    assert model.schema == "IFC4"
    assert ifcopenshell.util.unit.calculate_unit_scale(model) == 1.0
    guids = [e.GlobalId for e in model.by_type("IfcRoot")]
    assert len(guids) == len(set(guids))
    assert model.header.file_name.time_stamp == "2025-01-01T00:00:00+08:00"


def test_counts_match_expected(model: ifcopenshell.file) -> None:
    expected = demo_hall.EXPECTED
    assert len(model.by_type("IfcBuildingStorey")) == expected["storeys"] == 2
    assert len(model.by_type("IfcSpace")) == expected["spaces"]
    doors = model.by_type("IfcDoor")
    assert len(doors) == expected["doors"]
    exits = [d for d in doors if _pset(d, "Pset_DoorCommon").get("FireExit")]
    assert len(exits) == expected["exits"] >= 4
    access = [d for d in doors if _pset(d, "Pset_HallTwin").get("AccessControlled")]
    assert len(access) == expected["access_doors"] >= 4
    assert len(model.by_type("IfcStair")) == expected["stairs"] == 2
    assert len([t for t in model.by_type("IfcTransportElement") if _type(t) == "ELEVATOR"]) == expected["elevators"]
    assert len(model.by_type("IfcRamp")) == expected["ramps"]
    assert len(model.by_type("IfcVirtualElement")) == expected["open_boundaries"]
    zones = Counter(z.ObjectType for z in model.by_type("IfcZone"))
    assert zones == {"PAZone": expected["pa_zones"], "FireZone": expected["fire_zones"]}


def test_service_windows_are_numbered_of_four_kinds(model: ifcopenshell.file) -> None:
    counters = [f for f in model.by_type("IfcFurniture") if f.ObjectType == "ServiceWindow"]
    numbers = [int(str(_pset(c, "Pset_HallTwin")["WindowNo"])) for c in counters]
    assert len(counters) == demo_hall.EXPECTED["windows"] >= 24
    assert sorted(numbers) == list(range(1, len(counters) + 1))
    kinds = Counter(str(_pset(c, "Pset_HallTwin")["WindowKind"]) for c in counters)
    assert set(kinds) == {"integrated", "domain", "cross_province", "pickup"}
    assert all(kinds[k] == demo_hall.EXPECTED[f"windows.{k}"] for k in kinds)
    for counter in counters:
        space = _container(counter)
        assert space.is_a("IfcSpace")
        assert _pset(space, "Pset_HallTwin")["ZoneType"] == ZoneType.WINDOW_SERVICE


def test_spaces_carry_zone_types_and_names(model: ifcopenshell.file) -> None:
    by_storey: dict[str, set[str]] = defaultdict(set)
    for space in model.by_type("IfcSpace"):
        props = _pset(space, "Pset_HallTwin")
        zh, en = str(props["NameZh"]), str(props["NameEn"])
        assert space.LongName == f"{zh} / {en}" and space.Name.startswith(("1F-", "2F-"))
        by_storey[space.Name[:2]].add(str(props["ZoneType"]))
    used = by_storey["1F"] | by_storey["2F"]
    assert HALL_ZONE_TYPES <= used, HALL_ZONE_TYPES - used
    for types in by_storey.values():  # a waiting zone on every service floor, a weak-current room on every floor
        assert ZoneType.WINDOW_SERVICE in types and ZoneType.WAITING in types and ZoneType.WEAK_CURRENT in types


def test_every_device_category_present_and_contained_in_a_space(model: ifcopenshell.file) -> None:
    found: Counter[tuple[str, str]] = Counter()
    for element in model.by_type("IfcElement"):
        if element.is_a("IfcDistributionElement") or element.is_a("IfcEnergyConversionDevice"):
            found[(element.is_a(), _type(element))] += 1
            space = _container(element)
            assert space.is_a("IfcSpace"), element
            assert _pset(element, "Pset_HallTwin")["SiteRef"] == element.Tag
    wanted: Counter[tuple[str, str]] = Counter()
    for category, ifc_type in DEVICE_TYPES.items():
        count = demo_hall.EXPECTED[f"devices.{category}"]
        assert count > 0, category
        wanted[ifc_type] += count
    assert found == wanted
    spaces_with_smoke = {_container(s).Name for s in model.by_type("IfcSensor") if _type(s) == "SMOKESENSOR"}
    assert spaces_with_smoke == {s.Name for s in model.by_type("IfcSpace")}


def _z_range(element: Entity) -> tuple[float, float]:
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    shape: Any = ifcopenshell.geom.create_shape(settings, element)
    verts = np.array(shape.geometry.verts).reshape(-1, 3)
    return float(verts[:, 2].min()), float(verts[:, 2].max())


def test_stairs_and_lift_join_both_storeys(model: ifcopenshell.file) -> None:
    lower, upper = sorted(model.by_type("IfcBuildingStorey"), key=lambda s: s.Elevation)
    vertical = [*model.by_type("IfcStair"), *model.by_type("IfcTransportElement")]
    for element in vertical:
        assert _container(element) == lower
        referenced = {r.RelatingStructure for r in element.ReferencedInStructures}
        assert referenced == {upper}
        bottom, top = _z_range(element)
        assert bottom == pytest.approx(lower.Elevation, abs=0.01) and top >= upper.Elevation - 0.01
        spaces = [b.RelatingSpace for b in model.by_type("IfcRelSpaceBoundary") if b.RelatedBuildingElement == element]
        assert {_container_storey(s) for s in spaces} == {lower, upper}


def _container_storey(space: Entity) -> Entity:
    storey = ifcopenshell.util.element.get_aggregate(space)
    assert storey is not None, space
    return storey


def _world_boxes(element: Entity) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """World AABBs of the extruded rectangles of an element's Body (walls, doors are made of such boxes)."""
    matrix = ifcopenshell.util.placement.get_local_placement(element.ObjectPlacement)
    for representation in element.Representation.Representations:
        for item in representation.Items:
            profile = item.SweptArea
            cx, cy = profile.Position.Location.Coordinates
            z0 = item.Position.Location.Coordinates[2]
            corners = np.array(
                [
                    [cx + sx * profile.XDim / 2, cy + sy * profile.YDim / 2, z0 + dz, 1.0]
                    for sx in (-1, 1)
                    for sy in (-1, 1)
                    for dz in (0.0, item.Depth)
                ]
            )
            world = (matrix @ corners.T).T[:, :3]
            yield world.min(axis=0), world.max(axis=0)


def _overlap(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    return bool(np.all(a[0] < b[1]) and np.all(b[0] < a[1]))


def test_doors_stand_in_wall_gaps_between_their_spaces(model: ifcopenshell.file) -> None:
    walls = {w: list(_world_boxes(w)) for w in model.by_type("IfcWall")}
    boundaries: dict[Entity, list[Entity]] = defaultdict(list)
    for relation in model.by_type("IfcRelSpaceBoundary"):
        boundaries[relation.RelatedBuildingElement].append(relation.RelatingSpace)
    for door in model.by_type("IfcDoor"):
        spaces = boundaries[door]
        assert 1 <= len(spaces) <= 2, door.Name
        assert (len(spaces) == 1) == bool(_pset(door, "Pset_DoorCommon")["IsExternal"])
        (low, high) = next(_world_boxes(door))
        leaf = (low + [0.01, 0.01, 0.05], high - [0.01, 0.01, 0.05])
        assert not any(_overlap(leaf, box) for boxes in walls.values() for box in boxes), door.Name
        # In a wall: solid wall on both sides of the leaf along the wall's axis (the jambs) and a lintel above.
        axis = 0 if high[0] - low[0] > high[1] - low[1] else 1
        across = 1 - axis
        in_line = [
            b for boxes in walls.values() for b in boxes if b[0][across] <= low[across] and b[1][across] >= high[across]
        ]
        assert any(abs(b[1][axis] - low[axis]) < 0.01 and b[0][2] <= low[2] for b in in_line), door.Name
        assert any(abs(b[0][axis] - high[axis]) < 0.01 and b[0][2] <= low[2] for b in in_line), door.Name
        assert any(abs(b[0][2] - high[2]) < 0.01 and b[0][axis] <= low[axis] and b[1][axis] >= high[axis]
                   for b in in_line), door.Name  # fmt: skip
        centre = (low + high) / 2
        for space in spaces:
            x0, y0, x1, y1 = _footprint(space)
            assert x0 - 0.01 <= centre[0] <= x1 + 0.01 and y0 - 0.01 <= centre[1] <= y1 + 0.01, (door.Name, space.Name)


def _footprint(space: Entity) -> tuple[float, float, float, float]:
    (low, high) = next(_world_boxes(space))
    return float(low[0]), float(low[1]), float(high[0]), float(high[1])


def _adjacency(model: ifcopenshell.file, with_stairs: bool) -> dict[str, set[str]]:
    linked: dict[Entity, list[Entity]] = defaultdict(list)
    for relation in model.by_type("IfcRelSpaceBoundary"):
        element = relation.RelatedBuildingElement
        if element.is_a("IfcWall") or (element.is_a("IfcStair") and not with_stairs):
            continue
        linked[element].append(relation.RelatingSpace)
    graph: dict[str, set[str]] = defaultdict(set)
    for spaces in linked.values():
        for a in spaces:
            graph[a.Name] |= {b.Name for b in spaces if b != a}
    return graph


def _reachable(graph: dict[str, set[str]], start: set[str]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for other in graph[todo.pop()] - seen:
            seen.add(other)
            todo.append(other)
    return seen


def test_every_space_is_reachable_and_2f_has_a_step_free_route(model: ifcopenshell.file) -> None:
    exits = [d for d in model.by_type("IfcDoor") if _pset(d, "Pset_DoorCommon")["FireExit"]]
    exit_spaces = {b.RelatingSpace.Name for d in exits for b in d.ProvidesBoundaries}
    everything = {s.Name for s in model.by_type("IfcSpace")}
    assert _reachable(_adjacency(model, with_stairs=True), exit_spaces) == everything
    ramp = model.by_type("IfcRamp")[0]
    (entrance,) = {b.RelatingSpace.Name for b in ramp.ProvidesBoundaries}
    step_free = _reachable(_adjacency(model, with_stairs=False), {entrance})
    assert {"2F-WAIT", "2F-WIN"} <= step_free


def test_geometry_tessellates_into_a_light_glb(built: Path, model: ifcopenshell.file, tmp_path: Path) -> None:
    settings = ifcopenshell.geom.settings()
    for name in ("use-world-coords", "apply-default-materials", "use-element-guids"):
        settings.set(name, True)
    glb = tmp_path / "demo_hall.glb"
    serializer = ifcopenshell.geom.serializers.glb(str(glb), settings)
    serializer.setFile(model)
    serializer.setUnitNameAndMagnitude("METER", 1.0)
    serializer.writeHeader()
    iterator = ifcopenshell.geom.iterator(settings, model, 1)
    shapes = set()
    assert iterator.initialize()
    while True:
        shape = iterator.get()
        serializer.write(shape)
        shapes.add(shape.guid)
        if not iterator.next():
            break
    serializer.finalize()
    with_body = {p.GlobalId for p in model.by_type("IfcProduct") if p.Representation is not None}
    assert shapes == with_body
    print(f"demo hall GLB: {glb.stat().st_size / 1e6:.2f} MB, {len(shapes)} meshes")
    assert glb.stat().st_size < 2_000_000


def test_ensure_rebuilds_only_when_missing_stale_or_forced(tmp_path: Path) -> None:
    path = tmp_path / "generated" / "hall.ifc"
    assert demo_hall.ensure_demo_hall(path=path) == path and path.stat().st_size > 100_000
    path.write_text("not rebuilt")  # a cache hit must not touch the file
    assert demo_hall.ensure_demo_hall(path=path).read_text() == "not rebuilt"
    sidecar = path.with_name(path.name + ".source-hash")
    sidecar.write_text("a hash of other generator sources\n")
    assert demo_hall.ensure_demo_hall(path=path).read_bytes().startswith(b"ISO-10303-21;")
    assert sidecar.read_text().strip() == demo_hall.source_hash()
    path.write_text("not rebuilt")
    assert demo_hall.ensure_demo_hall(force=True, path=path).read_bytes().startswith(b"ISO-10303-21;")


def test_command_line_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_hall.main(["-o", str(tmp_path / "cli.ifc")]) == 0
    assert (tmp_path / "cli.ifc").is_file() and "spaces: " in capsys.readouterr().out


def test_layout_mistakes_are_named() -> None:
    with pytest.raises(ValueError, match="door X: 1F-ENT and 2F-WIN share no wall"):
        doorway_edge("1F-ENT", "2F-WIN", None, 5.0, 1.0, "door X")
    with pytest.raises(ValueError, match="door Y: a 3.0 m doorway at 1.0 does not fit"):
        doorway_edge("1F-24H", "1F-SELF", None, 1.0, 3.0, "door Y")
    with pytest.raises(ValueError, match="open to each other"):
        doorway_edge("1F-ENT", "1F-WAIT", None, 30.0, 1.0, "door Z")
    hall = HallModel("test")
    hall.create("IfcSite", "site")
    with pytest.raises(ValueError, match="two IFC entities are named 'site'"):
        hall.create("IfcBuilding", "site")


def test_outer_walls_of_both_storeys_have_windows_in_wall_gaps(model: ifcopenshell.file) -> None:
    windows = model.by_type("IfcWindow")
    assert len(windows) == demo_hall.EXPECTED["glazing"] >= 40
    storeys = Counter(_container(w).Name for w in windows)
    assert set(storeys) == {"1F", "2F"} and min(storeys.values()) >= 20, storeys
    outer_walls = [w for w in model.by_type("IfcWall") if _pset(w, "Pset_WallCommon").get("IsExternal")]
    wall_boxes = [box for wall in outer_walls for box in _world_boxes(wall)]
    facades: set[tuple[int, float]] = set()
    for window in windows:
        assert _pset(window, "Pset_WindowCommon")["IsExternal"] is True, window.Name
        (space,) = [b.RelatingSpace for b in window.ProvidesBoundaries]
        assert space.Name in window.Name and _container_storey(space) == _container(window)
        boxes = list(_world_boxes(window))
        low = np.min([b[0] for b in boxes], axis=0)
        high = np.max([b[1] for b in boxes], axis=0)
        axis = 0 if high[0] - low[0] > high[1] - low[1] else 1  # along the wall
        facades.add((axis, round(float((low[1 - axis] + high[1 - axis]) / 2), 2)))
        glass = (low + [0.01, 0.01, 0.01], high - [0.01, 0.01, 0.01])
        assert not any(_overlap(glass, box) for box in wall_boxes), window.Name  # it fills a hole, not a wall
        in_line = [b for b in wall_boxes if b[0][1 - axis] <= low[1 - axis] and b[1][1 - axis] >= high[1 - axis]]
        spans = [b for b in in_line if b[0][axis] <= low[axis] + 0.01 and b[1][axis] >= high[axis] - 0.01]
        assert any(abs(b[1][2] - low[2]) < 0.01 for b in spans), f"{window.Name}: no parapet under it"
        assert any(abs(b[0][2] - high[2]) < 0.01 for b in spans), f"{window.Name}: no lintel over it"
        assert low[2] > _container(window).Elevation + 0.5  # a window, not a door
    assert facades == {(0, 0.0), (0, 40.0), (1, 0.0), (1, 60.0)}  # all four facades are glazed
