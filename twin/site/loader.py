"""Load and check a site file: YAML, then the pydantic model, then cross-references and IFC GlobalIds.

Every problem is collected with its file and line, so one run of ``halltwin check`` lists them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.site.errors import SiteError, SiteFileError
from twin.site.model import (
    ADDRESS_FOR_CONNECTION,
    BACNET_COMMANDABLE,
    BacnetAddress,
    DeviceKind,
    ModbusAddress,
    PointKind,
    SiteConfig,
)
from twin.site.yaml_positions import PositionedYaml

Path_ = tuple[str | int, ...]
# GlobalId -> IFC class name, for the building the site is bound to.
GuidIndex = Mapping[str, str]
ZONE_CLASSES = frozenset({"IfcSpace", "IfcZone"})


def format_path(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def ifc_guid_index(ifc_path: Path) -> dict[str, str]:
    """GlobalId -> class of every rooted entity of an IFC file."""
    import ifcopenshell  # heavy: imported only when a site is checked against its model

    model = ifcopenshell.open(str(ifc_path))
    return {entity.GlobalId: entity.is_a() for entity in model.by_type("IfcRoot")}


def load_site(
    path: str | Path,
    guid_index: GuidIndex | Callable[[Path], GuidIndex] | None = ifc_guid_index,
) -> SiteConfig:
    """Read ``path`` and return the checked site, or raise SiteFileError listing every problem.

    ``guid_index`` checks each ``ifc_guid`` against the building model named in the file; pass ``None`` to skip
    that check (for tools that only need the device list).
    """
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteFileError([SiteError(name, None, "", f"cannot read the site file: {exc}")]) from exc

    document = PositionedYaml(text)
    errors = [SiteError(name, p.line, format_path(p.path), p.message) for p in document.problems]
    if errors:
        raise SiteFileError(errors)
    if not isinstance(document.data, dict):
        raise SiteFileError([SiteError(name, 1, "", "the site file must be a mapping with site:, zones:, devices:")])

    def error(where: Path_, message: str) -> SiteError:
        return SiteError(name, document.line_of(where), format_path(where), message)

    try:
        site = SiteConfig.model_validate(document.data)
    except ValidationError as exc:
        raise SiteFileError([_from_pydantic(item, document.data, error) for item in exc.errors()]) from exc

    problems = list(check_references(site, error))
    if isinstance(guid_index, Mapping) and not problems:
        problems.extend(check_guids(site, guid_index, error))
    elif callable(guid_index) and not problems:
        ifc_path = (path.parent / site.site.ifc).resolve()
        if not ifc_path.is_file():
            problems.append(error(("site", "ifc"), f"the building model {ifc_path} does not exist"))
        else:
            try:
                index = guid_index(ifc_path)
            except Exception as exc:  # any failure to read the model is a problem of this site file
                problems.append(error(("site", "ifc"), f"cannot read the building model {ifc_path}: {exc}"))
            else:
                problems.extend(check_guids(site, index, error))
    if problems:
        raise SiteFileError(problems)
    return site


def _from_pydantic(item: Any, data: Any, error: Callable[[Path_, str], SiteError]) -> SiteError:
    loc: Path_ = tuple(item["loc"])
    kind = item["type"]
    if kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif kind == "missing":
        message = f"missing required key {loc[-1]!r}"
    else:
        message = str(item["msg"]).removeprefix("Value error, ")
        if "input" in item and not isinstance(item["input"], dict | list):
            message += f" (got {item['input']!r})"
    return error(_readable(loc, data), message)


def _readable(loc: Path_, data: Any) -> Path_:
    """Drop the union tags pydantic puts in paths (``connection.modbus_tcp.port`` -> ``connection.port``)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            out.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and node.get("type") == part:
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


