"""Turn an MQTT JSON payload into point values, naming exactly what is wrong with bad input."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any

from twin.points import Value
from twin.site.model import Point, PointKind

MAX_PAYLOAD_BYTES = 64 * 1024


class BadKind(StrEnum):
    """The kinds of bad input the driver counts (driver.stats) and logs once per device."""

    OVERSIZED = "oversized"
    MALFORMED_JSON = "malformed_json"
    NOT_OBJECT = "not_object"
    MISSING_PATH = "missing_path"
    WRONG_TYPE = "wrong_type"
    NON_FINITE = "non_finite"
    OUT_OF_RANGE = "out_of_range"
    BAD_TIMESTAMP = "bad_timestamp"


class BadInput(ValueError):
    def __init__(self, kind: BadKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class _NonFinite:
    """Stands in for NaN/Infinity literals, which Python's json accepts but JSON does not."""

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def __repr__(self) -> str:
        return self.literal


def decode_payload(data: bytes) -> dict[str, Any]:
    """The payload as a JSON object. The size is checked before parsing so that a huge message costs nothing."""
    if len(data) > MAX_PAYLOAD_BYTES:
        raise BadInput(BadKind.OVERSIZED, f"{len(data)} bytes, more than {MAX_PAYLOAD_BYTES}")
    try:
        payload = json.loads(data, parse_constant=_NonFinite)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadInput(BadKind.MALFORMED_JSON, _short(str(error))) from None
    if not isinstance(payload, dict):
        raise BadInput(BadKind.NOT_OBJECT, f"a JSON {type(payload).__name__}, not an object")
    return payload


def payload_timestamp(payload: dict[str, Any]) -> float | None:
    """The device's own timestamp ``"ts"`` (seconds since the epoch), if it sent one."""
    if "ts" not in payload:
        return None
    ts = payload["ts"]
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts) or ts <= 0:
        raise BadInput(BadKind.BAD_TIMESTAMP, f'"ts" must be positive seconds, got {_short(repr(ts))}')
    return float(ts)


def convert(point: Point, raw: Any) -> Value:
    """The value of ``point`` from its JSON value; BadInput when the type or range does not fit the point kind."""
    if isinstance(raw, _NonFinite) or (isinstance(raw, float) and not math.isfinite(raw)):
        raise BadInput(BadKind.NON_FINITE, f"{point.id}: {raw!r} is not a finite number")
    if point.kind == PointKind.ANALOG:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return raw
    elif point.kind == PointKind.BINARY:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int | float) and raw in (0, 1):  # many devices send 0/1 for off/on
            return bool(raw)
    elif point.kind == PointKind.MULTISTATE:
        return _multistate(point, raw)
    elif point.kind == PointKind.TEXT:
        if isinstance(raw, str):
            return raw
        if isinstance(raw, int) and not isinstance(raw, bool):  # ticket numbers sent as numbers
            return str(raw)
    raise BadInput(BadKind.WRONG_TYPE, f"{point.id}: a {point.kind} point cannot take {_short(repr(raw))}")


def _multistate(point: Point, raw: Any) -> int:
    states = point.states or []
    if isinstance(raw, str):
        if raw in states:
            return states.index(raw) + 1
        raise BadInput(BadKind.OUT_OF_RANGE, f"{point.id}: {_short(raw)!r} is not one of {states}")
    if isinstance(raw, bool) or not isinstance(raw, int | float) or int(raw) != raw:
        raise BadInput(BadKind.WRONG_TYPE, f"{point.id}: a multistate point needs an integer, got {_short(repr(raw))}")
    if not 1 <= raw <= len(states):
        raise BadInput(BadKind.OUT_OF_RANGE, f"{point.id}: state {raw} is outside 1..{len(states)}")
    return int(raw)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
