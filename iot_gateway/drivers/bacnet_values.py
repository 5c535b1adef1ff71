"""Conversion between bacpypes3 property values and point values (both ways), shared by driver and simulator.

Reading (device -> point), by the point's kind:
- analog: any number -> float (NaN/inf are refused: they never carry quality GOOD).
- binary: BinaryPV active -> True, inactive -> False; any other enumeration -> its value != 0, which makes
  door-status opened, door (present-value) unlock and life-safety states other than quiet True.
- multistate: an Unsigned state number (1..n) -> int; an enumeration (door value, life-safety state) -> the
  1-based position of its BACnet name (e.g. "pre-alarm") in ``states`` (site.yaml sets the order).
- text: CharacterString -> str; an enumeration -> its BACnet name (life-safety "alarm", door-status "opened").

Writing (point -> device) follows the property's BACnet datatype, looked up in bacpypes3's object classes; a
``None`` value is a BACnet Null, which relinquishes a command at the write priority.
"""

from __future__ import annotations

import math
from typing import Any

from bacpypes3.basetypes import BinaryPV
from bacpypes3.constructeddata import Any as AnyValue
from bacpypes3.primitivedata import (
    Atomic,
    Boolean,
    CharacterString,
    Double,
    Enumerated,
    Integer,
    Null,
    ObjectIdentifier,
    ObjectType,
    PropertyIdentifier,
    Real,
    Unsigned,
)
from bacpypes3.vendor import get_vendor_info

from twin.points import Value
from twin.site.model import BacnetAddress, Point, PointKind


class ValueConversionError(ValueError):
    """A value that cannot become the point's kind (or the property's BACnet datatype)."""


def object_identifier(address: BacnetAddress) -> ObjectIdentifier:
    """The bacpypes3 identifier of ``analog-input:1`` (requests want this object, not the string)."""
    return ObjectIdentifier((address.object_type, address.instance))


def property_identifier(address: BacnetAddress) -> PropertyIdentifier:
    return PropertyIdentifier(address.property)


def property_datatype(object_type: Any, prop: Any) -> type | None:
    """The bacpypes3 class of a property of a standard object type (None: unknown to bacpypes3)."""
    object_class = get_vendor_info(0).get_object_class(ObjectType(object_type))
    if object_class is None:
        return None
    datatype: type | None = object_class.get_property_type(prop)
    return datatype


def decode_any(object_type: Any, prop: Any, value: AnyValue) -> Any:
    """Cast a COV notification's Any-wrapped value out to the property's datatype."""
    datatype = property_datatype(object_type, prop)
    if datatype is None:
        raise ValueConversionError(f"bacpypes3 has no datatype for {object_type} {prop}")
    return value.cast_out(datatype, null=issubclass(datatype, Atomic))


def to_point_value(point: Point, raw: Any) -> Value:
    """The point value for a decoded BACnet value; raises ValueConversionError naming the point."""
    kind = point.kind
    if raw is None or isinstance(raw, Null):
        raise ValueConversionError(f"{point.id}: the device reports no value (null)")
    if isinstance(raw, Enumerated):
        return _from_enumerated(point, raw)
    if isinstance(raw, CharacterString):
        if kind is PointKind.TEXT:
            return str(raw)
        raise ValueConversionError(f"{point.id}: text {str(raw)!r} for a {kind} point")
    if isinstance(raw, Boolean):
        return _from_number(point, int(raw))
    if isinstance(raw, int | float):
        return _from_number(point, raw)
    raise ValueConversionError(f"{point.id}: unsupported BACnet value {type(raw).__name__} {raw!r}")


def _from_enumerated(point: Point, raw: Enumerated) -> Value:
    name = str(raw)
    if point.kind is PointKind.BINARY:
        if isinstance(raw, BinaryPV):
            return name == "active"
        return int(raw) != 0
    if point.kind is PointKind.TEXT:
        return name
    if point.kind is PointKind.MULTISTATE:
        states = point.states or []
        if name in states:
            return states.index(name) + 1
        raise ValueConversionError(f"{point.id}: state {name!r} is not one of the point's states {states}")
    raise ValueConversionError(f"{point.id}: enumerated value {name!r} cannot be an analog value")


def _from_number(point: Point, number: int | float) -> Value:
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueConversionError(f"{point.id}: the device reports {number}")
    if point.kind is PointKind.ANALOG:
        return float(number)
    if point.kind is PointKind.BINARY:
        return number != 0
    if point.kind is PointKind.MULTISTATE:
        if number != int(number) or number < 1:
            raise ValueConversionError(f"{point.id}: {number} is not a state number (1..n)")
        return int(number)
    return str(number)


def to_bacnet_value(point: Point, address: BacnetAddress, value: Value) -> Atomic:
    """The BACnet value to write for ``value`` (None -> Null: relinquish); raises ValueConversionError."""
    if value is None:
        return Null(())
    datatype = property_datatype(address.object_type, address.property)
    if datatype is None:
        raise ValueConversionError(
            f"{point.id}: bacpypes3 has no datatype for {address.object} {address.property}"
        )
    where = f"{point.id} ({address.object} {address.property})"
    try:
        if issubclass(datatype, Enumerated):
            return datatype(_enumeration_name(point, datatype, value))
        if isinstance(value, str) and not issubclass(datatype, CharacterString):
            raise ValueConversionError(f"{where}: text {value!r} for a numeric property")
        if issubclass(datatype, Real | Double):
            return datatype(float(value))
        if issubclass(datatype, Boolean):
            return datatype(bool(value))
        if issubclass(datatype, Unsigned | Integer):
            if isinstance(value, float) and not value.is_integer():
                raise ValueConversionError(f"{where}: {value} is not a whole number")
            states = point.states if point.kind is PointKind.MULTISTATE else None
            if states and not 1 <= int(value) <= len(states):
                raise ValueConversionError(f"{where}: state {value} is not one of 1..{len(states)} {states}")
            return datatype(int(value))
        if issubclass(datatype, CharacterString):
            return datatype(str(value))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ValueConversionError):
            raise
        raise ValueConversionError(f"{where}: {value!r} is out of range for {datatype.__name__}") from exc
    raise ValueConversionError(f"{where}: writing {datatype.__name__} is not supported")


def _enumeration_name(point: Point, datatype: type, value: Value) -> str:
    """The name to write: bool -> active/inactive (or 1/0), a state number -> its name, a name as is."""
    names: dict[str, int] = getattr(datatype, "_enum_map", {})
    if isinstance(value, bool):
        if datatype is BinaryPV or issubclass(datatype, BinaryPV):
            return "active" if value else "inactive"
        wanted = 1 if value else 0
        for name, number in names.items():
            if number == wanted:
                return name
    elif isinstance(value, str):
        if value in names:
            return value
    elif isinstance(value, int | float) and point.states and value == int(value) and 1 <= value <= len(point.states):
        name = point.states[int(value) - 1]
        if name in names:
            return name
    raise ValueConversionError(
        f"{point.id}: {value!r} is not one of {sorted(names, key=names.__getitem__)} ({datatype.__name__})"
    )
