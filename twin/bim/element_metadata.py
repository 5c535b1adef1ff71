"""The `<stem>.elements.json` document beside a GLB: storeys, spaces and every exported element with its place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ifcopenshell

from twin.bim.entities import Device, Door, Point3, Space
from twin.bim.geometry import tessellate
from twin.bim.ifc_file import containing_space, predefined_type, storey_of
from twin.bim.ifc_index import IfcIndex

SCHEMA = "halltwin.elements/1"
# glTF spells a node matrix column by column.
_AXES = ("x", "y", "z")


@dataclass(frozen=True)
class ExportedElement:
    """A product the GLB holds a node for, with the centre of its mesh bounding box (IFC world metres)."""

    guid: str
    ifc_class: str
    step_id: int
    centre: Point3


def up_axis(node_matrix: Sequence[float] | None) -> dict[str, Any]:
    """Describe how the GLB's node matrix maps IFC world axes to glTF axes (read from the file, not assumed)."""
    if node_matrix is None or len(node_matrix) != 16:
        rows = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    else:
        rows = [[float(node_matrix[col * 4 + row]) + 0.0 for col in range(3)] for row in range(3)]
    # Where IFC +Z (up) ends up in glTF coordinates.
    up_index = max(range(3), key=lambda r: abs(rows[r][2]))
    up_sign = "+" if rows[up_index][2] > 0 else "-"
    terms = []
    for row in rows:
        parts = [("-" if v < 0 else "") + f"ifc_{_AXES[c]}" for c, v in enumerate(row) if abs(v) > 1e-9]
        terms.append(" + ".join(parts) if parts else "0")
    mapping = ", ".join(f"gltf_{_AXES[r]} = {term}" for r, term in enumerate(terms))
    return {
        "gltf_up": f"{up_sign}{_AXES[up_index].upper()}",
        "ifc_to_gltf": rows,
        "note": (
            f"GLB vertices are IFC world metres (Z up); each node's matrix rotates them to glTF: {mapping}. "
            "Positions and footprints in this file are IFC world metres, Z up."
        ),
    }


def _place(index: IfcIndex, element: ifcopenshell.entity_instance) -> tuple[str | None, str | None]:
    """Storey and space GlobalIds of an exported element (None when the model does not say)."""
    record = index.by_guid(element.GlobalId)
    if isinstance(record, Space):
        return record.storey, None
    if isinstance(record, Door):
        return record.storey, (record.spaces[0] if record.spaces else None)
    if isinstance(record, Device):
        return record.storey, record.space
    storey = storey_of(element)
    space = containing_space(element)
    return (storey.GlobalId if storey else None, space.GlobalId if space else None)


def element_document(
    index: IfcIndex,
    model: ifcopenshell.file,
    exported: Sequence[ExportedElement],
    node_matrix: Sequence[float] | None,
) -> dict[str, Any]:
    """The JSON document the viewer loads with the GLB (keys: schema, up_axis, storeys, spaces, elements)."""
    elements = []
    for item in exported:
        element = model.by_id(item.step_id)
        storey, space = _place(index, element)
        elements.append({
            "guid": item.guid,
            "ifc_class": item.ifc_class,
            "name": str(element.Name) if getattr(element, "Name", None) else None,
            "predefined_type": predefined_type(element),
            "storey": storey,
            "space": space,
            "position": [round(v, 4) for v in item.centre],
        })
    return {
        "schema": SCHEMA,
        "source": Path(index.source).name,
        "up_axis": up_axis(node_matrix),
        "storeys": [{"guid": s.guid, "name": s.name, "elevation": s.elevation} for s in index.storeys],
        "spaces": [
            {
                "guid": s.guid,
                "name": s.name,
                "long_name": s.long_name,
                "storey": s.storey,
                "footprint": [list(p) for p in s.footprint],
                "floor_elevation": s.floor_elevation,
                "area": s.area,
            }
            for s in index.spaces
        ],
        "elements": elements,
        "openings": opening_records(model),
        "ifc_zones": ifc_zone_records(model),
    }


def opening_records(model: ifcopenshell.file) -> list[dict[str, Any]]:
    """Openings are not drawn (the GLB has no node for them), yet a site may bind a device to one (a passage
    with a people counter): their storey and world box (IFC metres, Z up) let the viewer place its marker."""
    openings = model.by_type("IfcOpeningElement")
    meshes = tessellate(model, openings) if openings else {}
    records = []
    for opening in openings:
        mesh = meshes.get(opening.GlobalId)
        if mesh is None:
            continue
        voided = [rel.RelatingBuildingElement for rel in getattr(opening, "VoidsElements", ()) or ()]
        storey = storey_of(voided[0]) if voided else storey_of(opening)
        records.append({
            "guid": opening.GlobalId,
            "name": str(opening.Name) if opening.Name else None,
            "storey": storey.GlobalId if storey else None,
            "min": [round(float(v), 4) for v in mesh.bbox_min],
            "max": [round(float(v), 4) for v in mesh.bbox_max],
        })
    return records


def ifc_zone_records(model: ifcopenshell.file) -> list[dict[str, Any]]:
    """IfcZone groups and their spaces: a point bound to an IfcZone tints every space of the zone."""
    records = []
    for zone in model.by_type("IfcZone"):
        spaces = [
            member.GlobalId
            for rel in getattr(zone, "IsGroupedBy", ()) or ()
            for member in rel.RelatedObjects
            if member.is_a("IfcSpace")
        ]
        records.append({"guid": zone.GlobalId, "name": str(zone.Name) if zone.Name else None, "spaces": spaces})
    return records
