"""Every place a visitor can be sent: catalogue services, numbered windows, named rooms and amenities (toilets,
mother-and-baby rooms, self-service zones, exits, lifts, stairs), each with the point a route ends at.

Built once per building model and site file, from the IfcIndex (rooms, doors, connectors, counters) and site.yaml
(zones, windows, services). Where a target cannot be placed (a counter missing from the model, a zone bound to an
IfcZone the index does not know) the destination is left out and the reason kept in ``notes``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from shapely.geometry import Point, Polygon
from shapely.ops import nearest_points

from twin.bim.ifc_index import IfcIndex
from twin.i18n import names
from twin.nav.instructions import bilingual
from twin.site.model import Names, SiteConfig, Zone, ZoneType
from twin.site.wayfinding_model import ServiceItem

# Rooms visitors are never sent to (security of the equipment; GB 50174 keeps machine rooms access-controlled).
PRIVATE_ZONES = frozenset({ZoneType.SERVER_ROOM, ZoneType.POWER_ROOM, ZoneType.WEAK_CURRENT})
# Zone types that are amenities in their own right (searchable by what they are, not only by their name).
AMENITY_KINDS = {
    ZoneType.TOILET: "toilet",
    ZoneType.MOTHER_BABY: "mother_baby",
    ZoneType.SELF_SERVICE: "self_service",
    ZoneType.SELF_SERVICE_24H: "self_service",
    ZoneType.GUIDANCE: "guidance",
    ZoneType.CONVENIENCE: "convenience",
    ZoneType.WAITING: "waiting",
}
# Words a visitor types for an amenity, besides its room's name.
AMENITY_WORDS: dict[str, tuple[str, ...]] = {
    "toilet": ("卫生间", "厕所", "洗手间", "toilet", "restroom", "wc", "washroom", "bathroom"),
    "mother_baby": ("母婴室", "哺乳室", "mother and baby", "nursing room", "baby care"),
    "self_service": ("自助服务", "自助终端", "自助机", "self-service", "terminal", "kiosk"),
    "guidance": ("咨询", "导办", "服务台", "information", "help desk", "guidance"),
    "convenience": ("便民", "复印", "填表", "convenience", "copy", "forms"),
    "waiting": ("等候区", "候位", "waiting area", "seats"),
    "exit": ("出口", "安全出口", "exit", "way out"),
    "elevator": ("电梯", "无障碍电梯", "lift", "elevator"),
    "stair": ("楼梯", "stairs", "staircase"),
    "ramp": ("坡道", "无障碍坡道", "ramp"),
    "window": ("窗口", "window", "counter"),
}
# Ranking order of kinds when scores tie: what a visitor most likely means comes first.
KIND_ORDER = ("service", "window", "toilet", "mother_baby", "self_service", "guidance", "convenience", "waiting",
              "exit", "elevator", "stair", "ramp", "room")  # fmt: skip
# A window's visitors stand this far (m) in front of its counter, toward the waiting side.
COUNTER_STANDOFF = 1.0


@dataclass(frozen=True)
class Destination:
    """A place to route to: ``x, y`` on ``storey`` (a storey GlobalId), in ``space`` when it is a room."""

    id: str
    kind: str  # service, window, room, toilet, mother_baby, self_service, guidance, ..., exit, elevator, stair, ramp
    name: Names
    storey: str
    x: float
    y: float
    space: str | None = None
    zone: str | None = None
    category: str | None = None
    windows: tuple[str, ...] = ()
    window_group: str | None = None
    ticket_service: str | None = None
    keywords: tuple[str, ...] = ()
    note: Names | None = None
    element: str | None = None  # GlobalId of the element itself (counter, door, lift) for the viewer to highlight
    arrival: Names | None = None  # what the last step names ("26–28号窗口：住房公积金贷款"); default: ``name``

    @property
    def arrive_at(self) -> Names:
        return self.arrival or self.name


@dataclass
class Destinations:
    """All destinations by id, in catalogue order, and what could not be placed."""

    items: dict[str, Destination] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    categories: dict[str, Names] = field(default_factory=dict)

    def add(self, destination: Destination) -> None:
        self.items.setdefault(destination.id, destination)

    def get(self, destination_id: str) -> Destination | None:
        return self.items.get(destination_id)


def build_destinations(site: SiteConfig, index: IfcIndex) -> Destinations:
    """The destinations of one site on its building model (pure: no I/O, fast enough to run per reload)."""
    out = Destinations(categories={c.id: c.name for c in site.service_categories})
    zone_of_space = {z.ifc_guid: z for z in site.zones if index.space(z.ifc_guid) is not None}
    for unplaced in site.zones:
        if index.space(unplaced.ifc_guid) is None:
            out.notes.append(f"zone {unplaced.id}: {unplaced.ifc_guid} is not a space of the model (an IfcZone?): "
                             f"not a destination")
    windows = _windows(site, index, zone_of_space, out)
    for window in windows.values():
        out.add(window)
    for service in site.services:
        destination = _service(site, service, windows, zone_of_space, index, out)
        if destination is not None:
            out.add(destination)
    for space in index.spaces:
        room_zone = zone_of_space.get(space.guid)
        if room_zone is not None and room_zone.zone_type in PRIVATE_ZONES:
            continue
        _room(space.guid, room_zone, index, out)
    labels = {guid: zone.name for guid, zone in zone_of_space.items()}
    labels.update({s.guid: bilingual(s.long_name or s.name) for s in index.spaces if s.guid not in labels})
    _connectors(index, labels, out)
    return out


def _storey_of(index: IfcIndex, space_guid: str) -> str:
    space = index.space(space_guid)
    return space.storey if space and space.storey else ""


def _space_point(index: IfcIndex, guid: str) -> tuple[float, float]:
    point = Polygon(index.space(guid).footprint).representative_point()  # type: ignore[union-attr]
    return round(point.x, 3), round(point.y, 3)


def _room(guid: str, zone: Zone | None, index: IfcIndex, out: Destinations) -> None:
    space = index.space(guid)
    if space is None or not space.footprint:
        return
    x, y = _space_point(index, guid)
    if zone is not None:
        kind = AMENITY_KINDS.get(zone.zone_type, "room")
        words = AMENITY_WORDS.get(kind, ())
        out.add(Destination(f"zone:{zone.id}", kind, zone.name, space.storey or "", x, y, guid, zone.id,
                            keywords=(space.name, *words)))
        return
    label = bilingual(space.long_name or space.name)
    out.add(Destination(f"room:{guid}", "room", label, space.storey or "", x, y, guid,
                        keywords=(space.name,)))


def _windows(site: SiteConfig, index: IfcIndex, zone_of_space: dict[str, Zone], out: Destinations) -> dict[
        str, Destination]:
    """Window number -> its destination: in front of the counter, on the side of the group's waiting zone."""
    zones = {z.id: z for z in site.zones}
    found: dict[str, Destination] = {}
    for window in site.windows:
        record = index.by_guid(window.ifc_guid)
        position = getattr(record, "position", None)
        zone = zones.get(window.zone)
        if position is None or zone is None or index.space(zone.ifc_guid) is None:
            out.notes.append(f"window {window.number}: counter {window.ifc_guid} or zone {window.zone} is not in "
                             f"the model: not a destination")
            continue
        group = site.queues.group_of_window(window.number)
        waiting = zones.get(group.waiting_zone or group.zone) if group else None
        x, y = _in_front(index, (position[0], position[1]), waiting, zone)
        if window.name is not None:
            name = window.name
        elif group is not None:
            name = names("wayfinding.window_of_group", number=window.number, group=group.name)
        else:
            name = names("wayfinding.window", number=window.number)
        found[window.number] = Destination(
            f"window:{window.number}", "window", name, _storey_of(index, zone.ifc_guid), x, y, zone.ifc_guid,
            zone.id, windows=(window.number,), window_group=group.id if group else None,
            keywords=AMENITY_WORDS["window"], element=window.ifc_guid,
        )  # fmt: skip
    return found


