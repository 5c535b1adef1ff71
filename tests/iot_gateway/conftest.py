"""Fixtures for gateway tests: an MQTT broker of our own on a random port (never the system one on 1883)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from iot_gateway.broker import MqttBrokerLauncher
from iot_gateway.mqtt_settings import MqttSettings
from twin.site.model import Device


@pytest.fixture
async def mqtt_launcher(tmp_path: Path) -> AsyncIterator[MqttBrokerLauncher]:
    """The broker process itself (mosquitto when installed, else amqtt), for tests that stop or restart it."""
    launcher = MqttBrokerLauncher(workdir=tmp_path / "broker")
    await launcher.start()
    try:
        yield launcher
    finally:
        await launcher.stop()  # by PID, also when the test failed


@pytest.fixture
async def mqtt_broker(mqtt_launcher: MqttBrokerLauncher) -> AsyncIterator[tuple[str, int]]:
    """(host, port) of a running broker for this test."""
    yield mqtt_launcher.host, mqtt_launcher.port


@pytest.fixture
def mqtt_settings(mqtt_broker: tuple[str, int]) -> MqttSettings:
    host, port = mqtt_broker
    return MqttSettings(host, port, timeout_s=3.0, keepalive_s=5)


GUID = "0123456789abcdefABCD_$"  # any 22 IFC base-64 characters


def mqtt_point(point_id: str, kind: str, path: str, topic: str | None = None, **extra: Any) -> dict[str, object]:
    """A site.yaml point entry with an mqtt address."""
    address: dict[str, object] = {"type": "mqtt", "json_path": path}
    if topic is not None:
        address["topic"] = topic
    return {
        "id": point_id,
        "name": {"zh": point_id, "en": point_id},
        "kind": kind,
        "brick": "Point",
        "address": address,
        **extra,
    }


def mqtt_device(device_id: str, kind: str, topic: str, points: list[dict[str, object]], **connection: object) -> Device:
    """A validated Device with an mqtt connection, built the way site.yaml would describe it."""
    return Device.model_validate(
        {
            "id": device_id,
            "name": {"zh": device_id, "en": device_id},
            "kind": kind,
            "zone": "hall",
            "ifc_guid": GUID,
            "connection": {"type": "mqtt", "topic": topic, **connection},
            "points": points,
        }
    )
