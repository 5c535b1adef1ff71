"""Wires the queue analytics into a running hall: ticket events over MQTT, queue calls to the broadcast, queue
alarms with their advice through the alarm engine."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from monitoring.queues.alarm_watch import AlarmWatch
from monitoring.queues.service import QueueService, wait_findings
from store.audit import PlainActor
from twin.tasks import cancel_and_wait

if TYPE_CHECKING:
    from api.runtime import HallRuntime

log = logging.getLogger(__name__)
REVIEW_S = 5.0
LIVE_S = 2.0  # real seconds between /ws "queues" frames (sent only when a figure changed)


# The queue system calling a ticket (the broadcast records who asked for each announcement).
QUEUE_SYSTEM = PlainActor("queue-system")


class QueueNode:
    """The QueueService and what feeds and follows it, started and stopped with the runtime."""

    def __init__(self, runtime: HallRuntime) -> None:
        self.runtime = runtime
        # The demo runs its queues on simulated time of day (api/demo.py sets ``queue_clock``); a hall on real time.
        clock = runtime.queue_clock or runtime.clock
        self.service = QueueService(runtime.site, runtime.bus, clock, runtime.data_dir)
        self._mqtt: Any = None
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        runtime = self.runtime
        await self.service.start(runtime.spawn)
        self.service.call_listeners.append(self._announce)
        topic = runtime.site.queues.events_topic
        if topic is not None:
            from iot_gateway.mqtt_client import SharedMqttClient
            from iot_gateway.mqtt_settings import settings_from_site

            # A persistent session: ticket events published while this node restarts wait for it at the broker.
            broker = settings_from_site(runtime.site.mqtt, base_dir=runtime.site_path.parent)
            session = f"halltwin-{runtime.node_id}-queue-events"
            self._mqtt = SharedMqttClient(broker, name="queue-events", session=session)
            await self._mqtt.subscribe(topic, lambda _topic, payload: self.service.ingest(payload, f"mqtt:{topic}"))
            self._mqtt.start()
            log.info("queues: ticket events from MQTT topic %s", topic)
        if runtime.alarms is not None and self.service.configured:
            self._tasks.append(runtime.spawn("queue-alarms", self._review(AlarmWatch(runtime.alarms))))
        if self.service.configured:
            self._tasks.append(runtime.spawn("queue-live", self._live()))

    async def wait_listening(self, timeout_s: float) -> bool:
        """Whether the ticket-event topic is subscribed (within ``timeout_s``); True without an MQTT topic. Events
        published before this node's first connection ever are not its own (the broker had no session for it yet);
        those published while it restarts are kept for it."""
        return self._mqtt is None or await self._mqtt.wait_connected(timeout_s)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(*tasks)
        if self._mqtt is not None:
            await self._mqtt.stop()
            self._mqtt = None
        await self.service.stop()

    async def _review(self, watch: AlarmWatch) -> None:
        clock = self.service.clock
        while True:
            await self.runtime.clock.sleep(REVIEW_S)
            now = clock.time()
            try:
                await watch.review(wait_findings(self.service, now), now)
            except Exception:  # the engine refusing one alarm must not end the watch
                log.exception("queue alarms: review failed")

    async def _live(self) -> None:
        """{"type": "queues", "queues": {...}} on /ws (staff only) whenever the figures moved: the big screen."""
        last: object = None
        while True:
            await self.runtime.clock.sleep(LIVE_S)
            snap = self.service.snapshot()
            frame = {key: value for key, value in snap.items() if key != "anomalies"}
            signature = (snap["events"]["applied"], [(g["waiting"], g["windows_open"]) for g in snap["groups"]])
            if signature != last:
                last = signature
                self.runtime.live.broadcast({"type": "queues", "queues": frame})

    def _announce(self, ticket: str, window: str, zone: str) -> None:
        """A call goes to the broadcast's queue-call function (spoken in the window's PA zone), when there is one."""
        node = getattr(self.runtime, "broadcast", None)
        if node is None or not self.runtime.site.pa_zones:
            return
        from broadcast.model import BroadcastRefused
        from broadcast.queue_calls import call_ticket

        async def call() -> None:
            try:
                await call_ticket(node.service, QUEUE_SYSTEM, ticket, window, zone)
            except BroadcastRefused as exc:
                log.info("queue call %s -> window %s not spoken: %s", ticket, window, exc)

        self.runtime.spawn(f"queue-call:{ticket}", call())
