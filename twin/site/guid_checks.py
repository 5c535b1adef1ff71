"""Checks of a site's GlobalIds against its building model: a GlobalId that is not there (with the nearest one of
the right class), a zone that is not a space; and warnings for bindings that load but cannot work as meant: a
device or point on an element the viewer cannot draw, two zones on one space, a device outside its zone's room.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from twin.site.checks import ErrorAt, Path_, entries, text
from twin.site.errors import SiteError
from twin.site.ifc_facts import ModelFacts, facts_of
from twin.site.suggest import nearest_ids

ZONE_CLASSES = frozenset({"IfcSpace", "IfcZone"})
GUID_LENGTH = 22
SHOWN_SUGGESTIONS = 3  # GlobalIds of one Revit model often differ in one character: more would be a list
GUID_ALPHABET = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$")


def well_formed(guid: str) -> bool:
    return len(guid) == GUID_LENGTH and all(c in GUID_ALPHABET for c in guid)


def malformed_guid(guid: str) -> str:
    """Why ``guid`` cannot be a GlobalId, in words (the schema's own message is a regular expression)."""
    if len(guid) != GUID_LENGTH:
        return f"a GlobalId has {GUID_LENGTH} characters, this one has {len(guid)} ({guid!r})"
    bad = "".join(dict.fromkeys(c for c in guid if c not in GUID_ALPHABET))
    return f"a GlobalId is written with 0-9, A-Z, a-z, _ and $ only; {guid!r} has {bad!r}"


def fits(path: Path_, facts: ModelFacts) -> Callable[[str], bool]:
    """Which GlobalIds may stand at ``path``: a space or IfcZone for a zone, a door for a door, an element the
    viewer draws (or a space, or an IfcZone) for a device or point."""
    classes = facts.classes
    section = path[0] if path else ""
    if section == "zones":
        return lambda guid: classes.get(guid) in ZONE_CLASSES
    if section == "doors":
        return lambda guid: classes.get(guid) == "IfcDoor"
    if facts.bindable:
        return facts.bindable.__contains__
    return lambda guid: not classes.get(guid, "").startswith(("IfcRel", "IfcProperty"))


def guid_hint(guid: str, facts: ModelFacts, path: Path_) -> str:
    """`` (did you mean 2O2Fr$t4X7Zf8NOew3FLOH (IfcSpace 'Hall A')?)``: GlobalIds of the right class one typo or
    a change of letter case away; the empty string when there is none."""
    wanted = fits(path, facts)
    found = nearest_ids(guid, (g for g in facts.classes if wanted(g)))
    if not found:
        return ""
    shown = " or ".join(f"{g} ({facts.describe(g)})" for g in found[:SHOWN_SUGGESTIONS])
    more = len(found) - SHOWN_SUGGESTIONS
    return f" (did you mean {shown}{f', or one of {more} more' if more > 0 else ''}?)"


def check_guids(
    data: Any, index: Mapping[str, str], ifc_name: str, error: ErrorAt, warn: ErrorAt
) -> Iterator[SiteError]:
    """Every ifc_guid names an element of the building, a zone a space (errors); devices and points on elements
    the viewer can draw, devices in their zone's room (warnings). Malformed GlobalIds are the schema's."""
    facts = facts_of(index)

    def missing(where: Path_, guid: str) -> SiteError:
        return error(where, f"GlobalId {guid} is not in {ifc_name}{guid_hint(guid, facts, where)}")

    zone_guid: dict[str, str] = {}
    for z, zone in entries(data, "zones"):
        where: Path_ = ("zones", z, "ifc_guid")
        guid = text(zone, "ifc_guid")
        if guid is None or not well_formed(guid):
            continue
        zone_id = text(zone, "id")
        if zone_id is not None:
            zone_guid.setdefault(zone_id, guid)
        cls = facts.get(guid)
        if cls is None:
            yield missing(where, guid)
        elif cls not in ZONE_CLASSES:
            yield error(where, f"GlobalId {guid} is an {cls}, not an IfcSpace{guid_hint(guid, facts, where)}")
    for d, door in entries(data, "doors"):
        guid = text(door, "ifc_guid")
        if guid is not None and well_formed(guid) and guid not in facts:
            yield missing(("doors", d, "ifc_guid"), guid)
    for d, device in entries(data, "devices"):
        where = ("devices", d, "ifc_guid")
        guid = text(device, "ifc_guid")
        if guid is not None and well_formed(guid):
            if guid not in facts:
                yield missing(where, guid)
            else:
                yield from _not_drawn(facts, guid, where, warn)
                yield from _outside_zone(facts, device, guid, zone_guid, where, warn)
        for p, point in entries(device, "points"):
            at: Path_ = ("devices", d, "points", p, "ifc_guid")
            guid = text(point, "ifc_guid")
            if guid is None or not well_formed(guid):
                continue
            if guid not in facts:
                yield missing(at, guid)
            else:
                yield from _not_drawn(facts, guid, at, warn)


def _not_drawn(facts: ModelFacts, guid: str, where: Path_, warn: ErrorAt) -> Iterator[SiteError]:
    if guid not in facts.without_geometry:
        return
    instead = facts.without_geometry[guid]
    advice = f"; bind it to {instead} ({facts.describe(instead)}), drawn in its place" if instead else ""
    yield warn(
        where,
        f"GlobalId {guid} is an {facts.describe(guid)}, which has no geometry of its own: the viewer cannot show "
        f"or pick it{advice}",
    )


def _outside_zone(
    facts: ModelFacts, device: dict[str, Any], guid: str, zone_guid: Mapping[str, str], where: Path_, warn: ErrorAt
) -> Iterator[SiteError]:
    """The device's element lies in a room that is not (one of) its zone's space(s)."""
    zone_id = text(device, "zone")
    rooms = facts.rooms.get(guid)
    zone_space = zone_guid.get(zone_id or "")
    if zone_id is None or not rooms or zone_space is None or zone_space not in facts:
        return
    spaces = facts.zone_spaces.get(zone_space) or frozenset({zone_space})
    if not rooms.isdisjoint(spaces):
        return
    zones_of = {space: zone for zone, space in zone_guid.items()}
    room = sorted(rooms)[0]
    other = zones_of.get(room)
    held = f"{facts.describe(room)} {room}" + (f", zone {other!r}" if other else ", in no zone")
    yield warn(
        where,
        f"device {text(device, 'id')!r} is in {held}, but its zone {zone_id!r} is "
        f"{facts.describe(zone_space)} {zone_space}",
    )


def check_zone_spaces(data: Any, warn: ErrorAt) -> Iterator[SiteError]:
    """Warn about a space named by two zones: its colour, alarms and occupancy would belong to either."""
    seen: dict[str, tuple[int, str | None]] = {}
    for z, zone in entries(data, "zones"):
        guid = text(zone, "ifc_guid")
        if guid is None:
            continue
        if guid in seen:
            first, first_id = seen[guid]
            yield warn(
                ("zones", z, "ifc_guid"),
                f"space {guid} is also zones[{first}]'s ({first_id!r}): a space belongs to one zone",
            )
        else:
            seen[guid] = (z, text(zone, "id"))
