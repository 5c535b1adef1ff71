"""A simulated MQTT device: publishes its points as one JSON payload per topic, on change and periodically."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from iot_gateway.drivers import json_path
from iot_gateway.drivers.mqtt import point_topic
from iot_gateway.mqtt_client import MqttDisconnected, SharedMqttClient
from iot_gateway.mqtt_settings import MqttSettings, settings_from_site
from twin.clock import Clock, SystemClock
from twin.points import Value
from twin.site.model import Device, MqttAddress, MqttBroker, MqttConnection, Point
from twin.tasks import cancel_and_wait, raise_if_cancelled

log = logging.getLogger(__name__)


class MqttDeviceSimulator:
    """Publishes what ``set_value`` set. Several set_value calls in one event-loop tick coalesce into one message
    per topic (the publishing task runs on the next iteration); every topic is re-published each ``period_s``
    and after each reconnect (retain false, like most field devices). ``publish_raw`` sends arbitrary bytes
    for bad-input tests. The payload carries ``"ts"`` (clock seconds) when ``stamp`` is true."""

    def __init__(
        self,
        device: Device,
        broker: MqttBroker | MqttSettings,
        *,
        period_s: float = 5.0,
        stamp: bool = True,
        clock: Clock | None = None,
        qos: int = 1,
    ) -> None:
        if not isinstance(device.connection, MqttConnection):
            raise ValueError(f"device {device.id}: MqttDeviceSimulator needs an mqtt connection")
        self.device = device
        self.settings = broker if isinstance(broker, MqttSettings) else settings_from_site(broker)
        self.period_s = period_s
        self.stamp = stamp
        self.clock: Clock = clock or SystemClock()
        self.qos = qos
        self.published = 0
        self._points: dict[str, Point] = {point.id: point for point in device.points}
        self._topic_of: dict[str, str] = {}
        self._topics: dict[str, list[Point]] = {}
        for point in device.points:
            if not isinstance(point.address, MqttAddress):
                raise ValueError(f"device {device.id}, point {point.id}: an mqtt device needs mqtt addresses")
            topic = point_topic(device.connection, point.address)
            self._topic_of[point.id] = topic
            self._topics.setdefault(topic, []).append(point)
        self._values: dict[str, Value] = {}
        self._dirty: set[str] = set()
        self._wake: asyncio.Event | None = None
        self._client: SharedMqttClient | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def topics(self) -> list[str]:
        return list(self._topics)

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def start(self, connect_timeout_s: float = 5.0) -> None:
        """Connect to the broker (waiting up to ``connect_timeout_s``; it keeps retrying after that)."""
        if self._task is not None:
            return
        self._wake = asyncio.Event()
        self._client = SharedMqttClient(self.settings, name=f"sim-{self.device.id}", qos=self.qos)
        self._client.add_state_listener(self._on_link)
        self._client.start()
        self._task = asyncio.create_task(self._publish_loop(), name=f"mqtt-sim:{self.device.id}")
        await self._client.wait_connected(connect_timeout_s)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        client, self._client = self._client, None
        if client is not None:
            await client.stop()

    def set_value(self, point_id: str, value: Value) -> None:
        if point_id not in self._points:
            raise KeyError(f"device {self.device.id} has no point {point_id!r}")
        self._values[point_id] = value
        self._mark(self._topic_of[point_id])

    def get_value(self, point_id: str) -> Value:
        if point_id not in self._points:
            raise KeyError(f"device {self.device.id} has no point {point_id!r}")
        return self._values.get(point_id)

    def payload(self, topic: str) -> dict[str, Any]:
        """The JSON object this device sends on ``topic`` now; points without a value are left out."""
        payload: dict[str, Any] = {}
        for point in self._topics[topic]:
            value = self._values.get(point.id)
            if value is not None:
                assert isinstance(point.address, MqttAddress)
                json_path.put(payload, point.address.json_path, value)
        if payload and self.stamp and "ts" not in payload:
            payload["ts"] = self.clock.time()
        return payload

    async def flush(self) -> None:
        """Publish pending changes now (tests await this instead of waiting for the loop)."""
        await self._publish_dirty()

    async def publish_raw(self, topic: str, payload: bytes, qos: int | None = None) -> None:
        """Send any bytes on any topic: malformed JSON, oversized messages, wrong types."""
        if self._client is None:
            raise RuntimeError(f"simulator {self.device.id} is not started")
        await self._client.publish(topic, payload, qos=self.qos if qos is None else qos)

    # --- publishing ----------------------------------------------------------------------------------------

    def _mark(self, topic: str) -> None:
        self._dirty.add(topic)
        if self._wake is not None:
            self._wake.set()

    def _on_link(self, connected: bool) -> None:
        if connected:  # field devices send their state again once they are back on the network
            for topic in self._topics:
                self._mark(topic)

    async def _publish_loop(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        next_periodic = loop.time() + self.period_s
        while True:
            raise_if_cancelled()  # aiomqtt's publish can swallow the cancel that stops this loop (Python 3.11)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(next_periodic):  # not wait_for: it can swallow a cancel on 3.11
                    await self._wake.wait()
            if loop.time() >= next_periodic:
                self._dirty.update(self._topics)
                next_periodic = loop.time() + self.period_s
            self._wake.clear()
            await self._publish_dirty()

    async def _publish_dirty(self) -> None:
        client = self._client
        if client is None or not client.connected:
            return  # kept dirty: the reconnect listener wakes the loop
        topics, self._dirty = self._dirty, set()
        for topic in sorted(topics):
            payload = self.payload(topic)
            if not payload:
                continue
            data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
            try:
                await client.publish(topic, data, qos=self.qos)
                self.published += 1
            except MqttDisconnected:
                self._dirty.add(topic)
