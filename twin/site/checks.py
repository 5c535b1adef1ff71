"""Cross-reference checks of a site file, run on the raw YAML data so that they report together with the schema
errors: a dangling zone is found even while the same device has a wrong type elsewhere.

Each check skips values of the wrong type (the schema reports those) and never fails on a malformed document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from twin.site.errors import SiteError
from twin.site.model import ADDRESS_FOR_CONNECTION, BACNET_COMMANDABLE, DeviceKind
from twin.site.suggest import did_you_mean

Path_ = tuple[str | int, ...]
ErrorAt = Callable[[Path_, str], SiteError]
GuidIndex = Mapping[str, str]  # GlobalId -> IFC class name (twin.site.ifc_facts.ModelFacts knows more)
DOOR_POINT_KEYS = ("lock_point", "open_point", "forced_point")


def entries(data: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, mapping) of each mapping in the list ``data[key]``; anything else is the schema's to report."""
    node = data.get(key) if isinstance(data, dict) else None
    if isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, dict):
                yield index, item


def text(node: Any, key: str) -> str | None:
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, str) else None


def format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def undefined_zone(zone_id: str, zone_ids: Mapping[str, int]) -> str:
    """The message for a reference to a zone the site does not define, with the nearest id."""
    return f"zone {zone_id!r} is not defined under zones:{did_you_mean(zone_id, zone_ids)}"


def check_references(data: Any, error: ErrorAt) -> Iterator[SiteError]:
    """Unique ids, references that resolve, addresses that fit their connection, distinct device endpoints."""
    zone_ids: dict[str, int] = {}
    for z, zone in entries(data, "zones"):
        zone_id = text(zone, "id")
        if zone_id is None:
            continue
        if zone_id in zone_ids:
            yield error(("zones", z, "id"), f"duplicate zone id {zone_id!r} (also zones[{zone_ids[zone_id]}])")
        zone_ids.setdefault(zone_id, z)

    device_ids: dict[str, int] = {}
    device_kinds: dict[str, object] = {}
    points: dict[str, dict[str, Any]] = {}  # point id -> its raw mapping
    point_paths: dict[str, Path_] = {}
    for d, device in entries(data, "devices"):
        here: Path_ = ("devices", d)
        device_id = text(device, "id")
        if device_id is not None:
            if device_id in device_ids:
                yield error((*here, "id"), f"duplicate device id {device_id!r} (also devices[{device_ids[device_id]}])")
            device_ids.setdefault(device_id, d)
            device_kinds.setdefault(device_id, device.get("kind"))
        zone_ref = text(device, "zone")
        if zone_ref is not None and zone_ref not in zone_ids:
            yield error((*here, "zone"), undefined_zone(zone_ref, zone_ids))
        connection = device.get("connection")
        if connection is None and device.get("points"):
            yield error((*here, "points"), "points need a connection: to read them from")
        connection_type = text(connection, "type")
        reserved = f"{device_id}.comm_lost" if device_id is not None else None
        for p, point in entries(device, "points"):
            at: Path_ = (*here, "points", p)
            point_id = text(point, "id")
            if point_id is not None:
                if point_id == reserved or point_id in point_paths:
                    other = (
                        "the device's communication-loss point"
                        if point_id == reserved
                        else format_path(point_paths[point_id])
                    )
                    yield error((*at, "id"), f"duplicate point id {point_id!r} (also {other})")
                point_paths.setdefault(point_id, at)
                points.setdefault(point_id, point)
            address = point.get("address")
            address_type = text(address, "type")
            expected = ADDRESS_FOR_CONNECTION.get(connection_type or "")
            if expected is not None and address_type is not None and address_type != expected:
                yield error(
                    (*at, "address", "type"),
                    f"a {connection_type} device needs {expected} addresses, not {address_type}",
                )
            if point.get("writable") is True and isinstance(address, dict):
                yield from _check_writable(address, (*at, "writable"), error)
        if reserved is not None:
            point_paths.setdefault(reserved, (*here, "id"))

    yield from _check_pa_zones(data, zone_ids, device_ids, device_kinds, error)
    yield from check_doors(data, zone_ids, points, error)
    yield from check_endpoints(data, error)


def _check_writable(address: dict[str, Any], where: Path_, error: ErrorAt) -> Iterator[SiteError]:
    kind = text(address, "type")
    table = text(address, "table")
    if kind == "modbus" and table in ("input", "discrete"):
        yield error(where, f"Modbus {table} registers are read-only")
    obj = text(address, "object")
    if kind == "bacnet" and obj is not None and ":" in obj:
        object_type = obj.split(":")[0]
        if object_type not in BACNET_COMMANDABLE:
            yield error(where, f"BACnet {object_type} objects are not commandable")


