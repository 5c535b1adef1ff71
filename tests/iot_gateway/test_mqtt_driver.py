"""MqttDriver against a real broker (mosquitto on a random port; one test on the amqtt fallback)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence

import pytest

from iot_gateway.broker import MqttBrokerLauncher
from iot_gateway.driver import DeviceUnavailable, WriteRejected
from iot_gateway.drivers.mqtt import MqttDriver
from iot_gateway.mqtt_client import SharedMqttClient
from iot_gateway.mqtt_settings import MqttSettings
from iot_gateway.simulators.mqtt_sim import MqttDeviceSimulator
from tests.iot_gateway.conftest import mqtt_device, mqtt_point
from tests.peers import free_port, wait_until
from twin.clock import ManualClock
from twin.points import Quality, Reading
from twin.site.model import Device

DEADLINE_S = 10.0  # functional deadline for "the message arrives": generous for a loaded 2-core machine

QUEUE = mqtt_device(
    "queue",
    "queue_system",
    "hall/demo-hall/queue",
    [
        mqtt_point("queue.integrated.waiting", "analog", "waiting", topic="integrated"),
        mqtt_point("queue.integrated.last_called", "text", "$.last_called", topic="integrated"),
        mqtt_point("queue.domain.waiting", "analog", "waiting", topic="domain"),
        mqtt_point("queue.domain.open_windows", "analog", "open_windows", topic="domain"),
    ],
)
PANEL = mqtt_device(
    "panel",
    "temp_humidity",
    "hall/demo-hall/env/panel",
    [
        mqtt_point("panel.temperature", "analog", "$.sensors[1].temperature"),
        mqtt_point("panel.fan", "multistate", "status.fan", states=["low", "medium", "high"]),
        mqtt_point("panel.alarm", "binary", "status.alarm"),
        mqtt_point("panel.humidity", "analog", "humidity", stale_after_s=1.0),
    ],
    stale_after_s=0.3,
)
PANEL_TOPIC = "hall/demo-hall/env/panel"


class Sink:
    """Collects what the driver pushes."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []

    def __call__(self, readings: Sequence[Reading]) -> None:
        self.readings.extend(readings)

    def last(self, point_id: str) -> Reading | None:
        return next((r for r in reversed(self.readings) if r.point_id == point_id), None)



async def connected_pair(
    device: Device, settings: MqttSettings, clock: ManualClock | None = None, period_s: float = 60.0
) -> tuple[MqttDriver, MqttDeviceSimulator, Sink]:
    driver = MqttDriver(device, settings, clock=clock)
    sink = Sink()
    driver.set_sink(sink)
    await driver.connect()
    simulator = MqttDeviceSimulator(device, settings, period_s=period_s, clock=ManualClock(start=1_700_000_000.0))
    await simulator.start()
    return driver, simulator, sink


async def test_maps_sub_topics_and_json_paths(mqtt_settings: MqttSettings) -> None:
    driver, simulator, sink = await connected_pair(QUEUE, mqtt_settings)
    try:
        assert sorted(driver.topics) == ["hall/demo-hall/queue/domain", "hall/demo-hall/queue/integrated"]
        simulator.set_value("queue.integrated.waiting", 17)
        simulator.set_value("queue.integrated.last_called", "A023")
        simulator.set_value("queue.domain.waiting", 4)
        simulator.set_value("queue.domain.open_windows", 6)
        await wait_until(lambda: len(sink.readings) >= 4, DEADLINE_S, "four readings")
        assert simulator.published == 2  # four set_value calls in one tick: one message per topic
        values = {r.point_id: (r.value, r.quality, r.source_ts) for r in await driver.read()}
        assert values == {
            "queue.integrated.waiting": (17, Quality.GOOD, 1_700_000_000.0),
            "queue.integrated.last_called": ("A023", Quality.GOOD, 1_700_000_000.0),
            "queue.domain.waiting": (4, Quality.GOOD, 1_700_000_000.0),
            "queue.domain.open_windows": (6, Quality.GOOD, 1_700_000_000.0),
        }
        assert driver.stats == {"messages": 2}
    finally:
        await simulator.stop()
        await driver.close()


