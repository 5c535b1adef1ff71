"""IfcIndex on real models from three authoring tools (../shared/ifc) and on the demo hall; bad input."""

from __future__ import annotations

from pathlib import Path

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.context
import ifcopenshell.api.geometry
import ifcopenshell.api.project
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.unit
import ifcopenshell.util.element
import numpy as np
import pytest
from shapely.geometry import Point, Polygon

from tests.peers import SHARED
from twin.bim import Door, IfcIndex, IfcLoadError
from twin.bim.ifc_index import IndexRecord

# storeys / spaces / doors / stairs, from /work/shared/ifc/README.md
SHARED_MODELS = {
    "AC20-FZK-Haus.ifc": (2, 7, 5, 1),
    "Duplex_A_20110907.ifc": (4, 21, 14, 2),
    "LargeBuilding.ifc": (2, 8, 18, 0),
}


@pytest.fixture(scope="module")
def indexes() -> dict[str, IfcIndex]:
    """Each shared model loaded once for the module (a load costs about half a second)."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return {name: IfcIndex.load(SHARED / "ifc" / name) for name in SHARED_MODELS}


def _door(index: IfcIndex, name: str) -> Door:
    return next(d for d in index.doors if d.name == name)


def _space_names(index: IfcIndex, door: Door) -> set[str]:
    return {index.space(guid).name for guid in door.spaces}  # type: ignore[union-attr]


@pytest.mark.parametrize("name", sorted(SHARED_MODELS))
def test_counts_match_the_models(indexes: dict[str, IfcIndex], name: str) -> None:
    index = indexes[name]
    assert (len(index.storeys), len(index.spaces), len(index.doors), len(index.stairs)) == SHARED_MODELS[name]


@pytest.mark.parametrize("name", sorted(SHARED_MODELS))
def test_every_door_joins_one_or_two_spaces_of_its_model(indexes: dict[str, IfcIndex], name: str) -> None:
    index = indexes[name]
    model = ifcopenshell.open(index.source)
    for door in index.doors:
        assert 1 <= len(door.spaces) <= 2, door
        assert len(set(door.spaces)) == len(door.spaces), door
        assert all(index.space(guid) is not None for guid in door.spaces), door
        assert door.storey is not None and index.storey(door.storey) is not None, door
        assert 0.5 < door.width < 3.0, door  # metres, whatever the file's unit
        # Exits are what the model says (Pset_DoorCommon.IsExternal); only a model without it is guessed.
        psets = ifcopenshell.util.element.get_psets(model.by_guid(door.guid))
        external = psets.get("Pset_DoorCommon", {}).get("IsExternal")
        if isinstance(external, bool):
            assert door.is_exit is external and door.exit_source == "pset", door
        else:
            assert door.exit_source == "geometry", door


@pytest.mark.parametrize("name", sorted(SHARED_MODELS))
def test_footprints_are_plausible_metres_and_storeys_ascend(indexes: dict[str, IfcIndex], name: str) -> None:
    index = indexes[name]
    elevations = [s.elevation for s in index.storeys]
    assert elevations == sorted(elevations) and len(set(elevations)) == len(elevations)
    for space in index.spaces:
        polygon = Polygon(space.footprint)
        assert polygon.is_valid and 0.5 < polygon.area <= space.area + 0.01 < 2000, space
        min_x, min_y, max_x, max_y = polygon.bounds
        assert max_x - min_x < 200 and max_y - min_y < 200, space
        assert space.storey is not None, space
        storey = index.storey(space.storey)
        assert storey is not None and abs(space.floor_elevation - storey.elevation) < 0.5, space


def test_units_are_read_from_the_file(indexes: dict[str, IfcIndex]) -> None:
    # LargeBuilding is in millimetres (Level 2 at Elevation 4000.0), the other two in metres.
    large = indexes["LargeBuilding.ifc"]
    assert large.unit_scale == pytest.approx(0.001)
    assert [s.elevation for s in large.storeys] == pytest.approx([0.0, 4.0])
    assert {round(d.width, 3) for d in large.doors} >= {0.915}
    assert indexes["AC20-FZK-Haus.ifc"].unit_scale == pytest.approx(1.0)
    assert [s.elevation for s in indexes["AC20-FZK-Haus.ifc"].storeys] == pytest.approx([0.0, 2.7])


def test_doors_from_space_boundaries(indexes: dict[str, IfcIndex]) -> None:
    fzk = indexes["AC20-FZK-Haus.ifc"]
    front = _door(fzk, "Haustuer")
    assert front.spaces_source == "boundary" and front.is_exit and _space_names(fzk, front) == {"1"}
    inner = _door(fzk, "Innentuer-1")
    assert inner.spaces_source == "boundary" and not inner.is_exit and _space_names(fzk, inner) == {"1", "4"}
    # Duplex lists three rooms for one door's boundaries: the two on either side of the leaf are kept.
    duplex = indexes["Duplex_A_20110907.ifc"]
    assert all(d.spaces_source == "boundary" for d in duplex.doors)
    joined = [_space_names(duplex, d) for d in duplex.doors]
    assert {"A201", "A204"} in joined or {"A204", "A205"} in joined


def test_doors_from_geometry_without_space_boundaries(indexes: dict[str, IfcIndex]) -> None:
    index = indexes["LargeBuilding.ifc"]
    assert all(d.spaces_source == "geometry" for d in index.doors)
    # The double glass doors stand in the walls between rooms 4|3 (west wing) and 8|7 (east wing).
    doubles = [d for d in index.doors if "Double" in d.name]
    assert sorted(sorted(_space_names(index, d)) for d in doubles) == [["3", "4"], ["7", "8"]]
    assert all(d.width == pytest.approx(1.55, abs=0.05) for d in doubles)
    # Eight doors have a room on both sides; the rest open onto unmodelled corridors, and none is an exit:
    # every door of this model says IsExternal = false (they are all "Inside Door" types).
    assert sum(1 for d in index.doors if len(d.spaces) == 2) == 8
    assert not any(d.is_exit for d in index.doors)
    one_sided = {g.guid for g in index.guesses if g.kind == "door_one_side"}
    assert one_sided == {d.guid for d in index.doors if len(d.spaces) == 1}


def test_stairs_join_the_storeys_they_climb(indexes: dict[str, IfcIndex]) -> None:
    fzk = indexes["AC20-FZK-Haus.ifc"]
    assert [fzk.storey(g).name for g in fzk.stairs[0].storeys] == ["Erdgeschoss", "Dachgeschoss"]  # type: ignore[union-attr]
    duplex = indexes["Duplex_A_20110907.ifc"]
    for stair in duplex.stairs:  # IfcStair without a body of its own: its flights give the height
        assert stair.ifc_class == "IfcStair"
        assert [duplex.storey(g).name for g in stair.storeys] == ["Level 1", "Level 2"]  # type: ignore[union-attr]


def test_lookups_by_guid_and_position(indexes: dict[str, IfcIndex]) -> None:
    for index in indexes.values():
        records: list[IndexRecord] = [*index.storeys, *index.spaces, *index.doors, *index.stairs, *index.devices]
        for record in records:
            assert index.by_guid(record.guid) is record
        for space in index.spaces:
            inside = Polygon(space.footprint).representative_point()
            assert index.space_at(inside.x, inside.y, space.storey) == space
        assert index.by_guid("no-such-guid") is None
    fzk = indexes["AC20-FZK-Haus.ifc"]
    assert fzk.space_at(-50.0, -50.0, fzk.storeys[0].guid) is None


def test_devices_have_class_storey_and_space(indexes: dict[str, IfcIndex]) -> None:
    duplex = indexes["Duplex_A_20110907.ifc"]
    source = ifcopenshell.open(str(SHARED / "ifc" / "Duplex_A_20110907.ifc"))
    furniture: dict[str, ifcopenshell.entity_instance] = {
        e.GlobalId: e for e in source.by_type("IfcFurnishingElement")  # type: ignore[misc]
    }
    assert {d.guid for d in duplex.devices} == set(furniture)
    for device in duplex.devices:
        assert device.ifc_class == "IfcFurnishingElement" and device.storey is not None
        container = ifcopenshell.util.element.get_container(furniture[device.guid])
        if container is not None and container.is_a("IfcSpace"):
            assert device.space == container.GlobalId  # the model's own containment wins
        elif device.space is not None:
            space = duplex.space(device.space)
            assert space is not None and space.storey == device.storey
            assert Polygon(space.footprint).buffer(0.06).covers(Point(device.position[:2]))
    assert sum(d.space is not None for d in duplex.devices) > len(duplex.devices) * 0.8



def _box(model: ifcopenshell.file, body: ifcopenshell.entity_instance, element: ifcopenshell.entity_instance,
         corners: list[tuple[float, float]], height: float, matrix: np.ndarray) -> None:
    """Give ``element`` an extruded-polygon body (metres; the API converts to the file's millimetres)."""
    representation = ifcopenshell.api.geometry.add_slab_representation(model, body, depth=height, polyline=corners)
    ifcopenshell.api.geometry.assign_representation(model, product=element, representation=representation)
    ifcopenshell.api.geometry.edit_object_placement(model, product=element, matrix=matrix)


def _at(x: float, y: float, z: float, along_y: bool = False) -> np.ndarray:
    matrix = np.eye(4)
    if along_y:  # local X along world +Y (a door in a wall that runs north-south)
        matrix[:3, :3] = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    matrix[:3, 3] = (x, y, z)
    return matrix


@pytest.fixture(scope="module")
def millimetre_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small IFC4 model in millimetres, without space boundaries: rooms A|B on the ground floor with a door
    between them, room C upstairs at 3.5 m, a stair between the floors, one sensor placed in room A and one
    contained in room B."""
    model = ifcopenshell.api.project.create_file(version="IFC4")
    project = ifcopenshell.api.root.create_entity(model, ifc_class="IfcProject", name="mm")
    ifcopenshell.api.unit.assign_unit(model)  # the API's default: millimetres
    context = ifcopenshell.api.context.add_context(model, context_type="Model")
    body = ifcopenshell.api.context.add_context(
        model, context_type="Model", context_identifier="Body", target_view="MODEL_VIEW", parent=context
    )
    site = ifcopenshell.api.root.create_entity(model, ifc_class="IfcSite", name="site")
    building = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuilding", name="building")
    ifcopenshell.api.aggregate.assign_object(model, products=[site], relating_object=project)
    ifcopenshell.api.aggregate.assign_object(model, products=[building], relating_object=site)
    storeys = []
    for name, z in (("ground", 0.0), ("upper", 3.5)):
        storey = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuildingStorey", name=name)
        ifcopenshell.api.geometry.edit_object_placement(model, product=storey, matrix=_at(0, 0, z))
        storey.Elevation = z * 1000.0
        ifcopenshell.api.aggregate.assign_object(model, products=[storey], relating_object=building)
        storeys.append(storey)
    rooms = {}
    for name, storey, x0, x1, z in (("A", storeys[0], 0.0, 5.0, 0.0), ("B", storeys[0], 5.2, 10.0, 0.0),
                                    ("C", storeys[1], 0.0, 10.0, 3.5)):
        room = ifcopenshell.api.root.create_entity(model, ifc_class="IfcSpace", name=name)
        _box(model, body, room, [(x0, 0.0), (x1, 0.0), (x1, 4.0), (x0, 4.0)], 3.0, _at(0, 0, z))
        ifcopenshell.api.aggregate.assign_object(model, products=[room], relating_object=storey)
        rooms[name] = room
    door = ifcopenshell.api.root.create_entity(model, ifc_class="IfcDoor", name="A-B")
    _box(model, body, door, [(0.0, 0.0), (0.9, 0.0), (0.9, 0.2), (0.0, 0.2)], 2.1, _at(5.2, 1.55, 0.0, True))
    door.OverallWidth = 900.0
    stair = ifcopenshell.api.root.create_entity(model, ifc_class="IfcStair", name="stair")
    _box(model, body, stair, [(8.0, 0.5), (9.0, 0.5), (9.0, 3.5), (8.0, 3.5)], 3.4, _at(0, 0, 0))
    sensor = {"ifc_class": "IfcSensor", "predefined_type": "SMOKESENSOR"}
    placed = ifcopenshell.api.root.create_entity(model, name="smoke A", **sensor)
    _box(model, body, placed, [(0.0, 0.0), (0.1, 0.0), (0.1, 0.1), (0.0, 0.1)], 0.05, _at(2.0, 2.0, 2.9))
    held = ifcopenshell.api.root.create_entity(model, name="smoke B", **sensor)
    _box(model, body, held, [(0.0, 0.0), (0.1, 0.0), (0.1, 0.1), (0.0, 0.1)], 0.05, _at(4.0, 2.0, 2.9))
    ifcopenshell.api.spatial.assign_container(model, products=[door, stair, placed], relating_structure=storeys[0])
    # Contained in room B although its placement lies in room A: the model's own relation wins.
    ifcopenshell.api.spatial.assign_container(model, products=[held], relating_structure=rooms["B"])
    path = tmp_path_factory.mktemp("mm") / "mm.ifc"
    model.write(str(path))
    return path


def test_a_millimetre_model_without_space_boundaries(millimetre_model: Path) -> None:
    index = IfcIndex.load(millimetre_model)
    assert index.unit_scale == pytest.approx(0.001)
    assert [(s.name, s.elevation) for s in index.storeys] == [("ground", 0.0), ("upper", 3.5)]
    rooms = {s.name: s for s in index.spaces}
    assert rooms["A"].area == pytest.approx(20.0, abs=0.01) and rooms["C"].floor_elevation == pytest.approx(3.5)
    assert Polygon(rooms["B"].footprint).bounds == pytest.approx((5.2, 0.0, 10.0, 4.0))
    (door,) = index.doors
    assert door.width == pytest.approx(0.9) and door.spaces_source == "geometry" and not door.is_exit
    assert {index.space(g).name for g in door.spaces} == {"A", "B"}  # type: ignore[union-attr]
    assert door.position == pytest.approx((5.1, 2.0, 1.05))
    (stair,) = index.stairs
    assert [index.storey(g).name for g in stair.storeys] == ["ground", "upper"]  # type: ignore[union-attr]
    sensors = {d.name: d for d in index.devices}
    assert sensors["smoke A"].space == rooms["A"].guid and sensors["smoke A"].predefined_type == "SMOKESENSOR"
    assert sensors["smoke A"].position == pytest.approx((2.05, 2.05, 2.925))  # centre of its 10 x 10 x 5 cm box
    assert sensors["smoke B"].space == rooms["B"].guid and sensors["smoke B"].storey == index.storeys[0].guid
    assert index.space_at(7.0, 1.0, index.storeys[0].guid) == rooms["B"]
    assert index.space_at(7.0, 1.0, index.storeys[1].guid) == rooms["C"]
    assert index.space_at(5.1, 1.0, index.storeys[0].guid) is None  # inside the wall between A and B


def _strip_space_boundaries(source: Path, target: Path) -> Path:
    model = ifcopenshell.open(str(source))
    for relation in model.by_type("IfcRelSpaceBoundary"):
        model.remove(relation)  # type: ignore[arg-type]
    model.write(str(target))
    return target


def _assert_geometry_agrees_with_boundaries(source: Path, tmp_path: Path) -> None:
    """With IfcRelSpaceBoundary removed, the plan geometry alone must find the same rooms for every door."""
    with_relations = IfcIndex.load(source)
    without = IfcIndex.load(_strip_space_boundaries(source, tmp_path / f"bare-{source.name}"))
    assert {d.spaces_source for d in with_relations.doors} == {"boundary"}
    assert {d.spaces_source for d in without.doors} == {"geometry"}
    derived = {d.guid: (set(d.spaces), d.is_exit) for d in without.doors}
    assert {d.guid: (set(d.spaces), d.is_exit) for d in with_relations.doors} == derived


@pytest.mark.parametrize("name", ["AC20-FZK-Haus.ifc", "Duplex_A_20110907.ifc"])
def test_geometry_agrees_with_space_boundaries(shared_dir: Path, tmp_path: Path, name: str) -> None:
    _assert_geometry_agrees_with_boundaries(shared_dir / "ifc" / name, tmp_path)


def test_demo_hall_matches_its_generator(tmp_path: Path) -> None:
    demo_hall = pytest.importorskip("bim_models.demo_hall")
    source = demo_hall.ensure_demo_hall()
    index = IfcIndex.load(source)
    expected = demo_hall.EXPECTED
    assert len(index.storeys) == expected["storeys"] and len(index.spaces) == expected["spaces"]
    assert len(index.doors) == expected["doors"] and len(index.stairs) == expected["stairs"]
    for key in ("ramps", "elevators"):
        if key in expected:
            assert len(getattr(index, key)) == expected[key], key
    if "exits" in expected:
        assert sum(d.is_exit for d in index.doors) == expected["exits"]
    for door in index.doors:
        assert 1 <= len(door.spaces) <= 2, door
    assert all(len(s.storeys) >= 2 for s in index.stairs + index.elevators)
    # Every device stands in a room of its storey.
    assert all(d.storey is not None and d.space is not None for d in index.devices)
    _assert_geometry_agrees_with_boundaries(source, tmp_path)


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        ("missing.ifc", None, "file not found"),
        ("notes.ifc", b"this is a text file, not a building\n", "not an IFC"),
        ("empty.ifc", b"", "empty"),
        ("cut.ifc", b"ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('ViewDefinition'),'2;1');\n", "truncated"),
    ],
)
def test_bad_input_names_the_file(tmp_path: Path, file_name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / file_name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(IfcLoadError) as caught:
        IfcIndex.load(path)
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert caught.value.path == str(path)


def test_a_directory_is_not_an_ifc_file(tmp_path: Path) -> None:
    with pytest.raises(IfcLoadError, match="not a regular file"):
        IfcIndex.load(tmp_path)