def _in_front(index: IfcIndex, counter: tuple[float, float], waiting: Zone | None, own: Zone) -> tuple[float, float]:
    """COUNTER_STANDOFF from the counter toward the nearest point of the waiting zone (else of its own room's
    centre): the public side of the counter, not the staff side."""
    target_zone = waiting if waiting is not None and index.space(waiting.ifc_guid) is not None else own
    plan = Polygon(index.space(target_zone.ifc_guid).footprint)  # type: ignore[union-attr]
    here = Point(counter)
    toward = nearest_points(plan, here)[0] if not plan.covers(here) or target_zone is waiting else here
    if toward.distance(here) < 1e-6:
        toward = plan.representative_point()
    dx, dy = toward.x - here.x, toward.y - here.y
    norm = math.hypot(dx, dy) or 1.0
    step = min(COUNTER_STANDOFF, norm)
    return round(here.x + step * dx / norm, 3), round(here.y + step * dy / norm, 3)


def _service(site: SiteConfig, service: ServiceItem, windows: dict[str, Destination],
             zone_of_space: dict[str, Zone], index: IfcIndex, out: Destinations) -> Destination | None:
    """A service routes to the middle one of its windows (they stand side by side) or to its zone's centre."""
    numbers: tuple[str, ...] = ()
    group = None
    if service.window_group is not None:
        group = next((g for g in site.queues.groups if g.id == service.window_group), None)
        numbers = tuple(group.windows) if group else ()
    elif service.windows is not None:
        numbers = tuple(service.windows)
    category = out.categories.get(service.category)
    words = (*service.keywords.zh, *service.keywords.en, *((category.zh, category.en) if category else ()))
    common = {"category": service.category, "keywords": words, "note": service.note,
              "ticket_service": service.ticket_service}
    if numbers:
        placed = [windows[n] for n in numbers if n in windows]
        if not placed:
            out.notes.append(f"service {service.id}: none of its windows ({', '.join(numbers)}) is placed")
            return None
        middle = placed[len(placed) // 2]
        arrival = names("wayfinding.arrive_service", place=window_names(numbers), service=service.name)
        return Destination(f"service:{service.id}", "service", service.name, middle.storey, middle.x, middle.y,
                           middle.space, middle.zone, windows=numbers, arrival=arrival,
                           window_group=group.id if group else middle.window_group, **common)  # type: ignore[arg-type]
    zone = next((z for z in site.zones if z.id == service.zone), None)
    if zone is None or zone.ifc_guid not in zone_of_space:
        out.notes.append(f"service {service.id}: zone {service.zone} is not a space of the model")
        return None
    x, y = _space_point(index, zone.ifc_guid)
    arrival = names("wayfinding.arrive_service", place=zone.name, service=service.name)
    return Destination(f"service:{service.id}", "service", service.name, _storey_of(index, zone.ifc_guid), x, y,
                       zone.ifc_guid, zone.id, arrival=arrival, **common)  # type: ignore[arg-type]


def window_names(numbers: tuple[str, ...]) -> Names:
    """"5号窗口", "26–28号窗口" (a run of numbers) or "1、2号窗口" (Chinese first)."""
    if len(numbers) == 1:
        return names("wayfinding.windows_one", number=numbers[0])
    if all(n.isdigit() for n in numbers) and [int(n) for n in numbers] == list(
            range(int(numbers[0]), int(numbers[0]) + len(numbers))) and len(numbers) > 2:
        return names("wayfinding.windows_range", first=numbers[0], last=numbers[-1])
    listed = names("wayfinding.windows_list", numbers="、".join(numbers))
    return Names(zh=listed.zh, en=names("wayfinding.windows_list", numbers=", ".join(numbers)).en)


def _connectors(index: IfcIndex, labels: dict[str, Names], out: Destinations) -> None:
    """Exit doors (their inside), and lifts, stairs and ramps on every storey they serve."""
    for door in index.doors:
        if not door.is_exit or not door.spaces or not door.storey:
            continue
        room = labels.get(door.spaces[0]) or bilingual(door.name)
        name = names("wayfinding.exit", room=room)
        out.add(Destination(f"exit:{door.guid}", "exit", name, door.storey, round(door.position[0], 3),
                            round(door.position[1], 3), door.spaces[0], keywords=AMENITY_WORDS["exit"],
                            element=door.guid))
    storey_names = {s.guid: s.name for s in index.storeys}
    kinds = (("elevator", index.elevators), ("stair", index.stairs), ("ramp", index.ramps))
    for kind, connectors in kinds:
        for connector in connectors:
            base = bilingual(connector.name)
            for storey in connector.storeys:
                label = storey_names.get(storey, "")
                name = names("wayfinding.on_storey", place=base, storey=label) if len(connector.storeys) > 1 else base
                out.add(Destination(f"{kind}:{connector.guid}:{storey}", kind, name, storey,
                                    round(connector.position[0], 3), round(connector.position[1], 3),
                                    keywords=AMENITY_WORDS[kind], element=connector.guid))
