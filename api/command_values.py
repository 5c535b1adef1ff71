"""What a command may write to a point (kind, states, range) and when a read-back value counts as the one written.

Pure functions of the site model, so the CommandRouter can refuse a bad value before any device is touched and
judge a read-back without knowing the protocol library. The range a point takes is the site's ``min``/``max``
narrowed by what its Modbus register can hold after scaling (an int16 x 0.1 setpoint cannot take 5000).
"""

from __future__ import annotations

import math

from iot_gateway.driver import WriteRejected
from iot_gateway.gateway import coerce_write_value
from twin.points import Value
from twin.site.model import BACNET_COMMANDABLE, BacnetAddress, ModbusAddress, Point, PointKind

# Integer ranges of Modbus register types (raw, before scale and value_offset).
_RAW_RANGE: dict[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}
FLOAT32_MAX = 3.4028234663852886e38
# A float32 keeps about 7 significant digits: a value written as float32 reads back within this relative error.
FLOAT32_RELATIVE = 1e-6


class InvalidValue(ValueError):
    """The value does not fit the point; the message names the point and what it takes."""


def value_range(point: Point) -> tuple[float, float]:
    """The lowest and highest value a command may write to an analog point."""
    low, high = -math.inf, math.inf
    address = point.address
    if isinstance(address, ModbusAddress) and address.bit is None:
        if address.data_type in _RAW_RANGE:
            raw_low, raw_high = _RAW_RANGE[address.data_type]
            ends = (raw_low * address.scale + address.value_offset, raw_high * address.scale + address.value_offset)
            low, high = min(ends), max(ends)
        elif address.data_type == "float32":
            scaled = FLOAT32_MAX * abs(address.scale)
            ends = (address.value_offset - scaled, address.value_offset + scaled)
            low, high = min(ends), max(ends)
    if point.min is not None:
        low = max(low, point.min)
    if point.max is not None:
        high = min(high, point.max)
    return low, high


def check_value(point: Point, value: Value) -> Value:
    """The value in the point's own form (a state name becomes its number), or InvalidValue saying why."""
    if value is None:
        raise InvalidValue(f"point {point.id} needs a value; to release a BACnet command use /release")
    try:
        coerced = coerce_write_value(point, value)
    except WriteRejected as exc:
        raise InvalidValue(str(exc)) from None
    if point.kind is PointKind.ANALOG and isinstance(coerced, int | float):
        low, high = value_range(point)
        if not low <= coerced <= high:
            raise InvalidValue(f"point {point.id} takes {_bound(low)} to {_bound(high)} {point.unit}".rstrip()
                               + f", got {coerced!r}")  # fmt: skip
    return coerced


def _bound(number: float) -> str:
    return f"{number:g}"


def tolerance(point: Point, value: float) -> float:
    """How far an analog read-back may be from the written value and still be it: half the register's step
    after scaling (a 21.55 written to an int16 x 0.1 register reads 21.5 or 21.6), plus float32 rounding."""
    step = 0.0
    address = point.address
    if isinstance(address, ModbusAddress) and address.data_type in _RAW_RANGE:
        step = abs(address.scale)
    relative = FLOAT32_RELATIVE
    if isinstance(address, ModbusAddress) and address.data_type == "float64":
        relative = 1e-12
    return step / 2 + relative * max(1.0, abs(value)) + 1e-12


def read_back_matches(point: Point, written: Value, read: Value) -> bool:
    """True when the device's read-back shows the value the command wrote."""
    if read is None:
        return False
    if point.kind is PointKind.ANALOG:
        if isinstance(read, bool) or not isinstance(read, int | float) or not isinstance(written, int | float):
            return False
        return math.isfinite(read) and abs(read - written) <= tolerance(point, float(written))
    if point.kind is PointKind.BINARY:
        return isinstance(read, bool) and read is bool(written)
    if point.kind is PointKind.MULTISTATE:
        return not isinstance(read, bool) and read == written
    return read == written


def commandable(point: Point) -> bool:
    """Whether the point is a BACnet command with a priority array (only those can be released)."""
    address = point.address
    return (
        isinstance(address, BacnetAddress)
        and address.object_type in BACNET_COMMANDABLE
        and address.property == "present-value"
    )