async def test_multistate_binary_nested_paths_and_receive_time(mqtt_settings: MqttSettings) -> None:
    driver, simulator, sink = await connected_pair(PANEL, mqtt_settings)
    topic = "hall/demo-hall/env/panel"
    try:
        before = time.time()
        payload = {"sensors": [{}, {"temperature": 23.5}], "status": {"fan": "high", "alarm": 1}, "humidity": 40}
        await simulator.publish_raw(topic, json.dumps(payload).encode())  # no "ts": receive time is used
        await wait_until(lambda: sink.last("panel.humidity") is not None, DEADLINE_S, "first message")
        first = {r.point_id: r for r in sink.readings}
        assert first["panel.temperature"].value == 23.5
        assert first["panel.fan"].value == 3  # named state -> its 1-based number
        assert first["panel.alarm"].value is True  # 0/1 accepted for binaries
        assert all(r.quality == Quality.GOOD and before <= r.source_ts <= time.time() for r in first.values())
        sink.readings.clear()
        await simulator.publish_raw(topic, b'{"status": {"fan": 1, "alarm": false}, "humidity": 41.5}')
        await wait_until(lambda: len(sink.readings) == 4, DEADLINE_S, "second message")
        second = {r.point_id: r for r in sink.readings}
        assert (second["panel.fan"].value, second["panel.alarm"].value) == (1, False)
        assert second["panel.temperature"].quality == Quality.BAD  # sensors[1] missing this time
    finally:
        await simulator.stop()
        await driver.close()


async def test_points_go_stale_after_their_timeout(mqtt_settings: MqttSettings) -> None:
    clock = ManualClock()
    driver, simulator, sink = await connected_pair(PANEL, mqtt_settings, clock=clock)
    try:
        assert {r.quality for r in await driver.read()} == {Quality.UNAVAILABLE}  # nothing received yet
        await simulator.publish_raw(PANEL_TOPIC, b'{"humidity": 40, "sensors": [0, {"temperature": 21}]}')
        await wait_until(lambda: sink.last("panel.humidity") is not None, DEADLINE_S, "message")
        quality = {r.point_id: r.quality for r in await driver.read()}
        assert quality["panel.humidity"] == quality["panel.temperature"] == Quality.GOOD
        await clock.advance(0.31)  # past the connection's 0.3 s, within the point's own 1.0 s
        after = {r.point_id: r for r in await driver.read()}
        assert after["panel.temperature"].quality == Quality.STALE
        assert after["panel.temperature"].value == 21  # STALE keeps the last value
        assert after["panel.humidity"].quality == Quality.GOOD
        await clock.advance(0.7)
        assert {r.point_id: r.quality for r in await driver.read()}["panel.humidity"] == Quality.STALE
        sink.readings.clear()
        await simulator.publish_raw(PANEL_TOPIC, b'{"humidity": 42}')
        await wait_until(lambda: sink.readings, DEADLINE_S, "fresh message")
        assert {r.point_id: r.quality for r in await driver.read()}["panel.humidity"] == Quality.GOOD
    finally:
        await simulator.stop()
        await driver.close()


BAD, GOOD = Quality.BAD, Quality.GOOD
BAD_INPUTS = [
    ("oversized", b'{"humidity": 40, "pad": "' + b"x" * 65_536 + b'"}', {"panel.humidity": Quality.BAD}),
    ("malformed_json", b'{"humidity": 4', {"panel.humidity": Quality.BAD}),
    ("malformed_json", b"\xff\xfe\x00garbage", {"panel.humidity": Quality.BAD}),
    ("malformed_json", b"[" * 60_000, {"panel.humidity": Quality.BAD}),  # nesting deeper than the recursion limit
    ("not_object", b"[40, 50]", {"panel.humidity": Quality.BAD, "panel.fan": Quality.BAD}),
    ("not_object", b"40", {"panel.humidity": Quality.BAD}),
    ("missing_path", b'{"humidity": 40}', {"panel.humidity": Quality.GOOD, "panel.fan": Quality.BAD}),
    ("wrong_type", b'{"humidity": "wet", "status": {"fan": 2}}', {"panel.humidity": BAD, "panel.fan": GOOD}),
    ("wrong_type", b'{"humidity": 40, "status": {"alarm": "yes"}}', {"panel.alarm": Quality.BAD}),
    ("non_finite", b'{"humidity": NaN, "status": {"fan": 2}}', {"panel.humidity": BAD, "panel.fan": GOOD}),
    ("non_finite", b'{"humidity": -Infinity}', {"panel.humidity": Quality.BAD}),
    ("non_finite", b'{"humidity": 1e999}', {"panel.humidity": Quality.BAD}),
    ("out_of_range", b'{"humidity": 40, "status": {"fan": 7}}', {"panel.fan": BAD, "panel.humidity": GOOD}),
    ("bad_timestamp", b'{"humidity": 40, "ts": "yesterday"}', {"panel.humidity": Quality.GOOD}),
]  # fmt: skip


