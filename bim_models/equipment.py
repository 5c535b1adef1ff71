"""The supervised devices of the demo hall as typed IFC elements in their rooms, and the PA / fire zones."""

from __future__ import annotations

from collections import defaultdict

import ifcopenshell.api.group

from bim_models.building import BuildingParts
from bim_models.devices import DEVICE_ELEMENTS, PA_ZONES, DeviceElement, speakers_by_pa_zone
from bim_models.hall_model import PSET, HallModel
from bim_models.ifc_geometry import Entity
from bim_models.layout import SPACE_BY_CODE, STOREY_BY_CODE


def build_devices(hall: HallModel, parts: BuildingParts) -> None:
    """Each device a small box, contained in its IfcSpace (IfcRelContainedInSpatialStructure)."""
    pa_of_speaker = {speaker: pa for pa, speakers in speakers_by_pa_zone().items() for speaker in speakers}
    created: list[tuple[Entity, DeviceElement]] = []
    for device in DEVICE_ELEMENTS:
        cls = device.element_class
        predefined = cls.object_type if cls.predefined_type == "USERDEFINED" else cls.predefined_type
        entity = hall.create(cls.ifc_class, f"device:{device.key}", f"{device.name_zh} / {device.name_en}", predefined)
        entity.Tag = device.key
        props: dict[str, object] = {"DeviceKind": device.kind.value, "SiteRef": device.key}
        if device.key in pa_of_speaker:
            props["PaZone"] = pa_of_speaker[device.key]
        hall.pset(entity, PSET, props)
        created.append((entity, device))
    by_space: dict[str, list[Entity]] = defaultdict(list)
    for entity, device in created:
        by_space[device.space].append(entity)
    for code, entities in by_space.items():
        hall.contain(entities, parts.spaces[code])
    for entity, device in created:
        x, y, z = device.position()
        dx, dy, dz = device.element_class.size
        elevation = STOREY_BY_CODE[SPACE_BY_CODE[device.space].storey].elevation
        hall.geometry.place(entity, x, y, elevation + z)
        hall.geometry.set_body(entity, [hall.geometry.box(-dx / 2, -dy / 2, dx / 2, dy / 2, 0, dz)])


def build_zones(hall: HallModel, parts: BuildingParts) -> None:
    """An IfcZone per PA zone and per fire zone, grouping the spaces each covers."""
    for pa in PA_ZONES:
        spaces = [parts.spaces[code] for code in pa.spaces]
        for key, object_type, zh, en in (
            (f"pa-zone:{pa.id}", "PAZone", f"广播分区 {pa.name_zh}", f"PA zone {pa.name_en}"),
            (f"fire-zone:{pa.fire_zone}", "FireZone", f"{pa.fire_zone}号防火分区", f"Fire zone {pa.fire_zone}"),
        ):
            zone = hall.create("IfcZone", key, pa.id if object_type == "PAZone" else f"zone_{pa.fire_zone}")
            zone.ObjectType = object_type
            zone.LongName = f"{zh} / {en}"
            ifcopenshell.api.group.assign_group(hall.model, products=spaces, group=zone)
