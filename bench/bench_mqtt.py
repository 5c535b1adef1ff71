"""MQTT figures: publish-to-sink latency of the MqttDriver (mosquitto vs amqtt vs a bare subscriber) and the
bridge's retained-publish throughput."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence

import aiomqtt

from iot_gateway.broker import MqttBrokerLauncher
from iot_gateway.drivers.mqtt import MqttDriver
from iot_gateway.mqtt_bridge import MqttBridge
from iot_gateway.mqtt_settings import MqttSettings
from twin.bus import PointBus
from twin.points import PointUpdate, Quality, Reading
from twin.site.model import Device

MESSAGES = 300
TOPIC = "bench/dev"
DEVICE = Device.model_validate(
    {
        "id": "dev", "name": {"zh": "dev", "en": "dev"}, "kind": "temp_humidity", "zone": "z",
        "ifc_guid": "0123456789abcdefABCD_$", "connection": {"type": "mqtt", "topic": TOPIC},
        "points": [{"id": "dev.n", "name": {"zh": "n", "en": "n"}, "kind": "analog", "brick": "Point",
                    "address": {"type": "mqtt", "json_path": "n"}}],
    }
)  # fmt: skip


async def _latencies_driver(settings: MqttSettings) -> list[float]:
    arrived = Arrivals()

    def sink(readings: Sequence[Reading]) -> None:
        for reading in readings:
            arrived.note(reading.value)

    driver = MqttDriver(DEVICE, settings)
    driver.set_sink(sink)
    await driver.connect()
    try:
        return await _publish_and_measure(settings, arrived)
    finally:
        await driver.close()


async def _latencies_bare(settings: MqttSettings) -> list[float]:
    """Baseline: a plain aiomqtt subscriber that only records arrival (no routing, decoding or mapping)."""
    arrived = Arrivals()
    async with aiomqtt.Client(settings.host, settings.port) as client:
        await client.subscribe(TOPIC, qos=1)

        async def receive() -> None:
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                arrived.note(int(message.payload[5:-1]))

        receiver = asyncio.create_task(receive(), name="bench-bare-receiver")
        try:
            return await _publish_and_measure(settings, arrived)
        finally:
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)


class Arrivals:
    """When each numbered message reached the receiver."""

    def __init__(self) -> None:
        self.at: dict[object, float] = {}
        self.event = asyncio.Event()

    def note(self, value: object) -> None:
        self.at[value] = time.perf_counter()
        self.event.set()


async def _publish_and_measure(settings: MqttSettings, arrived: Arrivals) -> list[float]:
    latencies = []
    async with aiomqtt.Client(settings.host, settings.port) as publisher:
        for n in range(MESSAGES):
            arrived.event.clear()
            sent = time.perf_counter()
            await publisher.publish(TOPIC, f'{{"n":{n}}}', qos=1)
            if n not in arrived.at:
                await asyncio.wait_for(arrived.event.wait(), 5)
            latencies.append(arrived.at[n] - sent)
    return latencies[10:]  # the first messages include connection warm-up


async def _bridge_rate(settings: MqttSettings, points: int = 2000) -> float:
    bus = PointBus()
    bridge = MqttBridge(bus, "bench", settings)
    await bridge.start()
    try:
        await bridge.wait_idle(10)
        started = time.perf_counter()
        for i in range(points):
            bus.publish(PointUpdate(f"p{i}", float(i), Quality.GOOD, 1.0, 1.0))
        await bridge.wait_idle(60)
        return points / (time.perf_counter() - started)
    finally:
        await bridge.stop()


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered) * 1e3:.2f} ms, p95 {ordered[int(len(ordered) * 0.95)] * 1e3:.2f} ms"


async def _run() -> None:
    async with MqttBrokerLauncher(kind="mosquitto") as mosquitto, MqttBrokerLauncher(kind="amqtt") as amqtt:
        fast = MqttSettings(mosquitto.host, mosquitto.port)
        slow = MqttSettings(amqtt.host, amqtt.port)
        bare = await _latencies_bare(fast)
        driver_mosquitto = await _latencies_driver(fast)
        driver_amqtt = await _latencies_driver(slow)
        print(f"bare subscriber, mosquitto:   {_ms(bare)}")
        print(f"MqttDriver sink, mosquitto:   {_ms(driver_mosquitto)}")
        print(f"MqttDriver sink, amqtt:       {_ms(driver_amqtt)}")
        print(f"driver / bare (mosquitto):    {statistics.median(driver_mosquitto) / statistics.median(bare):.2f}x")
        ratio = statistics.median(driver_amqtt) / statistics.median(driver_mosquitto)
        print(f"amqtt / mosquitto (driver):   {ratio:.1f}x")
        rate_mosquitto = await _bridge_rate(fast)
        rate_amqtt = await _bridge_rate(slow)
        print(f"bridge retained QoS1, mosquitto: {rate_mosquitto:,.0f} updates/s")
        print(f"bridge retained QoS1, amqtt:     {rate_amqtt:,.0f} updates/s")
        print(f"mosquitto / amqtt (bridge):      {rate_mosquitto / rate_amqtt:.1f}x")


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
