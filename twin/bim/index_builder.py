"""Build the IfcIndex records from an opened IFC file and the meshes of its spaces, doors and stairs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import ifcopenshell
import ifcopenshell.util.element
import numpy as np
from shapely.geometry.base import BaseGeometry

from twin.bim.doors import (
    DoorSite,
    SpaceOutline,
    boundary_spaces,
    door_normal,
    door_width,
    join_spaces,
    wall_thickness,
)
from twin.bim.entities import Device, Door, Guess, Point3, Space, Storey, VerticalConnector
from twin.bim.exits import classify_exit, storey_outlines
from twin.bim.geometry import MeshShape, largest_polygon, plan_projection, ring_coords
from twin.bim.ifc_file import (
    OpenedIfc,
    containing_space,
    predefined_type,
    pset_value,
    storey_of,
    world_matrix,
)

log = logging.getLogger(__name__)

# A storey counts as joined by a stair/ramp/lift whose geometry reaches within this of its elevation (m):
# the top step of a flight usually stops one riser (or a slab finish) short of the upper floor.
STOREY_REACH = 0.5
# Stairs and ramps are an assembly (IfcStair) of parts (flights, landings); a lone flight stands for itself.
CONNECTOR_ASSEMBLIES = (("IfcStair", "IfcStairFlight"), ("IfcRamp", "IfcRampFlight"))
# Pipes, ducts, cables and their fittings are distribution elements too, but nothing an operator supervises.
DEVICE_ROOTS = ("IfcDistributionElement", "IfcFurnishingElement")
NOT_DEVICES = ("IfcFlowSegment", "IfcFlowFitting", "IfcDistributionChamberElement")


@dataclass(frozen=True)
class ConnectorGroup:
    """A stair/ramp/lift as one record: the element that names it and every part whose geometry it spans."""

    element: ifcopenshell.entity_instance
    parts: tuple[ifcopenshell.entity_instance, ...]


def _name(element: ifcopenshell.entity_instance) -> str:
    return str(element.Name) if element.Name else ""


def storey_elevations(opened: OpenedIfc) -> list[Storey]:
    """Storeys sorted by elevation: the world Z of their placement (the frame the geometry is in)."""
    storeys = opened.file.by_type("IfcBuildingStorey")
    placed: list[float | None] = []
    for storey in storeys:
        matrix = world_matrix(storey, opened.unit_scale)
        placed.append(None if matrix is None else float(matrix[2, 3]))
    declared = [None if s.Elevation is None else float(s.Elevation) * opened.unit_scale for s in storeys]
    # Some exporters place every storey at the building origin and only fill in Elevation: add it then.
    flat_placements = len({p for p in placed if p is not None}) <= 1 and len(set(declared)) > 1
    records = []
    for storey, z, elevation in zip(storeys, placed, declared, strict=True):
        if z is None:
            value = elevation or 0.0
        else:
            value = z + (elevation or 0.0) if flat_placements else z
        records.append(Storey(storey.GlobalId, _name(storey), round(value, 4)))
    return sorted(records, key=lambda s: (s.elevation, s.name))


def storey_for_z(storeys: list[Storey], z: float) -> Storey | None:
    """The storey a point at height ``z`` stands on: the highest one at or below it (5 cm tolerance)."""
    below = [s for s in storeys if s.elevation <= z + 0.05]
    if below:
        return below[-1]
    return storeys[0] if storeys else None


def _storey_guid(element: ifcopenshell.entity_instance, storeys: list[Storey], z: float) -> str | None:
    storey = storey_of(element)
    if storey is not None:
        return str(storey.GlobalId)
    by_height = storey_for_z(storeys, z)
    return by_height.guid if by_height else None


def build_spaces(
    opened: OpenedIfc, meshes: Mapping[str, MeshShape], storeys: list[Storey]
) -> tuple[list[Space], dict[str, BaseGeometry]]:
    """Spaces with footprints from their tessellated bodies, and each one's full plan (holes kept)."""
    spaces: list[Space] = []
    plans: dict[str, BaseGeometry] = {}
    for element in opened.file.by_type("IfcSpace"):
        mesh = meshes.get(element.GlobalId)
        if mesh is None:
            log.warning("%s: space %s (%s) has no body geometry; skipped", opened.path, element.GlobalId,
                        _name(element))
            continue
        plan = plan_projection(mesh)
        floor = float(mesh.bbox_min[2])
        plans[element.GlobalId] = plan
        spaces.append(Space(
            guid=element.GlobalId,
            name=_name(element),
            long_name=str(element.LongName) if element.LongName else None,
            storey=_storey_guid(element, storeys, floor),
            footprint=ring_coords(largest_polygon(plan)),
            floor_elevation=round(floor, 4),
            area=round(float(plan.area), 3),
        ))
    order = {s.guid: i for i, s in enumerate(storeys)}
    spaces.sort(key=lambda s: (order.get(s.storey or "", len(order)), s.name, s.guid))
    return spaces, plans


