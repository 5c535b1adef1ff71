"""Cross-reference checks of the wayfinding sections (windows, service catalogue, kiosks) on the raw YAML data."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from twin.site.checks import ErrorAt, GuidIndex, Path_, entries, text, undefined_zone
from twin.site.errors import SiteError
from twin.site.guid_checks import well_formed
from twin.site.ifc_facts import facts_of
from twin.site.suggest import did_you_mean


def _ids(node: Any, key: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, item in entries(node, key):
        item_id = text(item, "id")
        if item_id is not None:
            found.setdefault(item_id, index)
    return found


def _number(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def check_wayfinding(data: Any, error: ErrorAt, warn: ErrorAt, index: GuidIndex | None) -> Iterator[SiteError]:
    """Windows, services and kiosks name zones, window groups, windows, categories, ticket services and devices
    that exist; ids and window numbers are unique; window counters and kiosk storeys are in the building model."""
    zones, devices = _ids(data, "zones"), _ids(data, "devices")
    queues = data.get("queues") if isinstance(data, dict) else None
    groups, tickets = _ids(queues, "groups"), _ids(queues, "services")
    categories = _ids(data, "service_categories")
    yield from _unique(data, "service_categories", "service category", error)
    yield from _unique(data, "services", "service", error)
    yield from _unique(data, "kiosks", "kiosk", error)
    windows: dict[str, int] = {}
    for w, window in entries(data, "windows"):
        number = _number(window.get("number"))
        if number is not None:
            if number in windows:
                yield error(("windows", w, "number"), f"window {number} is listed twice "
                                                      f"(also windows[{windows[number]}])")
            windows.setdefault(number, w)
        zone = text(window, "zone")
        if zone is not None and zone not in zones:
            yield error(("windows", w, "zone"), undefined_zone(zone, zones))
    grouped = {n for _, group in entries(queues, "groups") for n in group.get("windows") or [] if isinstance(n, str)}
    if windows:
        for number in sorted(grouped - set(windows)):
            where: Path_ = ("windows",)
            yield warn(where, f"window {number} of queues.groups has no entry under windows: (no counter to guide "
                              f"visitors to)")
    known_windows = set(windows) | grouped
    for s, service in entries(data, "services"):
        here: Path_ = ("services", s)
        category = text(service, "category")
        if category is not None and category not in categories:
            yield error((*here, "category"), f"category {category!r} is not defined under service_categories:"
                                             f"{did_you_mean(category, categories)}")
        group = text(service, "window_group")
        if group is not None and group not in groups:
            yield error((*here, "window_group"), f"window group {group!r} is not defined under queues.groups:"
                                                 f"{did_you_mean(group, groups)}")
        zone = text(service, "zone")
        if zone is not None and zone not in zones:
            yield error((*here, "zone"), undefined_zone(zone, zones))
        ticket = text(service, "ticket_service")
        if ticket is not None and ticket not in tickets:
            yield error((*here, "ticket_service"), f"ticket service {ticket!r} is not defined under queues.services:"
                                                   f"{did_you_mean(ticket, tickets)}")
        listed = service.get("windows")
        for n, number in enumerate(listed if isinstance(listed, list) else []):
            if isinstance(number, str) and number not in known_windows:
                yield error((*here, "windows", n), f"window {number} is neither under windows: nor in a window group"
                                                   f"{did_you_mean(number, known_windows)}")
    for k, kiosk in entries(data, "kiosks"):
        zone, device = text(kiosk, "zone"), text(kiosk, "device")
        if zone is not None and zone not in zones:
            yield error(("kiosks", k, "zone"), undefined_zone(zone, zones))
        if device is not None and device not in devices:
            yield error(("kiosks", k, "device"), f"device {device!r} is not defined under devices:"
                                                 f"{did_you_mean(device, devices)}")
    if index is not None:
        yield from _in_model(data, index, error)


def _in_model(data: Any, index: GuidIndex, error: ErrorAt) -> Iterator[SiteError]:
    facts = facts_of(index)
    for w, window in entries(data, "windows"):
        guid = text(window, "ifc_guid")
        if guid is not None and well_formed(guid) and guid not in facts:
            yield error(("windows", w, "ifc_guid"), f"GlobalId {guid} is not in the building model")
    # A storey's label is "Name LongName": a kiosk names it by GlobalId or by its Name (the label's first word).
    storeys: Mapping[str, str] = {guid: facts.names.get(guid, "") for guid, cls in facts.classes.items()
                                  if cls == "IfcBuildingStorey"}  # fmt: skip
    accepted = set(storeys) | {label.split(" ")[0] for label in storeys.values() if label}
    for k, kiosk in entries(data, "kiosks"):
        point = kiosk.get("point")
        storey = text(point, "storey")
        if storey is not None and storey not in accepted:
            names = sorted(n for n in storeys.values() if n)
            yield error(("kiosks", k, "point", "storey"), f"no storey {storey!r} in the building model (storeys: "
                                                          f"{', '.join(names) or 'none named'})")


def _unique(data: Any, key: str, what: str, error: ErrorAt) -> Iterator[SiteError]:
    seen: dict[str, int] = {}
    for position, item in entries(data, key):
        item_id = text(item, "id")
        if item_id is None:
            continue
        if item_id in seen:
            yield error((key, position, "id"), f"duplicate {what} id {item_id!r} (also {key}[{seen[item_id]}])")
        seen.setdefault(item_id, position)
