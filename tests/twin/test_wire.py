"""twin.wire writes exactly what json.dumps gives for PointUpdate.to_json() (/ws) and the MQTT payload."""

from __future__ import annotations

import json
import math

import pytest

from iot_gateway.mqtt_bridge import point_payload
from twin.points import PointUpdate, Quality, Value
from twin.wire import dumps, points_frame, update_json

VALUES: list[Value] = [230.1, -0.0, 1e-7, 1.5e300, 3, -12, 0, True, False, None, math.nan, math.inf, -math.inf,
                       "A023", '取号 "A"\\n\n', 2**70]  # fmt: skip
REASONS = [None, "exception 2 ILLEGAL_ADDRESS", '设备无应答 "x"']


def mqtt_reference(update: PointUpdate) -> bytes:
    wire = update.to_json()
    body = {"v": wire["v"], "q": wire["q"], "ts": wire["ts"]}
    if update.reason is not None:
        body["r"] = update.reason
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("reason", REASONS)
def test_update_and_payload_are_what_json_dumps_gives(value: Value, reason: str | None) -> None:
    quality = Quality.GOOD if reason is None else Quality.BAD
    for ts in (1_796_573_855.123456, 1_796_573_855.0, 1e-3):
        for point_id in ("pm.p", 'odd "id" \\ 点'):
            update = PointUpdate(point_id, value, quality, ts - 0.5, ts, reason)
            assert update_json(update) == dumps(update.to_json())
            assert point_payload(update) == mqtt_reference(update)


def test_frames_are_json_with_every_update() -> None:
    updates = [PointUpdate(f"p{i}", float(i), Quality.GOOD, 1.0, 2.0) for i in range(3)]
    frame = points_frame("updates", updates)
    assert frame == dumps({"type": "updates", "points": [u.to_json() for u in updates]})
    assert json.loads(points_frame("snapshot", [])) == {"type": "snapshot", "points": []}


def test_frames_with_shared_and_changing_stamps() -> None:
    """The writer reuses the text of a stamp object seen just before (a device read shares one): stamps shared,
    alternating, equal in value but distinct objects, or ints, each still gives json.dumps' text."""
    shared, other = 1_796_573_855.123456, 1_796_573_855.5
    stamps: list[float] = [shared, shared, other, shared, float("1796573855.123456"), 7, 7.0, math.inf, shared]
    updates = [PointUpdate(f"p{i}", float(i), Quality.GOOD, stamps[-1 - i], ts) for i, ts in enumerate(stamps)]
    assert points_frame("updates", updates) == dumps({"type": "updates", "points": [u.to_json() for u in updates]})
