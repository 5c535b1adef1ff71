"""IFC -> GLB export: the GLB parses and names its nodes by GlobalId, elements.json, the cache, bad input, CLI."""

from __future__ import annotations

import json
import struct
import threading
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.context
import ifcopenshell.api.geometry
import ifcopenshell.api.project
import ifcopenshell.api.root
import ifcopenshell.api.unit
import ifcopenshell.guid
import pytest

from api.cli import main as cli_main
from tests.peers import SHARED
from twin.bim import ConversionResult, IfcLoadError, convert, convert_cached

FZK = "AC20-FZK-Haus.ifc"


def parse_glb(path: Path) -> dict[str, Any]:
    """Check the binary glTF container (RFC-style header, JSON then BIN chunk) and return its JSON."""
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    assert (magic, version, length) == (b"glTF", 2, len(data))
    json_length, json_type = struct.unpack_from("<I4s", data, 12)
    assert json_type == b"JSON" and json_length % 4 == 0
    bin_length, bin_type = struct.unpack_from("<I4s", data, 20 + json_length)
    assert bin_type == b"BIN\x00" and 28 + json_length + bin_length == len(data)
    document: dict[str, Any] = json.loads(data[20 : 20 + json_length])
    return document


def guids(model_path: Path, ifc_class: str) -> set[str]:
    return {e.GlobalId for e in ifcopenshell.open(str(model_path)).by_type(ifc_class)}


@pytest.fixture(scope="module")
def fzk_converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ConversionResult]:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    source = SHARED / "ifc" / FZK
    return source, convert(source, tmp_path_factory.mktemp("glb") / "fzk.glb", progress=False)


def check_export(source: Path, result: ConversionResult) -> None:
    gltf = parse_glb(result.glb_path)
    node_names = {node["name"] for node in gltf["nodes"]}
    spaces, doors = guids(source, "IfcSpace"), guids(source, "IfcDoor")
    assert spaces and doors and spaces | doors <= node_names
    assert not node_names & guids(source, "IfcOpeningElement")
    assert result.glb_bytes == result.glb_path.stat().st_size and result.elements == len(node_names)

    metadata = json.loads(result.elements_path.read_text(encoding="utf-8"))
    assert result.elements_path == result.glb_path.with_name(result.glb_path.stem + ".elements.json")
    assert metadata["schema"] == "halltwin.elements/1"
    assert {e["guid"] for e in metadata["elements"]} == node_names
    storeys = {s["guid"] for s in metadata["storeys"]}
    by_guid = {e["guid"]: e for e in metadata["elements"]}
    for guid in spaces | doors:
        assert by_guid[guid]["storey"] in storeys, by_guid[guid]
    assert {s["guid"] for s in metadata["spaces"]} == spaces
    assert all(s["storey"] in storeys and len(s["footprint"]) >= 3 for s in metadata["spaces"])
    assert {by_guid[g]["ifc_class"] for g in doors} == {"IfcDoor"}

    # The serializer turns IFC's Z-up into glTF's Y-up with a node matrix; the metadata must say the same.
    matrices = {tuple(node.get("matrix", ())) for node in gltf["nodes"]}
    assert len(matrices) == 1
    (matrix,) = matrices
    rows = [[matrix[col * 4 + row] for col in range(3)] for row in range(3)]
    flat = [value for row in metadata["up_axis"]["ifc_to_gltf"] for value in row]
    assert flat == pytest.approx([value for row in rows for value in row])
    assert metadata["up_axis"]["gltf_up"] == "+Y" and rows[1] == pytest.approx([0.0, 0.0, 1.0])


def test_fzk_haus_exports_with_guid_nodes_and_metadata(fzk_converted: tuple[Path, ConversionResult]) -> None:
    source, result = fzk_converted
    check_export(source, result)
    assert not result.cached
    leftovers = [p.name for p in result.glb_path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_metadata_positions_match_the_glb_vertices(fzk_converted: tuple[Path, ConversionResult]) -> None:
    _, result = fzk_converted
    gltf = parse_glb(result.glb_path)
    metadata = json.loads(result.elements_path.read_text(encoding="utf-8"))
    by_guid = {e["guid"]: e for e in metadata["elements"]}
    for node in gltf["nodes"]:
        primitive = gltf["meshes"][node["mesh"]]["primitives"][0]
        accessor = gltf["accessors"][primitive["attributes"]["POSITION"]]
        centre = [(lo + hi) / 2 for lo, hi in zip(accessor["min"], accessor["max"], strict=True)]
        # Single-primitive meshes: the accessor box is the element box, in IFC world metres (float32).
        if len(gltf["meshes"][node["mesh"]]["primitives"]) == 1:
            assert by_guid[node["name"]]["position"] == pytest.approx(centre, abs=1e-3)


def test_cache_converts_once_for_concurrent_callers(tmp_path: Path, shared_dir: Path) -> None:
    source = shared_dir / "ifc" / FZK
    results: list[ConversionResult] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(convert_cached(source, tmp_path / "cache"))
        except BaseException as exc:  # surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and len(results) == 3
    assert sorted(r.cached for r in results) == [False, True, True]
    assert len({r.glb_path for r in results}) == 1
    first = results[0].glb_path
    stamp = first.stat().st_mtime_ns
    again = convert_cached(source, tmp_path / "cache")
    assert again.cached and again.glb_path == first and first.stat().st_mtime_ns == stamp
    assert again.elements == results[0].elements and again.glb_bytes == first.stat().st_size
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir()) == [".glb", ".json", ".lock"]