def check_references(site: SiteConfig, error: Callable[[Path_, str], SiteError]) -> Iterable[SiteError]:
    """Unique ids, references that resolve, addresses that fit their connection."""
    zone_ids: dict[str, int] = {}
    for i, zone in enumerate(site.zones):
        if zone.id in zone_ids:
            yield error(("zones", i, "id"), f"duplicate zone id {zone.id!r} (also zones[{zone_ids[zone.id]}])")
        zone_ids.setdefault(zone.id, i)

    device_ids: dict[str, int] = {}
    point_ids: dict[str, Path_] = {}
    for d, device in enumerate(site.devices):
        here: Path_ = ("devices", d)
        if device.id in device_ids:
            yield error((*here, "id"), f"duplicate device id {device.id!r} (also devices[{device_ids[device.id]}])")
        device_ids.setdefault(device.id, d)
        if device.zone not in zone_ids:
            yield error((*here, "zone"), f"zone {device.zone!r} is not defined under zones:")
        if device.connection is None and device.points:
            yield error((*here, "points"), "points need a connection: to read them from")
        reserved = device.comm_point_id
        for p, point in enumerate(device.points):
            at: Path_ = (*here, "points", p)
            if point.id == reserved or point.id in point_ids:
                other = "the device's communication-loss point" if point.id == reserved else format_path(
                    point_ids[point.id]
                )
                yield error((*at, "id"), f"duplicate point id {point.id!r} (also {other})")
            point_ids.setdefault(point.id, at)
            if device.connection is not None:
                expected = ADDRESS_FOR_CONNECTION[device.connection.type]
                if point.address.type != expected:
                    yield error(
                        (*at, "address", "type"),
                        f"a {device.connection.type} device needs {expected} addresses, not {point.address.type}",
                    )
            yield from _check_writable(point.address, point.writable, (*at, "writable"), error)
        point_ids.setdefault(reserved, (*here, "id"))

    for z, pa in enumerate(site.pa_zones):
        for i, zone_id in enumerate(pa.zones):
            if zone_id not in zone_ids:
                yield error(("pa_zones", z, "zones", i), f"zone {zone_id!r} is not defined under zones:")
        for i, speaker in enumerate(pa.speakers):
            if speaker not in device_ids:
                yield error(("pa_zones", z, "speakers", i), f"device {speaker!r} is not defined under devices:")
            elif site.devices[device_ids[speaker]].kind != DeviceKind.IP_SPEAKER:
                yield error(("pa_zones", z, "speakers", i), f"device {speaker!r} is not an ip_speaker")
    pa_ids = [pa.id for pa in site.pa_zones]
    for z, pa_id in enumerate(pa_ids):
        if pa_ids.index(pa_id) != z:
            yield error(("pa_zones", z, "id"), f"duplicate PA zone id {pa_id!r}")
    yield from check_doors(site, set(zone_ids), error)


def check_doors(site: SiteConfig, zone_ids: set[str], error: Callable[[Path_, str], SiteError]) -> Iterable[SiteError]:
    """Doors: unique ids, a known zone, and binary points of a polled device (the lock point writable)."""
    points = site.points()
    seen: dict[str, int] = {}
    for d, door in enumerate(site.doors):
        here: Path_ = ("doors", d)
        if door.id in seen:
            yield error((*here, "id"), f"duplicate door id {door.id!r} (also doors[{seen[door.id]}])")
        seen.setdefault(door.id, d)
        if door.zone not in zone_ids:
            yield error((*here, "zone"), f"zone {door.zone!r} is not defined under zones:")
        for field, point_id in (("lock_point", door.lock_point), ("open_point", door.open_point),
                                ("forced_point", door.forced_point)):  # fmt: skip
            if point_id is None:
                continue
            found = points.get(point_id)
            if found is None:
                yield error((*here, field), f"point {point_id!r} is not defined under any device's points:")
            elif found[1].kind != PointKind.BINARY:
                yield error((*here, field), f"point {point_id!r} is {found[1].kind.value}, a door needs a binary point")
            elif field == "lock_point" and not found[1].writable:
                yield error((*here, field), f"point {point_id!r} is not writable: the door could not be unlocked")


def _check_writable(
    address: object, writable: bool, where: Path_, error: Callable[[Path_, str], SiteError]
) -> Iterable[SiteError]:
    if not writable:
        return
    if isinstance(address, ModbusAddress) and address.table in ("input", "discrete"):
        yield error(where, f"Modbus {address.table} registers are read-only")
    if isinstance(address, BacnetAddress) and address.object_type not in BACNET_COMMANDABLE:
        yield error(where, f"BACnet {address.object_type} objects are not commandable")


def check_guids(site: SiteConfig, index: GuidIndex, error: Callable[[Path_, str], SiteError]) -> Iterable[SiteError]:
    """Every ifc_guid names an element of the building; a zone names a space."""
    for z, zone in enumerate(site.zones):
        cls = index.get(zone.ifc_guid)
        if cls is None:
            yield error(("zones", z, "ifc_guid"), f"GlobalId {zone.ifc_guid} is not in {site.site.ifc}")
        elif cls not in ZONE_CLASSES:
            yield error(("zones", z, "ifc_guid"), f"GlobalId {zone.ifc_guid} is an {cls}, not an IfcSpace")
    for d, door in enumerate(site.doors):
        if door.ifc_guid not in index:
            yield error(("doors", d, "ifc_guid"), f"GlobalId {door.ifc_guid} is not in {site.site.ifc}")
    for d, device in enumerate(site.devices):
        if device.ifc_guid not in index:
            yield error(("devices", d, "ifc_guid"), f"GlobalId {device.ifc_guid} is not in {site.site.ifc}")
        for p, point in enumerate(device.points):
            if point.ifc_guid is not None and point.ifc_guid not in index:
                yield error(
                    ("devices", d, "points", p, "ifc_guid"), f"GlobalId {point.ifc_guid} is not in {site.site.ifc}"
                )
