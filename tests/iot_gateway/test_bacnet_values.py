"""Value conversion between BACnet datatypes and point values (documented in bacnet_values)."""

from __future__ import annotations

import math

import pytest
from bacpypes3.basetypes import BinaryPV, DoorStatus, DoorValue, LifeSafetyState
from bacpypes3.primitivedata import CharacterString, Null, Real, Unsigned

from iot_gateway.drivers.bacnet_values import ValueConversionError, to_bacnet_value, to_point_value
from tests.iot_gateway.test_bacnet_driver import make_point
from twin.site.model import BacnetAddress, Point, PointKind


def param_id(value: object) -> str | None:
    """bacpypes3 strings cannot be escaped by pytest's id maker: name them by type."""
    return type(value).__name__ if isinstance(value, CharacterString) else None


def point(obj: str, kind: PointKind, prop: str = "present-value", states: list[str] | None = None) -> Point:
    return make_point("d", "p", obj, prop, kind, states, True)


def address(p: Point) -> BacnetAddress:
    assert isinstance(p.address, BacnetAddress)
    return p.address


@pytest.mark.parametrize(
    ("obj", "kind", "prop", "states", "raw", "expected"),
    [
        ("analog-input:1", PointKind.ANALOG, "present-value", None, Real(21.5), 21.5),
        ("multi-state-value:1", PointKind.ANALOG, "present-value", None, Unsigned(3), 3.0),
        ("binary-input:1", PointKind.BINARY, "present-value", None, BinaryPV("active"), True),
        ("binary-input:1", PointKind.BINARY, "present-value", None, BinaryPV("inactive"), False),
        ("multi-state-input:1", PointKind.MULTISTATE, "present-value", ["a", "b"], Unsigned(2), 2),
        ("access-door:1", PointKind.BINARY, "present-value", None, DoorValue("unlock"), True),
        ("access-door:1", PointKind.TEXT, "door-status", None, DoorStatus("opened"), "opened"),
        ("life-safety-point:1", PointKind.TEXT, "present-value", None, LifeSafetyState("pre-alarm"), "pre-alarm"),
        ("life-safety-zone:1", PointKind.MULTISTATE, "present-value", ["quiet", "alarm"], LifeSafetyState("alarm"), 2),
        ("life-safety-zone:1", PointKind.BINARY, "present-value", None, LifeSafetyState("quiet"), False),
        ("characterstring-value:1", PointKind.TEXT, "present-value", None, CharacterString("排队 A023"), "排队 A023"),
    ],
    ids=param_id,
)  # fmt: skip
def test_reads(obj: str, kind: PointKind, prop: str, states: list[str] | None, raw: object, expected: object) -> None:
    value = to_point_value(point(obj, kind, prop, states), raw)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("kind", "states", "raw", "message"),
    [
        (PointKind.ANALOG, None, Real(math.nan), "reports nan"),
        (PointKind.ANALOG, None, Null(()), "no value"),
        (PointKind.MULTISTATE, ["quiet"], LifeSafetyState("fault"), "'fault' is not one of the point's states"),
        (PointKind.ANALOG, None, LifeSafetyState("fault"), "cannot be an analog value"),
        (PointKind.ANALOG, None, CharacterString("x"), "text 'x' for a analog point"),
        (PointKind.MULTISTATE, ["a"], Unsigned(0), "not a state number"),
    ],
    ids=param_id,
)
def test_unusable_reads_name_the_point(kind: PointKind, states: list[str] | None, raw: object, message: str) -> None:
    with pytest.raises(ValueConversionError, match=f"d.p: .*{message}"):
        to_point_value(point("analog-value:1", kind, states=states), raw)


def test_writes_follow_the_property_datatype() -> None:
    door = point("access-door:1", PointKind.BINARY)
    assert to_bacnet_value(door, address(door), True) == DoorValue("unlock")
    fan = point("multi-state-output:1", PointKind.MULTISTATE, states=["low", "high"])
    assert to_bacnet_value(fan, address(fan), 2) == Unsigned(2)
    lock = point("binary-output:1", PointKind.BINARY)
    assert to_bacnet_value(lock, address(lock), False) == BinaryPV("inactive")
    setpoint = point("analog-value:1", PointKind.ANALOG)
    assert isinstance(to_bacnet_value(setpoint, address(setpoint), 24), Real)
    assert isinstance(to_bacnet_value(setpoint, address(setpoint), None), Null)  # relinquish


@pytest.mark.parametrize(
    ("obj", "kind", "states", "value", "message"),
    [
        ("analog-value:1", PointKind.ANALOG, None, "hot", "text 'hot' for a numeric property"),
        ("multi-state-value:1", PointKind.MULTISTATE, ["a", "b"], 3, r"state 3 is not one of 1..2"),
        ("multi-state-value:1", PointKind.MULTISTATE, ["a", "b"], 1.5, "not a whole number"),
        ("access-door:1", PointKind.TEXT, None, "open sesame", "'open sesame' is not one of"),
    ],
)
def test_bad_writes_name_the_point(obj: str, kind: PointKind, states: list[str] | None, value: object,
                                   message: str) -> None:  # fmt: skip
    p = point(obj, kind, states=states)
    with pytest.raises(ValueConversionError, match=f"d.p.*{message}"):
        to_bacnet_value(p, address(p), value)  # type: ignore[arg-type]
