"""JSON paths and payload decoding of the MQTT driver, and the simulator's payload building (no broker needed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iot_gateway.drivers import json_path
from iot_gateway.drivers.mqtt_decode import BadInput, BadKind, convert, decode_payload, payload_timestamp
from iot_gateway.mqtt_settings import MqttSettings
from iot_gateway.simulators.mqtt_sim import MqttDeviceSimulator
from tests.iot_gateway.conftest import mqtt_device, mqtt_point
from twin.clock import ManualClock
from twin.site.model import Point


def test_parse_paths() -> None:
    assert json_path.parse("$.counts.in") == ("counts", "in")
    assert json_path.parse("zones[2].temp") == ("zones", 2, "temp")
    assert json_path.parse("$[0]") == (0,)
    with pytest.raises(ValueError, match="cannot parse at character 1"):
        json_path.parse("a..b")


def test_get_and_put_round_trip() -> None:
    payload: dict[str, object] = {}
    json_path.put(payload, "sensors[1].temperature", 23.5)
    json_path.put(payload, "$.status.fan", 2)
    assert payload == {"sensors": [None, {"temperature": 23.5}], "status": {"fan": 2}}
    assert json_path.get(payload, "$.sensors[1].temperature") == 23.5
    for missing in ("sensors[0].temperature", "sensors[5]", "status.fan.speed", "nothing"):
        with pytest.raises(json_path.PathMissing):
            json_path.get(payload, missing)
    json_path.remove(payload, "status.fan")
    assert payload["status"] == {}


def _point(kind: str, **extra: Any) -> Point:
    return Point.model_validate(mqtt_point("p.x", kind, "x", **extra))


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("analog", 21, 21), ("analog", 21.5, 21.5), ("binary", True, True), ("binary", 0, False),
        ("text", "A023", "A023"), ("text", 23, "23"), ("multistate", 2, 2), ("multistate", 3.0, 3),
        ("multistate", "medium", 2),
    ],
)  # fmt: skip
def test_convert_good_values(kind: str, raw: object, expected: object) -> None:
    extra = {"states": ["low", "medium", "high"]} if kind == "multistate" else {}
    value = convert(_point(kind, **extra), raw)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("kind", "raw", "bad"),
    [
        ("analog", True, BadKind.WRONG_TYPE), ("analog", "21", BadKind.WRONG_TYPE),
        ("analog", None, BadKind.WRONG_TYPE),
        ("analog", float("inf"), BadKind.NON_FINITE), ("binary", 2, BadKind.WRONG_TYPE),
        ("text", {"a": 1}, BadKind.WRONG_TYPE), ("multistate", 0, BadKind.OUT_OF_RANGE),
        ("multistate", 1.5, BadKind.WRONG_TYPE), ("multistate", "turbo", BadKind.OUT_OF_RANGE),
        ("multistate", True, BadKind.WRONG_TYPE),
    ],
)  # fmt: skip
def test_convert_rejects(kind: str, raw: object, bad: BadKind) -> None:
    extra = {"states": ["low", "medium", "high"]} if kind == "multistate" else {}
    with pytest.raises(BadInput) as error:
        convert(_point(kind, **extra), raw)
    assert error.value.kind == bad and "p.x" in str(error.value)


def test_decode_payload_and_timestamp() -> None:
    assert decode_payload(b'{"a": 1}') == {"a": 1}
    with pytest.raises(BadInput, match="oversized: 65537 bytes"):
        decode_payload(b" " * 65_537)
    nan = decode_payload(b'{"a": NaN}')["a"]
    with pytest.raises(BadInput, match="non_finite"):
        convert(_point("analog"), nan)
    assert payload_timestamp({"ts": 1_700_000_000}) == 1_700_000_000.0
    assert payload_timestamp({}) is None
    with pytest.raises(BadInput, match="bad_timestamp"):
        payload_timestamp({"ts": True})


def test_simulator_payloads_follow_the_json_paths() -> None:
    device = mqtt_device(
        "pc-1", "people_counter", "hall/demo-hall/counter/pc-1",
        [mqtt_point("pc-1.count_in", "analog", "in"), mqtt_point("pc-1.count_out", "analog", "$.out")],
    )  # fmt: skip
    simulator = MqttDeviceSimulator(device, MqttSettings("127.0.0.1", 1), clock=ManualClock(start=1_700_000_000.0))
    topic = "hall/demo-hall/counter/pc-1"
    assert simulator.payload(topic) == {}  # nothing set: nothing is published
    simulator.set_value("pc-1.count_in", 1234)
    simulator.set_value("pc-1.count_out", 1201)
    assert simulator.get_value("pc-1.count_in") == 1234
    assert json.dumps(simulator.payload(topic)) == '{"in": 1234, "out": 1201, "ts": 1700000000.0}'
    with pytest.raises(KeyError, match="device pc-1 has no point 'pc-1.nope'"):
        simulator.set_value("pc-1.nope", 1)