def build_doors(
    opened: OpenedIfc,
    meshes: Mapping[str, MeshShape],
    storeys: list[Storey],
    outlines: list[SpaceOutline],
    guesses: list[Guess],
) -> list[Door]:
    """Every IfcDoor with its position, width, storey, the one or two spaces it joins and whether it is an exit;
    what had to be derived from geometry is appended to ``guesses``."""
    doors: list[Door] = []
    by_guid = {o.guid: o for o in outlines}
    storey_shapes = storey_outlines(outlines)
    for element in opened.file.by_type("IfcDoor"):
        mesh = meshes.get(element.GlobalId)
        placement = world_matrix(element, opened.unit_scale)
        if mesh is not None:
            centre, sill = mesh.centre, float(mesh.bbox_min[2])
        elif placement is not None:
            centre = (float(placement[0, 3]), float(placement[1, 3]), float(placement[2, 3]))
            sill = centre[2]
        else:
            log.warning("%s: door %s has neither geometry nor placement; skipped", opened.path, element.GlobalId)
            continue
        storey = _storey_guid(element, storeys, sill)
        width = door_width(element.OverallWidth, opened.unit_scale, mesh)
        site = DoorSite(_name(element), (centre[0], centre[1]), sill, door_normal(placement, mesh), width,
                        wall_thickness(element, opened.unit_scale, mesh))
        spaces, source = join_spaces(site, element.GlobalId, storey, boundary_spaces(element), outlines, guesses)
        is_exit, exit_source = classify_exit(
            site, element.GlobalId, pset_value(element, "Pset_DoorCommon", "IsExternal"), storey,
            [by_guid[g] for g in spaces], storey_shapes, guesses,
        )  # fmt: skip
        doors.append(Door(
            guid=element.GlobalId,
            name=_name(element),
            position=_rounded(centre),
            width=round(width, 4),
            storey=storey,
            spaces=spaces,
            is_exit=is_exit,
            spaces_source=source,
            exit_source=exit_source,
            fire_exit=pset_value(element, "Pset_DoorCommon", "FireExit") is True,
            normal=(round(site.normal[0], 6), round(site.normal[1], 6)),
            wall_thickness=round(site.wall_thickness, 4),
        ))
    return doors


def connector_groups(model: ifcopenshell.file) -> dict[str, list[ConnectorGroup]]:
    """Stairs, ramps and elevators by kind, each with the parts that make up its geometry."""
    groups: dict[str, list[ConnectorGroup]] = {"stairs": [], "ramps": [], "elevators": []}
    for (whole_class, part_class), kind in zip(CONNECTOR_ASSEMBLIES, ("stairs", "ramps"), strict=True):
        claimed: set[int] = set()
        for whole in model.by_type(whole_class):
            parts = tuple(ifcopenshell.util.element.get_decomposition(whole))
            claimed.update(p.id() for p in parts)
            groups[kind].append(ConnectorGroup(whole, parts))
        groups[kind].extend(ConnectorGroup(p, ()) for p in model.by_type(part_class) if p.id() not in claimed)
    for element in model.by_type("IfcTransportElement"):
        if predefined_type(element) == "ELEVATOR":
            parts = tuple(ifcopenshell.util.element.get_decomposition(element))
            groups["elevators"].append(ConnectorGroup(element, parts))
    return groups