async def test_bad_payloads_are_counted_logged_once_and_marked_bad(
    mqtt_settings: MqttSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="iot_gateway.drivers.mqtt")
    driver, simulator, sink = await connected_pair(PANEL, mqtt_settings)
    topic = "hall/demo-hall/env/panel"
    try:
        for round_number in range(2):  # twice: the second round must be counted but not logged again
            for kind, payload, expected in BAD_INPUTS:
                sink.readings.clear()
                count = driver.stats[kind]
                await simulator.publish_raw(topic, payload)
                await wait_until(lambda k=kind, c=count: driver.stats[k] > c, DEADLINE_S, f"{kind} counted")  # type: ignore[misc]
                got = {r.point_id: r.quality for r in sink.readings}
                assert {p: got[p] for p in expected} == expected, (kind, payload[:40], round_number)
        kinds = {kind for kind, _, _ in BAD_INPUTS}
        for kind in kinds:
            assert driver.stats[kind] >= 2
            logged = [r for r in caplog.records if f"further {kind} errors" in r.getMessage()]
            assert len(logged) == 1, kind
        sink.readings.clear()
        good = {"humidity": 45, "status": {"fan": 2, "alarm": False}, "sensors": [1, {"temperature": 20}]}
        await simulator.publish_raw(topic, json.dumps(good).encode())
        await wait_until(lambda: len(sink.readings) == 4, DEADLINE_S, "good message after the bad ones")
        assert {r.quality for r in await driver.read()} == {Quality.GOOD}
    finally:
        await simulator.stop()
        await driver.close()


async def test_recovers_by_itself_after_broker_restart(
    mqtt_launcher: MqttBrokerLauncher, mqtt_settings: MqttSettings
) -> None:
    # The device re-publishes every 0.2 s: after the restart it may be back before the driver has subscribed
    # again, and (like a real device) its non-retained message of that moment is lost to the driver.
    driver, simulator, sink = await connected_pair(QUEUE, mqtt_settings, period_s=0.2)
    try:
        simulator.set_value("queue.domain.waiting", 3)
        await wait_until(lambda: sink.last("queue.domain.waiting") is not None, DEADLINE_S, "first value")
        await mqtt_launcher.stop()
        await wait_until(lambda: not driver.link.connected, DEADLINE_S, "the driver noticing the broker is gone")
        with pytest.raises(DeviceUnavailable):
            await driver.read()
        simulator.set_value("queue.domain.waiting", 9)  # changes while the broker is down
        await mqtt_launcher.start()  # same port
        waiting = "queue.domain.waiting"
        await wait_until(lambda: (r := sink.last(waiting)) is not None and r.value == 9, DEADLINE_S, "new value")
        assert {r.point_id: r.value for r in await driver.read()}["queue.domain.waiting"] == 9
        assert driver.link.generation == 2
    finally:
        await simulator.stop()
        await driver.close()


async def test_devices_share_one_connection(mqtt_settings: MqttSettings) -> None:
    other = mqtt_device(
        "th-2", "temp_humidity", "hall/demo-hall/env/th-2", [mqtt_point("th-2.t", "analog", "temperature")]
    )
    link = SharedMqttClient(mqtt_settings, name="gateway")
    queue_driver, other_driver = MqttDriver(QUEUE, link), MqttDriver(other, link)
    queue_sink, other_sink = Sink(), Sink()
    queue_driver.set_sink(queue_sink)
    other_driver.set_sink(other_sink)
    await queue_driver.connect()
    await other_driver.connect()
    simulator = MqttDeviceSimulator(other, mqtt_settings)
    await simulator.start()
    try:
        simulator.set_value("th-2.t", 22.5)
        await wait_until(lambda: other_sink.readings, DEADLINE_S, "routed message")
        assert not queue_sink.readings
        assert other_sink.readings[-1].value == 22.5
        assert link.generation == 1  # one connection for both devices
        await queue_driver.close()
        assert link.running  # the other device still uses it
        simulator.set_value("th-2.t", 23.0)
        await wait_until(lambda: other_sink.readings[-1].value == 23.0, DEADLINE_S, "message after one driver closed")
    finally:
        await simulator.stop()
        await queue_driver.close()
        await other_driver.close()
    assert not link.running


async def test_unreachable_broker_and_writes() -> None:
    settings = MqttSettings("127.0.0.1", free_port(), timeout_s=1.0)
    driver = MqttDriver(QUEUE, settings, connect_timeout_s=0.3)
    try:
        with pytest.raises(DeviceUnavailable, match="queue: MQTT broker mqtt://127.0.0.1"):
            await driver.connect()
        with pytest.raises(DeviceUnavailable):
            await driver.read()
        with pytest.raises(WriteRejected, match="read-only"):
            await driver.write(QUEUE.points[0], 1)
    finally:
        await driver.close()


async def test_amqtt_fallback_broker() -> None:
    async with MqttBrokerLauncher(kind="amqtt") as launcher:
        assert launcher.kind == "amqtt" and launcher.pid is None
        settings = MqttSettings(launcher.host, launcher.port, timeout_s=3.0)
        driver, simulator, sink = await connected_pair(QUEUE, settings)
        try:
            simulator.set_value("queue.integrated.last_called", "B007")
            await wait_until(lambda: sink.readings, DEADLINE_S, "message through amqtt")
            assert sink.readings[-1] == Reading("queue.integrated.last_called", "B007", Quality.GOOD, 1_700_000_000.0)
        finally:
            await simulator.stop()
            await driver.close()
