"""Where stored alarm transitions go: an "alarm" frame to every /ws client, and MQTT halltwin/{site}/alarm/{id}
(retained while the alarm is open, an empty retained message, which deletes it, once it is over)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from alarms.batch import AlarmEvent
from alarms.engine import AlarmEngine
from alarms.wire import alarm_json
from iot_gateway.mqtt_client import MqttDisconnected, SharedMqttClient
from store.alarms import Alarm
from twin.tasks import cancel_and_wait, raise_if_cancelled
from twin.wire import dumps

log = logging.getLogger(__name__)


class FrameSink(Protocol):
    def broadcast(self, frame: dict[str, Any] | str) -> int: ...


class AlarmMqttPublisher:
    """Coalesces per alarm (only its newest form matters on a retained topic); after every (re)connect it publishes
    every open alarm again, since a restarted broker may have lost its retained store."""

    def __init__(self, engine: AlarmEngine, client: SharedMqttClient, site_id: str, *, qos: int = 1) -> None:
        self.engine = engine
        self.client = client
        self.qos = qos
        self.prefix = f"halltwin/{site_id}/alarm/"
        self.pending: dict[int, Alarm | None] = {}  # None: clear the retained message
        self.published = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="alarm-mqtt")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def offer(self, event: AlarmEvent) -> None:
        alarm = event.alarm
        self.pending[alarm.id] = alarm if alarm.is_open else None
        self._wake.set()

    async def _run(self) -> None:
        seen_generation = 0
        while True:
            raise_if_cancelled()
            if self.client.connected and self.client.generation != seen_generation:
                seen_generation = self.client.generation
                for alarm in self.engine.active():
                    self.pending.setdefault(alarm.id, alarm)
            if self.client.connected and self.pending:
                if not await self._publish():
                    await asyncio.sleep(0.05)
                continue
            self._wake.clear()
            try:
                async with asyncio.timeout(0.2):  # also notices a reconnect while nothing changes
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _publish(self) -> bool:
        items = list(self.pending.items())
        messages = [
            (f"{self.prefix}{alarm_id}", dumps(alarm_json(alarm)).encode() if alarm is not None else b"")
            for alarm_id, alarm in items
        ]
        try:
            await self.client.publish_many(messages, self.qos, True)
        except MqttDisconnected:
            return False
        for alarm_id, alarm in items:
            if self.pending.get(alarm_id, ...) is alarm:
                del self.pending[alarm_id]
            self.published += 1
        return True


class AlarmOutputs:
    """Subscribes the /ws fan-out and (when the runtime bridges to MQTT) the MQTT publisher to the engine."""

    def __init__(self, engine: AlarmEngine, live: FrameSink, mqtt: SharedMqttClient | None, site_id: str) -> None:
        self.engine = engine
        self.live = live
        self.mqtt = AlarmMqttPublisher(engine, mqtt, site_id) if mqtt is not None else None
        self._unsubscribe: list[Callable[[], None]] = []

    def start(self) -> None:
        self._unsubscribe.append(self.engine.subscribe(self._to_ws, "alarm-ws"))
        if self.mqtt is not None:
            self.mqtt.start()
            self._unsubscribe.append(self.engine.subscribe(self.mqtt.offer, "alarm-mqtt-offer"))

    def _to_ws(self, event: AlarmEvent) -> None:
        self.live.broadcast({"type": "alarm", "event": event.kind, "alarm": alarm_json(event.alarm)})

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self.mqtt is not None:
            await self.mqtt.stop()