def _one_room(path: Path, name: str) -> None:
    """A minimal IFC4 model in metres: one storey, one 4 x 3 m room."""
    model = ifcopenshell.api.project.create_file(version="IFC4")
    project = ifcopenshell.api.root.create_entity(model, ifc_class="IfcProject", name=name)
    metre = ifcopenshell.api.unit.add_si_unit(model, unit_type="LENGTHUNIT")
    ifcopenshell.api.unit.assign_unit(model, units=[metre])
    context = ifcopenshell.api.context.add_context(model, context_type="Model")
    body = ifcopenshell.api.context.add_context(
        model, context_type="Model", context_identifier="Body", target_view="MODEL_VIEW", parent=context
    )
    building = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuilding", name="building")
    storey = ifcopenshell.api.root.create_entity(model, ifc_class="IfcBuildingStorey", name="ground")
    room = ifcopenshell.api.root.create_entity(model, ifc_class="IfcSpace", name="room")
    ifcopenshell.api.aggregate.assign_object(model, products=[building], relating_object=project)
    ifcopenshell.api.aggregate.assign_object(model, products=[storey], relating_object=building)
    ifcopenshell.api.aggregate.assign_object(model, products=[room], relating_object=storey)
    shape = ifcopenshell.api.geometry.add_slab_representation(
        model, body, depth=3.0, polyline=[(0.0, 0.0), (4.0, 0.0), (4.0, 3.0), (0.0, 3.0)]
    )
    ifcopenshell.api.geometry.assign_representation(model, product=room, representation=shape)
    ifcopenshell.api.geometry.edit_object_placement(model, product=room)
    model.write(str(path))


def test_cache_key_follows_the_content(tmp_path: Path) -> None:
    original = tmp_path / "a.ifc"
    _one_room(original, "one room")
    first = convert_cached(original, tmp_path / "cache")
    metadata = json.loads(first.elements_path.read_text(encoding="utf-8"))
    assert [s["area"] for s in metadata["spaces"]] == [pytest.approx(12.0)]
    # Same bytes under another name: a hit. One more comment line: another model, a new conversion.
    renamed = tmp_path / "b.ifc"
    renamed.write_bytes(original.read_bytes())
    assert convert_cached(renamed, tmp_path / "cache").glb_path == first.glb_path
    renamed.write_bytes(original.read_bytes().replace(b"ISO-10303-21;", b"ISO-10303-21;\n/* edited */", 1))
    changed = convert_cached(renamed, tmp_path / "cache")
    assert not changed.cached and changed.glb_path != first.glb_path and first.glb_path.is_file()


def _empty_project(path: Path) -> None:
    model = ifcopenshell.file(schema="IFC4")
    model.createIfcProject(ifcopenshell.guid.new(), Name="no geometry")
    model.write(str(path))


@pytest.mark.parametrize(
    ("file_name", "write", "message"),
    [
        ("missing.ifc", None, "file not found"),
        ("notes.ifc", lambda p: p.write_text("not a building\n"), "not an IFC"),
        ("empty.ifc", lambda p: p.write_bytes(b""), "empty"),
        ("nothing.ifc", _empty_project, "no element has geometry"),
    ],
)
def test_bad_input_leaves_no_partial_file(tmp_path: Path, file_name: str, write: Any, message: str) -> None:
    source = tmp_path / file_name
    if write is not None:
        write(source)
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.glb").write_bytes(b"previous model")
    with pytest.raises(IfcLoadError) as caught:
        convert(source, out / "model.glb", progress=False)
    assert str(source) in str(caught.value) and message in str(caught.value)
    assert [p.name for p in out.iterdir()] == ["model.glb"]  # no temp file, no metadata
    assert (out / "model.glb").read_bytes() == b"previous model"  # the previous export is untouched
    with pytest.raises(IfcLoadError, match=message):
        convert_cached(source, tmp_path / "cache")
    assert not any(p.suffix in {".glb", ".json", ".tmp"} for p in (tmp_path / "cache").glob("*"))


def test_cli_convert(tmp_path: Path, shared_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "web" / "hall.glb"
    assert cli_main(["convert", str(shared_dir / "ifc" / FZK), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and " MB" in printed and " s" in printed
    assert parse_glb(out)["nodes"] and (tmp_path / "web" / "hall.elements.json").is_file()


def test_cli_convert_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "plan.ifc"
    bad.write_text("hello")
    assert cli_main(["convert", str(bad), "-o", str(tmp_path / "plan.glb")]) == 1
    assert f"{bad}: not an IFC" in capsys.readouterr().err
    assert cli_main(["convert", str(tmp_path / "absent.ifc")]) == 1
    assert "absent.ifc: file not found" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.ifc"]


def test_demo_hall_exports(tmp_path: Path) -> None:
    demo_hall = pytest.importorskip("bim_models.demo_hall")
    source = demo_hall.ensure_demo_hall()
    check_export(source, convert(source, tmp_path / "demo_hall.glb", progress=False))