def build_connector(
    opened: OpenedIfc, group: ConnectorGroup, meshes: Mapping[str, MeshShape], storeys: list[Storey]
) -> VerticalConnector:
    """One stair/ramp/lift: plan centre of all its parts' geometry and the storeys its height range reaches."""
    parts = [group.element, *group.parts]
    bodies = [meshes[p.GlobalId] for p in parts if p.GlobalId in meshes]
    if bodies:
        low = np.min([b.bbox_min for b in bodies], axis=0)
        high = np.max([b.bbox_max for b in bodies], axis=0)
        position: Point3 = (float(low[0] + high[0]) / 2, float(low[1] + high[1]) / 2, float(low[2]))
        z_range = (float(low[2]), float(high[2]))
    else:
        matrix = world_matrix(group.element, opened.unit_scale)
        origin = matrix[:3, 3] if matrix is not None else np.zeros(3)
        position = (float(origin[0]), float(origin[1]), float(origin[2]))
        z_range = (position[2], position[2])
    joined = {s.guid for s in storeys if z_range[0] - STOREY_REACH <= s.elevation <= z_range[1] + STOREY_REACH}
    contained = storey_of(group.element)
    if contained is not None:
        joined.add(contained.GlobalId)
    return VerticalConnector(
        guid=group.element.GlobalId,
        ifc_class=group.element.is_a(),
        name=_name(group.element),
        position=_rounded(position),
        storeys=tuple(s.guid for s in storeys if s.guid in joined),
    )


def device_elements(model: ifcopenshell.file) -> list[ifcopenshell.entity_instance]:
    """The supervised kinds of element: distribution elements (minus pipework) and furnishing."""
    found: dict[int, ifcopenshell.entity_instance] = {}
    for root in DEVICE_ROOTS:
        try:
            elements = model.by_type(root)
        except RuntimeError:  # a class the file's schema does not have
            continue
        for element in elements:
            if not any(element.is_a(excluded) for excluded in NOT_DEVICES):
                found[element.id()] = element
    return [found[k] for k in sorted(found)]


def build_devices(
    opened: OpenedIfc,
    storeys: list[Storey],
    space_at: Callable[[float, float, str | None], Space | None],
    meshes: Mapping[str, MeshShape],
) -> list[Device]:
    """Devices at the centre of their body (else their placement), with storey and space (containment first,
    else the footprint under them)."""
    devices: list[Device] = []
    for element in device_elements(opened.file):
        matrix = world_matrix(element, opened.unit_scale)
        if element.GlobalId in meshes:
            # The body, not the placement: some exporters leave every placement at the origin and put the
            # geometry in absolute coordinates; the body is also where the viewer draws the device.
            position: Point3 = meshes[element.GlobalId].centre
        elif matrix is not None:
            position = (float(matrix[0, 3]), float(matrix[1, 3]), float(matrix[2, 3]))
        else:
            log.warning("%s: device %s has no placement; skipped", opened.path, element.GlobalId)
            continue
        storey = _storey_guid(element, storeys, position[2])
        holder = containing_space(element)
        space = holder.GlobalId if holder is not None else None
        if space is None:
            found = space_at(position[0], position[1], storey)
            space = found.guid if found else None
        devices.append(Device(
            guid=element.GlobalId,
            ifc_class=element.is_a(),
            predefined_type=predefined_type(element),
            name=_name(element),
            position=_rounded(position),
            storey=storey,
            space=space,
        ))
    return devices


def index_elements(model: ifcopenshell.file) -> Iterable[ifcopenshell.entity_instance]:
    """Every element whose geometry the index needs: spaces, doors, devices, all parts of stairs/ramps/lifts."""
    yield from model.by_type("IfcSpace")
    yield from model.by_type("IfcDoor")
    yield from device_elements(model)
    for groups in connector_groups(model).values():
        for group in groups:
            yield group.element
            yield from group.parts


def _rounded(point: tuple[float, float, float]) -> Point3:
    return (round(point[0], 4), round(point[1], 4), round(point[2], 4))
