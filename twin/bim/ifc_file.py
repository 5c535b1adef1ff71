"""Open an IFC file with its unit scale, and walk the spatial structure (storey, space) of any element."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ifcopenshell
import ifcopenshell.util.element
import ifcopenshell.util.placement
import ifcopenshell.util.unit
import numpy as np

from twin.bim.errors import IfcLoadError

SUPPORTED_SCHEMAS = ("IFC2X3", "IFC4", "IFC4X3")
# A malformed file can nest aggregates in a cycle; no real building is this deep.
_MAX_SPATIAL_DEPTH = 32


@dataclass(frozen=True)
class OpenedIfc:
    """A parsed IFC file and the factor that turns its length unit into metres."""

    path: Path
    file: ifcopenshell.file
    unit_scale: float


def open_ifc(path: str | Path) -> OpenedIfc:
    """Parse ``path`` and read its length unit; raise IfcLoadError naming the file for any unusable input."""
    path = Path(path)
    if not path.exists():
        raise IfcLoadError(path, "file not found")
    if not path.is_file():
        raise IfcLoadError(path, "not a regular file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IfcLoadError(path, f"cannot read the file: {exc.strerror or exc}") from exc
    if size == 0:
        raise IfcLoadError(path, "the file is empty")
    _require_complete_step(path)
    try:
        model = ifcopenshell.open(str(path))
    except ifcopenshell.Error as exc:
        raise IfcLoadError(path, f"not an IFC (STEP) file: {exc}") from exc
    except OSError as exc:
        raise IfcLoadError(path, f"cannot read the file: {exc}") from exc
    schema = str(model.schema).upper()
    if not schema.startswith(SUPPORTED_SCHEMAS):
        raise IfcLoadError(path, f"unsupported IFC schema {model.schema} (expected IFC2X3 or IFC4)")
    if not model.by_type("IfcProject"):
        raise IfcLoadError(path, "no IfcProject: the file is truncated or not a building model")
    try:
        unit_scale = float(ifcopenshell.util.unit.calculate_unit_scale(model))
    except Exception as exc:  # the unit assignment is user data; any failure in it is a file problem
        raise IfcLoadError(path, f"cannot read the length unit: {exc}") from exc
    if not unit_scale > 0:
        raise IfcLoadError(path, f"invalid length unit scale {unit_scale}")
    return OpenedIfc(path, model, unit_scale)


def _require_complete_step(path: Path) -> None:
    """A STEP file ends with END-ISO-10303-21; without it the parser silently keeps a truncated model."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
            if not head.lstrip().upper().startswith(b"ISO-10303-21"):
                return  # not STEP text (ifcXML, zip, garbage): ifcopenshell.open decides
            handle.seek(max(0, path.stat().st_size - 256))
            tail = handle.read()
    except OSError as exc:
        raise IfcLoadError(path, f"cannot read the file: {exc.strerror or exc}") from exc
    if b"END-ISO-10303-21" not in tail.upper():
        raise IfcLoadError(path, "the file is truncated (no END-ISO-10303-21 at its end)")


def world_matrix(element: ifcopenshell.entity_instance, unit_scale: float) -> np.ndarray | None:
    """The element's placement as a 4x4 world matrix with the translation in metres, or None."""
    placement = getattr(element, "ObjectPlacement", None)
    if placement is None:
        return None
    matrix = np.array(ifcopenshell.util.placement.get_local_placement(placement), dtype=float)
    matrix[:3, 3] *= unit_scale
    return matrix


def spatial_parent(element: ifcopenshell.entity_instance) -> ifcopenshell.entity_instance | None:
    """The next element up: spatial container, aggregate/nest whole, or (for a door/window) the voided wall."""
    for rel in getattr(element, "ContainedInStructure", None) or ():
        return rel.RelatingStructure
    for rel in getattr(element, "Decomposes", None) or ():
        return rel.RelatingObject
    for rel in getattr(element, "Nests", None) or ():
        return rel.RelatingObject
    # A door is often only linked to its opening, which voids a wall that is the one contained in the storey.
    for rel in getattr(element, "FillsVoids", None) or ():
        opening = rel.RelatingOpeningElement
        for void_rel in getattr(opening, "VoidsElements", None) or ():
            return void_rel.RelatingBuildingElement
    return None


def spatial_ancestors(element: ifcopenshell.entity_instance) -> Iterator[ifcopenshell.entity_instance]:
    """Every element above ``element`` in the spatial/aggregation tree, nearest first."""
    current = spatial_parent(element)
    for _ in range(_MAX_SPATIAL_DEPTH):
        if current is None:
            return
        yield current
        current = spatial_parent(current)


def storey_of(element: ifcopenshell.entity_instance) -> ifcopenshell.entity_instance | None:
    """The IfcBuildingStorey that (directly or indirectly) holds ``element``."""
    return next((e for e in spatial_ancestors(element) if e.is_a("IfcBuildingStorey")), None)


def containing_space(element: ifcopenshell.entity_instance) -> ifcopenshell.entity_instance | None:
    """The IfcSpace that holds ``element`` through containment/aggregation, below its storey."""
    for ancestor in spatial_ancestors(element):
        if ancestor.is_a("IfcSpace"):
            return ancestor
        if ancestor.is_a("IfcBuildingStorey"):
            return None
    return None


def predefined_type(element: ifcopenshell.entity_instance) -> str | None:
    """PredefinedType (or the user-defined object type); IFC2X3 transport elements call it OperationType."""
    value = ifcopenshell.util.element.get_predefined_type(element)
    if value in (None, "NOTDEFINED"):
        value = getattr(element, "OperationType", None) if element.is_a("IfcTransportElement") else value
    return str(value) if value not in (None, "NOTDEFINED") else None


def pset_value(element: ifcopenshell.entity_instance, pset: str, prop: str) -> object:
    """One property of an element (instance values override its type's), or None."""
    return ifcopenshell.util.element.get_psets(element).get(pset, {}).get(prop)
