"""Mirror every point update from the PointBus to MQTT as retained halltwin/{site}/point/{id} messages."""

from __future__ import annotations

import asyncio
import logging

import aiomqtt

from iot_gateway.mqtt_client import MqttDisconnected, SharedMqttClient
from iot_gateway.mqtt_settings import MqttSettings
from twin.bus import PointBus, Subscription
from twin.points import PointUpdate
from twin.tasks import cancel_and_wait, raise_if_cancelled
from twin.wire import payload_json

log = logging.getLogger(__name__)


def point_payload(update: PointUpdate) -> bytes:
    """The public wire form {"v", "q", "ts"} plus "r", the reason, when the value is not GOOD (NaN becomes null
    as in PointUpdate.to_json); written by hand in twin.wire because it runs for every value."""
    return payload_json(update).encode()


class MqttBridge:
    """Publishes each update retained (QoS 1) and ``halltwin/{site}/status`` = "online" retained, with a last
    will "offline" that the broker sends if this process dies without saying goodbye.

    Only the latest value of a point matters on a retained topic, so updates are coalesced per point: while
    the broker is away they collect in ``pending`` (one entry per point, nothing lost, memory bounded by the
    number of points), and after every (re)connect the bridge republishes every point's latest value from
    the bus (the restarted broker may have lost its retained store) and "online".
    """

    def __init__(
        self,
        bus: PointBus,
        site_id: str,
        settings: MqttSettings,
        *,
        qos: int = 1,
        chunk: int = 5000,
        idle_poll_s: float = 0.2,
    ) -> None:
        self.bus = bus
        self.site_id = site_id
        self.qos = qos
        self.chunk = chunk
        self.idle_poll_s = idle_poll_s
        self.status_topic = f"halltwin/{site_id}/status"
        self._topic_prefix = f"halltwin/{site_id}/point/"
        self.published = 0
        self.republished = 0
        will = aiomqtt.Will(self.status_topic, b"offline", qos=1, retain=True)
        # No in-flight limit in paho (it would scan its queue at every acknowledgement): the bridge bounds what
        # is unacknowledged itself, one chunk at a time.
        self.client = SharedMqttClient(settings, name=f"bridge-{site_id}", will=will, max_inflight=0)
        self.pending: dict[str, PointUpdate] = {}
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    def point_topic(self, point_id: str) -> str:
        return self._topic_prefix + point_id

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def start(self) -> None:
        if self._task is not None:
            return
        # Room for a burst of every point at once (a big hall's first poll: 10,000 values in a moment); the
        # bridge coalesces per point, so the queue only has to hold one burst, not a backlog.
        self._subscription = self.bus.subscribe("mqtt-bridge", maxsize=100_000)
        self.client.start()
        self._task = asyncio.create_task(self._run(), name=f"mqtt-bridge:{self.site_id}")

    async def stop(self, timeout_s: float = 2.0) -> None:
        """Stop publishing, say "offline" (retained) if connected, and disconnect cleanly."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self.client.connected:
            try:
                await asyncio.wait_for(self.client.publish(self.status_topic, b"offline", 1, True), timeout_s)
            except (MqttDisconnected, TimeoutError) as error:
                log.warning("MQTT bridge %s: could not publish offline status: %s", self.site_id, error)
        await self.client.stop()
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    async def wait_idle(self, timeout_s: float) -> bool:
        """True once connected with nothing pending (tests and the benchmark use this)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            subscription = self._subscription
            if self.connected and not self.pending and (subscription is None or not len(subscription)):
                return True
            await asyncio.sleep(0.01)
        return False

    async def _run(self) -> None:
        subscription = self._subscription
        assert subscription is not None
        seen_generation = 0
        while True:
            raise_if_cancelled()  # aiomqtt's publish can swallow the cancel that stops this loop (Python 3.11)
            if self.client.connected and self.client.generation != seen_generation:
                seen_generation = self.client.generation
                subscription.drain()  # every queued update is also in bus.latest, which is newer or equal
                self.pending = dict(self.bus.latest)
                self.republished += len(self.pending)
                if not await self._publish_status():
                    # Refused at once (paho already knows the link is gone, our flag not yet): without a pause
                    # this loop would spin and never let the client task notice.
                    seen_generation = 0
                    await asyncio.sleep(0.05)
                    continue
                log.info("MQTT bridge %s online: publishing %d points", self.site_id, len(self.pending))
            if self.client.connected and self.pending:
                if not await self._publish_pending():
                    await asyncio.sleep(0.05)  # the link is going down: let the client notice
                continue
            # Everything queued at once: under load the batches grow instead of the queue (one acknowledgement
            # round trip per chunk; 1,000 a round trip fell behind 10,000 updates/s on a loaded machine).
            for update in await subscription.get_batch(100_000, wait_s=self.idle_poll_s):
                self.pending[update.point_id] = update

    async def _publish_status(self) -> bool:
        try:
            await self.client.publish(self.status_topic, b"online", qos=1, retain=True)
            return True
        except MqttDisconnected:
            return False

    async def _publish_pending(self) -> bool:
        """Publish everything pending in chunks (one publish_many each: paho pipelines them, the broker's
        acknowledgement of a chunk's last message covers the chunk); False when the link failed. Unsent updates
        stay pending (unless a newer one for the same point arrived meanwhile)."""
        updates = list(self.pending.values())
        prefix = self._topic_prefix
        for start in range(0, len(updates), self.chunk):
            part = updates[start : start + self.chunk]
            try:
                await self.client.publish_many([(prefix + u.point_id, point_payload(u)) for u in part], self.qos, True)
            except MqttDisconnected:
                return False
            pending = self.pending
            for update in part:
                if pending.get(update.point_id) is update:
                    del pending[update.point_id]
                    self.published += 1
        return True
