"""What the site checks need to know of a building model: each GlobalId's class and name, which elements have no
geometry of their own, the IfcZones' spaces and the room that holds each element.

A ``ModelFacts`` is a Mapping of GlobalId -> IFC class, so a plain dict still serves as an index (tests, tools);
the richer checks (names in suggestions, invisible elements, rooms) run only where the facts are known.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Elements the viewer never draws: openings and other voids are subtracted from their host, virtual elements
# are boundaries without a body. (Products without any Representation are found per element.)
NO_OWN_GEOMETRY = ("IfcFeatureElementSubtraction", "IfcVirtualElement")
# Spatial containers hold elements; a device bound to one (a storey, the building) has no place of its own.
SPATIAL_CONTAINERS = ("IfcSite", "IfcBuilding", "IfcBuildingStorey")


@dataclass(frozen=True)
class ModelFacts(Mapping[str, str]):
    """GlobalId -> IFC class, plus names, elements without geometry (with the element that shows them instead),
    IfcZone members and each element's room(s)."""

    classes: Mapping[str, str]
    names: Mapping[str, str] = field(default_factory=dict)
    # GlobalId -> the GlobalId of what is drawn in its place (an opening's door or host wall), or "" for none.
    without_geometry: Mapping[str, str] = field(default_factory=dict)
    zone_spaces: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # GlobalId -> the IfcSpace(s) it is in: a space is in itself, a door between two rooms is in both.
    rooms: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # GlobalIds of elements one may bind a device or point to (drawn products, spaces, IfcZones).
    bindable: frozenset[str] = frozenset()

    def __getitem__(self, guid: str) -> str:
        return self.classes[guid]

    def __iter__(self) -> Iterator[str]:
        return iter(self.classes)

    def __len__(self) -> int:
        return len(self.classes)

    def describe(self, guid: str) -> str:
        """``IfcSpace 'Hall A'`` (the class alone when the element has no name)."""
        name = self.names.get(guid)
        cls = self.classes.get(guid, "?")
        return f"{cls} {name!r}" if name else cls


def facts_of(index: Mapping[str, str]) -> ModelFacts:
    """The index as ModelFacts (a plain GlobalId -> class mapping knows classes only)."""
    return index if isinstance(index, ModelFacts) else ModelFacts(classes=dict(index))


def _label(entity: Any) -> str:
    long_name = getattr(entity, "LongName", None)
    name = entity.Name or ""
    if long_name and name and long_name != name:
        return f"{name} {long_name}"
    return str(long_name or name)


def _shown_instead(entity: Any) -> str:
    """For an opening: the door/window that fills it, else the element it voids; "" when there is none."""
    for rel in getattr(entity, "HasFillings", None) or ():
        return str(rel.RelatedBuildingElement.GlobalId)
    for rel in getattr(entity, "VoidsElements", None) or ():
        return str(rel.RelatingBuildingElement.GlobalId)
    return ""


def read_model_facts(ifc_path: Path, geometry: bool = False) -> ModelFacts:
    """The facts of an IFC file (blocking). Rooms come from the spatial tree (an element contained in a space, a
    door's neighbouring spaces); with ``geometry`` also from the footprints under the devices (twin.bim's
    IfcIndex: a second or more, hence only for ``halltwin check``)."""
    import ifcopenshell

    from twin.bim.ifc_file import containing_space

    model: Any = ifcopenshell.open(str(ifc_path))  # entity typing of ifcopenshell is too loose for mypy
    classes = {entity.GlobalId: entity.is_a() for entity in model.by_type("IfcRoot")}
    names: dict[str, str] = {}
    without: dict[str, str] = {}
    rooms: dict[str, frozenset[str]] = {}
    bindable: set[str] = set()
    for product in model.by_type("IfcProduct"):
        guid = product.GlobalId
        label = _label(product)
        if label:
            names[guid] = label
        if product.Representation is None or any(product.is_a(cls) for cls in NO_OWN_GEOMETRY):
            without[guid] = _shown_instead(product)
        else:
            bindable.add(guid)
        if product.is_a("IfcSpace"):
            rooms[guid] = frozenset({guid})
        elif not any(product.is_a(cls) for cls in SPATIAL_CONTAINERS):
            space = containing_space(product)
            if space is not None:
                rooms[guid] = frozenset({space.GlobalId})
    zone_spaces: dict[str, frozenset[str]] = {}
    for zone in model.by_type("IfcZone"):
        if zone.Name:
            names[zone.GlobalId] = str(zone.Name)
        bindable.add(zone.GlobalId)
        members = [obj for rel in zone.IsGroupedBy or () for obj in rel.RelatedObjects]
        zone_spaces[zone.GlobalId] = frozenset(m.GlobalId for m in members if m.is_a("IfcSpace"))
    if geometry:
        try:
            rooms.update(_rooms_by_geometry(ifc_path, rooms))
        except Exception as exc:  # a model the viewer cannot index still gets every other check
            log.debug("no rooms from the geometry of %s: %s", ifc_path, exc)
    return ModelFacts(classes, names, without, zone_spaces, rooms, frozenset(bindable))


def _rooms_by_geometry(ifc_path: Path, known: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Rooms the spatial tree does not give: the footprint under each device, the two sides of each door."""
    from twin.bim import IfcIndex

    index = IfcIndex.load(ifc_path)
    found: dict[str, frozenset[str]] = {}
    for device in index.devices:
        if device.space and device.guid not in known:
            found[device.guid] = frozenset({device.space})
    for door in index.doors:
        if door.spaces:
            found[door.guid] = frozenset(door.spaces)
    return found
