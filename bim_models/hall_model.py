"""The IFC file being built: project, units, contexts, and helpers that give every rooted entity a stable GlobalId."""

from __future__ import annotations

from typing import Any

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.context
import ifcopenshell.api.project
import ifcopenshell.api.pset
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.unit

from bim_models.ids import stable_guid
from bim_models.ifc_geometry import Entity, Geometry

# A fixed header time stamp: the same generator must write the same bytes on every run.
HEADER_TIME_STAMP = "2025-01-01T00:00:00+08:00"
PSET = "Pset_HallTwin"


class HallModel:
    """An IFC4 file in metres with one Body context; every entity it creates gets ``stable_guid(key)``."""

    def __init__(self, project_name: str) -> None:
        self.model = ifcopenshell.api.project.create_file("IFC4")
        header = self.model.header.file_name
        header.name = "demo_hall.ifc"
        header.time_stamp = HEADER_TIME_STAMP
        header.author = ("HallTwin",)
        header.organization = ("HallTwin",)
        header.authorization = "HallTwin"
        self.keys: dict[str, str] = {}  # GlobalId -> key, to refuse two elements with one name
        self.project = self.create("IfcProject", "project", project_name)
        length = ifcopenshell.api.unit.add_si_unit(self.model, unit_type="LENGTHUNIT")  # metres, no prefix
        area = ifcopenshell.api.unit.add_si_unit(self.model, unit_type="AREAUNIT")
        volume = ifcopenshell.api.unit.add_si_unit(self.model, unit_type="VOLUMEUNIT")
        angle = ifcopenshell.api.unit.add_si_unit(self.model, unit_type="PLANEANGLEUNIT")
        ifcopenshell.api.unit.assign_unit(self.model, units=[length, area, volume, angle])
        model_context = ifcopenshell.api.context.add_context(self.model, context_type="Model")
        body = ifcopenshell.api.context.add_context(
            self.model, context_type="Model", context_identifier="Body", target_view="MODEL_VIEW", parent=model_context
        )
        self.geometry = Geometry(self.model, body)

    def create(self, ifc_class: str, key: str, name: str | None = None, predefined_type: str | None = None) -> Entity:
        """A rooted entity whose GlobalId is derived from ``key`` (unique per model)."""
        entity = ifcopenshell.api.root.create_entity(
            self.model, ifc_class=ifc_class, predefined_type=predefined_type, name=name
        )
        entity.GlobalId = self._claim(key)
        return entity

    def _claim(self, key: str) -> str:
        guid = stable_guid(key)
        if guid in self.keys:
            raise ValueError(f"two IFC entities are named {key!r} (also {self.keys[guid]!r})")
        self.keys[guid] = key
        return guid

    def aggregate(self, parts: list[Entity], whole: Entity) -> None:
        ifcopenshell.api.aggregate.assign_object(self.model, products=parts, relating_object=whole)

    def contain(self, products: list[Entity], container: Entity) -> None:
        ifcopenshell.api.spatial.assign_container(self.model, products=products, relating_structure=container)

    def reference(self, products: list[Entity], structure: Entity) -> None:
        ifcopenshell.api.spatial.reference_structure(self.model, products=products, relating_structure=structure)

    def pset(self, product: Entity, name: str, properties: dict[str, Any]) -> None:
        pset = ifcopenshell.api.pset.add_pset(self.model, product=product, name=name)
        pset.GlobalId = self._claim(f"pset:{product.GlobalId}:{name}")
        ifcopenshell.api.pset.edit_pset(self.model, pset=pset, properties=properties)

    def boundary(self, space: Entity, element: Entity, virtual: bool = False, external: bool = False) -> Entity:
        """An IfcRelSpaceBoundary: ``element`` (door, wall, stair, virtual element) bounds ``space``."""
        return self.model.create_entity(
            "IfcRelSpaceBoundary",
            GlobalId=self._claim(f"boundary:{space.GlobalId}:{element.GlobalId}"),
            Name="2ndLevel",
            RelatingSpace=space,
            RelatedBuildingElement=element,
            PhysicalOrVirtualBoundary="VIRTUAL" if virtual else "PHYSICAL",
            InternalOrExternalBoundary="EXTERNAL" if external else "INTERNAL",
        )

    def finish(self) -> ifcopenshell.file:
        """Make the file reproducible: stable GlobalIds for API-made relations, member lists in creation order."""
        counters: dict[str, int] = {}
        for entity in sorted(self.model.by_type("IfcRoot"), key=lambda e: e.id()):
            if entity.GlobalId in self.keys:
                continue
            cls = entity.is_a()
            counters[cls] = counters.get(cls, 0) + 1
            entity.GlobalId = self._claim(f"auto:{cls}:{counters[cls]}")
        for rel in self.model.by_type("IfcRelationship"):
            for attribute in ("RelatedObjects", "RelatedElements", "RelatedDefinitions"):
                members = getattr(rel, attribute, None)
                if isinstance(members, tuple) and len(members) > 1:
                    setattr(rel, attribute, sorted(members, key=lambda e: e.id()))
        for assignment in self.model.by_type("IfcUnitAssignment"):  # the API keeps units in a set
            assignment.Units = sorted(assignment.Units, key=lambda e: e.id())
        return self.model
