"""The MQTT bridge's hand-written payload is byte for byte what json.dumps gives, for every kind of value."""

from __future__ import annotations

import json
import math

import pytest

from iot_gateway.mqtt_bridge import point_payload
from twin.points import PointUpdate, Quality, Value


def reference(update: PointUpdate) -> bytes:
    wire = update.to_json()
    body = {"v": wire["v"], "q": wire["q"], "ts": wire["ts"]}
    if update.reason is not None:
        body["r"] = update.reason
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize(
    "value",
    [230.1, -0.0, 1e-7, 1.5e300, 3, -12, 0, True, False, None, math.nan, math.inf, -math.inf, "A023",
     '取号 "A"\\n\n', 2**70],
)  # fmt: skip
@pytest.mark.parametrize("reason", [None, "exception 2 ILLEGAL_ADDRESS", "设备无应答 \"x\""])
def test_payload_is_what_json_dumps_gives(value: Value, reason: str | None) -> None:
    for ts in (1_796_573_855.123456, 1_796_573_855.0, 1e-3):
        update = PointUpdate("pm.p", value, Quality.GOOD if reason is None else Quality.BAD, ts - 0.5, ts, reason)
        assert point_payload(update) == reference(update)
        assert json.loads(point_payload(update))["q"] == update.quality.value