def _check_pa_zones(
    data: Any,
    zone_ids: Mapping[str, int],
    device_ids: Mapping[str, int],
    device_kinds: Mapping[str, object],
    error: ErrorAt,
) -> Iterator[SiteError]:
    seen: dict[str, int] = {}
    for z, pa in entries(data, "pa_zones"):
        pa_id = text(pa, "id")
        if pa_id is not None:
            if pa_id in seen:
                yield error(("pa_zones", z, "id"), f"duplicate PA zone id {pa_id!r}")
            seen.setdefault(pa_id, z)
        zones = pa.get("zones")
        for i, zone_id in enumerate(zones if isinstance(zones, list) else []):
            if isinstance(zone_id, str) and zone_id not in zone_ids:
                yield error(("pa_zones", z, "zones", i), undefined_zone(zone_id, zone_ids))
        speakers = pa.get("speakers")
        for i, speaker in enumerate(speakers if isinstance(speakers, list) else []):
            if not isinstance(speaker, str):
                continue
            if speaker not in device_ids:
                yield error(
                    ("pa_zones", z, "speakers", i),
                    f"device {speaker!r} is not defined under devices:{did_you_mean(speaker, device_ids)}",
                )
            elif device_kinds.get(speaker) != DeviceKind.IP_SPEAKER.value:
                yield error(("pa_zones", z, "speakers", i), f"device {speaker!r} is not an ip_speaker")


def check_doors(
    data: Any, zone_ids: Mapping[str, int], points: Mapping[str, dict[str, Any]], error: ErrorAt
) -> Iterator[SiteError]:
    """Doors: unique ids, a known zone, and binary points of a polled device (the lock point writable)."""
    seen: dict[str, int] = {}
    for d, door in entries(data, "doors"):
        here: Path_ = ("doors", d)
        door_id = text(door, "id")
        if door_id is not None:
            if door_id in seen:
                yield error((*here, "id"), f"duplicate door id {door_id!r} (also doors[{seen[door_id]}])")
            seen.setdefault(door_id, d)
        zone = text(door, "zone")
        if zone is not None and zone not in zone_ids:
            yield error((*here, "zone"), undefined_zone(zone, zone_ids))
        for key in DOOR_POINT_KEYS:
            point_id = text(door, key)
            if point_id is None:
                continue
            point = points.get(point_id)
            if point is None:
                yield error(
                    (*here, key),
                    f"point {point_id!r} is not defined under any device's points:{did_you_mean(point_id, points)}",
                )
            elif point.get("kind") != "binary":
                yield error((*here, key), f"point {point_id!r} is {point.get('kind')}, a door needs a binary point")
            elif key == "lock_point" and point.get("writable") is not True:
                yield error((*here, key), f"point {point_id!r} is not writable: the door could not be unlocked")


def check_endpoints(data: Any, error: ErrorAt) -> Iterator[SiteError]:
    """Two devices at one endpoint would read each other's values: the same Modbus host:port and unit, the same
    BACnet device instance, or the same BACnet address."""
    seen: dict[tuple[object, ...], int] = {}
    for d, device in entries(data, "devices"):
        connection = device.get("connection")
        if not isinstance(connection, dict):
            continue
        kind = text(connection, "type")
        keys: list[tuple[tuple[object, ...], str, str]] = []
        if kind == "modbus_tcp":
            host, port, unit = text(connection, "host"), connection.get("port", 502), connection.get("device_id", 1)
            if host is not None and isinstance(port, int) and isinstance(unit, int):
                keys.append((("modbus", host.lower(), port, unit), "host", f"Modbus {host}:{port} unit {unit}"))
        elif kind == "bacnet_ip":
            instance = connection.get("device_instance")
            if isinstance(instance, int) and not isinstance(instance, bool):
                keys.append((("bacnet-instance", instance), "device_instance", f"BACnet device instance {instance}"))
            address = text(connection, "address")
            if address is not None:
                keys.append((("bacnet-address", address.lower()), "address", f"BACnet address {address}"))
        for key, field, what in keys:
            if key in seen:
                yield error(
                    ("devices", d, "connection", field),
                    f"{what} is also devices[{seen[key]}]'s: two devices cannot share one endpoint",
                )
            else:
                seen[key] = d
