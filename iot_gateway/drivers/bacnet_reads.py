"""What a BACnet driver reads: points grouped by object and property, split into ReadPropertyMultiple
requests that fit the device's maximum APDU (so devices without segmentation can answer every request)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bacpypes3.primitivedata import ObjectIdentifier, PropertyIdentifier

from iot_gateway.drivers.bacnet_values import object_identifier
from twin.site.model import BacnetAddress, Device, Point, PointKind

# Estimated answer size: an object costs its identifier and tags, a property its id, tags and value.
# Text values are the only ones of unknown length; 64 bytes is a generous guess for a status text.
OBJECT_BYTES = 8
PROPERTY_BYTES = 16
TEXT_PROPERTY_BYTES = 72
APDU_HEADER_BYTES = 16
MIN_APDU = 50  # the smallest max-APDU BACnet allows
# Object types whose present-value may be subscribed to (the device still decides).
COV_TYPES = ("analog-", "binary-", "multi-state-", "access-door", "life-safety-", "characterstring-value")


@dataclass
class Chunk:
    """One RPM request: the flat list bacpypes3 wants and the (object, property) keys it reads."""

    spec: list[Any] = field(default_factory=list)
    keys: list[tuple[str, str]] = field(default_factory=list)


def unreadable(address: BacnetAddress) -> str | None:
    """Why bacpypes3 cannot even encode a request for ``address`` (a property or object type name it does not
    know), or None. Such a point is BAD with this reason; it must not fail the requests of the other points."""
    try:
        PropertyIdentifier(address.property)
    except ValueError:
        return f"unknown property {address.property!r} (not a BACnet property name)"
    try:
        object_identifier(address)
    except ValueError:
        return f"unknown object type {address.object_type!r}"
    return None


class ReadPlan:
    """Points of one device by (object, property); chunks for RPM; objects to subscribe to.

    ``invalid`` holds the points that cannot be asked for at all (see ``unreadable``): they are in no chunk.
    """

    def __init__(self, device: Device) -> None:
        self.by_key: dict[tuple[str, str], list[Point]] = defaultdict(list)
        self.by_id: dict[str, Point] = {}
        self.invalid: dict[tuple[str, str], str] = {}  # (object, property) -> why it cannot be read
        for point in device.points:
            if not isinstance(point.address, BacnetAddress):
                raise ValueError(f"device {device.id}: point {point.id} has no BACnet address")
            key = (point.address.object, point.address.property)
            self.by_key[key].append(point)
            self.by_id[point.id] = point
            why = unreadable(point.address)
            if why is not None:
                self.invalid[key] = why
        self.use_rpm = True  # cleared for good when the device rejects ReadPropertyMultiple
        self.max_apdu = 1024  # updated from the device's I-Am

    def points(self) -> Iterator[tuple[tuple[str, str], Point]]:
        for key, points in self.by_key.items():
            for point in points:
                yield key, point

    def chunks(self) -> list[Chunk]:
        """RPM requests covering every (object, property), each answer estimated to fit max_apdu."""
        budget = max(self.max_apdu, MIN_APDU) - APDU_HEADER_BYTES
        by_object: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        for (object_name, prop), points in self.by_key.items():
            if (object_name, prop) not in self.invalid:
                by_object[object_name].append((prop, any(p.kind is PointKind.TEXT for p in points)))
        chunks: list[Chunk] = []
        current, used = Chunk(), 0
        for object_name, props in by_object.items():
            cost = OBJECT_BYTES + sum(TEXT_PROPERTY_BYTES if text else PROPERTY_BYTES for _, text in props)
            if current.keys and used + cost > budget:
                chunks.append(current)
                current, used = Chunk(), 0
            object_type, instance = object_name.split(":")
            current.spec.extend(
                [
                    ObjectIdentifier((object_type, int(instance))),
                    [PropertyIdentifier(prop) for prop, _ in props],
                ]
            )
            current.keys.extend((object_name, prop) for prop, _ in props)
            used += cost
        if current.keys:
            chunks.append(current)
        return chunks

    def cov_objects(self) -> list[ObjectIdentifier]:
        """Objects with a present-value point, of a type that can report COV."""
        found: dict[str, ObjectIdentifier] = {}
        for (object_name, prop), points in self.by_key.items():
            address = points[0].address
            assert isinstance(address, BacnetAddress)
            if (
                prop == "present-value"
                and address.object_type.startswith(COV_TYPES)
                and (object_name, prop) not in self.invalid
            ):
                found.setdefault(object_name, object_identifier(address))
        return list(found.values())
