"""MQTT push driver: JSON messages on a device's topics become Readings, mapped to points by json_path."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from iot_gateway.driver import DeviceUnavailable, ReadingSink, WriteRejected
from iot_gateway.drivers import json_path
from iot_gateway.drivers.mqtt_decode import BadInput, BadKind, convert, decode_payload, payload_timestamp
from iot_gateway.mqtt_client import SharedMqttClient
from iot_gateway.mqtt_settings import MqttSettings, settings_from_site
from twin.clock import Clock, SystemClock
from twin.points import Quality, Reading, Value
from twin.site.model import Device, MqttAddress, MqttBroker, MqttConnection, Point

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _PointState:
    value: Value
    quality: Quality
    source_ts: float
    received_at: float  # clock.monotonic() of the message: staleness must not trust the device's clock
    reason: str | None = None  # why the value is BAD


def bad_reason(bad: BadInput) -> str:
    """A BadInput as a point's reason (short: it is shown beside the quality)."""
    text = f"bad payload ({bad.kind.value}): {bad.detail}"
    return text if len(text) < 120 else text[:118] + "…"


def point_topic(connection: MqttConnection, address: MqttAddress) -> str:
    """The full topic of a point: the device topic, or the device topic plus the point's sub-topic."""
    if address.topic is None:
        return connection.topic
    return f"{connection.topic.rstrip('/')}/{address.topic.strip('/')}"


class MqttDriver:
    """Driver for a Device with an MqttConnection (implements iot_gateway.driver.PushDriver).

    ``link`` is the broker connection: pass one SharedMqttClient to every MQTT driver of a gateway so that
    all devices share a single connection; given settings (or the site's MqttBroker) the driver opens a
    private one. Messages are decoded when they arrive and pushed to the sink; ``read()`` returns the last
    value of each point with its quality (GOOD, BAD, STALE after stale_after_s without a message,
    UNAVAILABLE before the first message) and raises DeviceUnavailable while the broker is unreachable.
    """

    def __init__(
        self,
        device: Device,
        link: SharedMqttClient | MqttSettings | MqttBroker,
        *,
        clock: Clock | None = None,
        connect_timeout_s: float = 5.0,
    ) -> None:
        if not isinstance(device.connection, MqttConnection):
            raise ValueError(f"device {device.id}: MqttDriver needs an mqtt connection")
        self.device = device
        self.connection: MqttConnection = device.connection
        self.clock: Clock = clock or SystemClock()
        self.connect_timeout_s = connect_timeout_s
        if isinstance(link, MqttBroker):
            link = settings_from_site(link)
        self.link = link if isinstance(link, SharedMqttClient) else SharedMqttClient(link, name=device.id)
        self.stats: Counter[str] = Counter()  # "messages" plus one count per BadKind
        self._topics: dict[str, list[Point]] = {}
        for point in device.points:
            if not isinstance(point.address, MqttAddress):
                raise ValueError(f"device {device.id}, point {point.id}: an mqtt device needs mqtt addresses")
            if point.address.topic is not None and ("+" in point.address.topic or "#" in point.address.topic):
                raise ValueError(f"device {device.id}, point {point.id}: topic cannot contain MQTT wildcards")
            self._topics.setdefault(point_topic(self.connection, point.address), []).append(point)
        self._states: dict[str, _PointState] = {}
        self._sink: ReadingSink | None = None
        self._logged: set[BadKind] = set()
        self._attached = False

    @property
    def topics(self) -> list[str]:
        return list(self._topics)

    def set_sink(self, sink: ReadingSink) -> None:
        self._sink = sink

    async def connect(self) -> None:
        """Subscribe this device's topics (once) and wait for the broker; DeviceUnavailable if it stays away.
        The link keeps reconnecting in the background either way, so calling connect again is cheap."""
        if not self._attached:
            self._attached = True
            for topic in self._topics:
                await self.link.subscribe(topic, self._on_message)
            await self.link.attach()
        if not await self.link.wait_connected(self.connect_timeout_s):
            raise DeviceUnavailable(f"{self.device.id}: MQTT broker {self.link.settings.label} is not reachable")

    async def close(self) -> None:
        if not self._attached:
            return
        self._attached = False
        for topic in self._topics:
            await self.link.unsubscribe(topic, self._on_message)
        await self.link.detach()

    async def read(self) -> list[Reading]:
        if not self.link.connected:
            raise DeviceUnavailable(f"{self.device.id}: MQTT broker {self.link.settings.label} is not connected")
        now = self.clock.monotonic()
        wall = self.clock.time()
        readings = []
        for point in self.device.points:
            state = self._states.get(point.id)
            if state is None:
                readings.append(Reading.bad(point.id, wall, Quality.UNAVAILABLE, "no message received yet"))
                continue
            stale_after = point.stale_after_s or self.connection.stale_after_s
            if now - state.received_at > stale_after:
                # The Poller's own staleness check words it the same: one reason, not two alternating.
                stale = f"no update for more than {stale_after:g} s"
                readings.append(Reading(point.id, state.value, Quality.STALE, state.source_ts, stale))
            else:
                readings.append(Reading(point.id, state.value, state.quality, state.source_ts, state.reason))
        return readings

    async def write(self, point: Point, value: Value) -> None:
        raise WriteRejected(f"{point.id}: MQTT points of {self.device.id} are read-only")

    # --- incoming messages ---------------------------------------------------------------------------------

    def _on_message(self, topic: str, data: bytes) -> None:
        points = self._topics.get(topic)
        if not points:
            return
        self.stats["messages"] += 1
        received_at = self.clock.monotonic()
        wall = self.clock.time()
        try:
            payload = decode_payload(data)
        except BadInput as bad:
            self._count(bad, topic)
            readings = [Reading.bad(point.id, wall, reason=bad_reason(bad)) for point in points]
        else:
            try:
                source_ts = payload_timestamp(payload) or wall
            except BadInput as bad:
                self._count(bad, topic)
                source_ts = wall
            readings = [self._reading(point, payload, source_ts, topic) for point in points]
        for reading in readings:
            self._states[reading.point_id] = _PointState(
                reading.value, reading.quality, reading.source_ts, received_at, reading.reason
            )
        if self._sink is not None:
            self._sink(readings)

    def _reading(self, point: Point, payload: dict[str, object], source_ts: float, topic: str) -> Reading:
        assert isinstance(point.address, MqttAddress)
        try:
            raw = json_path.get(payload, point.address.json_path)
            return Reading(point.id, convert(point, raw), Quality.GOOD, source_ts)
        except json_path.PathMissing:
            self._count(BadInput(BadKind.MISSING_PATH, f"{point.id}: no value at {point.address.json_path}"), topic)
            why = f"bad payload: no value at {point.address.json_path}"
        except BadInput as bad:
            self._count(bad, topic)
            why = bad_reason(bad)
        return Reading.bad(point.id, source_ts, reason=why)

    def _count(self, bad: BadInput, topic: str) -> None:
        self.stats[bad.kind.value] += 1
        if bad.kind not in self._logged:
            # Once per kind and device: a device sending garbage ten times a second must not flood the log.
            self._logged.add(bad.kind)
            log.warning(
                "device %s: bad MQTT payload on %s (%s); affected points are BAD, further %s errors only counted",
                self.device.id, topic, bad, bad.kind,
            )  # fmt: skip
